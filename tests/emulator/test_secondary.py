"""The nine secondary operations: their parameters, limits and designed empty results, on the wire."""
from __future__ import annotations

import pytest
from lxml import etree

from tests.emulator import rawsoap
from tests.emulator.conftest import EVERYTHING
from tests.emulator.data import QUIET_MESSAGE
from tests.emulator.spec import ANALYTICS_LIMIT

NS = {"l": rawsoap.NS}
WIDE = {"StartDate": "1990-01-01T00:00:00", "EndDate": "2100-01-01T00:00:00"}


def _items(body: bytes, item: str) -> list:
    return etree.fromstring(body).xpath(f"//l:{item}[not(@xsi:nil)]", namespaces={
        **NS, "xsi": "http://www.w3.org/2001/XMLSchema-instance"})


def test_analytics_answers_up_to_the_documented_limit_and_leaves_unknown_messages_out(emulator_factory):
    handle = emulator_factory(lists=2, empty_lists=0, messages_per_list=1300, recipients=5, subscribers_per_list=5)
    msg_ids = [m.MsgID for m in handle.data.all_messages()]
    assert len(msg_ids) > ANALYTICS_LIMIT
    status, _, body = rawsoap.call(handle.url, "GetMessageAnalyticsInformation",
                                   {"MsgIDs": rawsoap.int_array(msg_ids[:ANALYTICS_LIMIT])})
    assert status == 200 and len(_items(body, "WSMessageAnalyticsInformation")) == ANALYTICS_LIMIT
    status, _, body = rawsoap.call(handle.url, "GetMessageAnalyticsInformation",
                                   {"MsgIDs": rawsoap.int_array(msg_ids[:ANALYTICS_LIMIT + 1])})
    assert status == 500 and b"exceeds the limit of 2500" in body
    status, _, body = rawsoap.call(handle.url, "GetMessageAnalyticsInformation",
                                   {"MsgIDs": rawsoap.int_array([msg_ids[0], 1, msg_ids[0]])})
    assert [item.findtext("l:MsgID", namespaces=NS) for item in _items(body, "WSMessageAnalyticsInformation")] \
        == [str(msg_ids[0])]
    status, _, body = rawsoap.call(handle.url, "GetMessageAnalyticsInformation")  # MsgIDs is optional
    assert status == 200 and b"<GetMessageAnalyticsInformationResult />" in body


def test_terminated_conversations_only_when_asked_and_the_flag_is_required(emulator):
    list_id = emulator.data.list_ids()[0]
    counts = {}
    for flag in ("true", "false"):
        _, _, body = rawsoap.call(emulator.url, "ReportListConversationActivity",
                                  {"ListID": list_id, "IncludeTerminated": flag})
        counts[flag] = len(_items(body, "WSConversationActivity"))
    assert counts["true"] == counts["false"] + 1
    status, _, body = rawsoap.call(emulator.url, "ReportListConversationActivity", {"ListID": list_id})
    assert status == 500 and b"IncludeTerminated" in body and b"soap:Client" in body


@pytest.mark.parametrize("form", ["element", "omitted"])
def test_designed_empty_results_in_both_forms(emulator_factory, form):
    handle = emulator_factory(lists=3, messages_per_list=6, recipients=40, subscribers_per_list=60, empty_result=form)
    data = handle.data
    empty_list, no_headers = data.list_ids()[2], data.list_ids()[1]
    calls = [("ReportMessageLinkClick", {"MsgID": data.msg_id(0, QUIET_MESSAGE), "Page": 1}),
             ("GetCampaignCollection", {"ListID": empty_list}),
             ("GetProfileHeaderCollection", {"ListID": no_headers}),
             ("ReportListConversationActivity", {"ListID": no_headers, "IncludeTerminated": "true"}),
             ("ReportRangeListContactHygiene", {"ListID": no_headers, **WIDE, "Page": 1}),
             ("ReportListMessageDelivery", {"ListID": empty_list, **WIDE}),
             ("ReportAdminContactFeedbackLoop", {**WIDE, "Page": 999})]
    for op, params in calls:
        status, _, body = rawsoap.call(handle.url, op, params)
        assert status == 200, (op, body[:300])
        result = etree.fromstring(body).find(f".//{{{rawsoap.NS}}}{op}Result")
        assert (result is None) == (form == "omitted") and (result is None or len(result) == 0), op


def test_paged_secondary_reports_page_to_their_end(emulator_factory, listrak):
    handle = emulator_factory(lists=2, messages_per_list=6, recipients=40, subscribers_per_list=60,
                              page_sizes=("ReportRangeListContactRemoval=2", "ReportAdminContactFeedbackLoop=3",
                                          "ReportMessageLinkClick=1", "ReportRangeListContactHygiene=2"))
    client, list_id = listrak(handle), handle.data.list_ids()[0]
    truth = handle.truth("1990-01-01", "2100-01-01", include_test_messages=True)
    bounds = dict(EVERYTHING)
    for op, stream, params in (("ReportRangeListContactRemoval", "list_removals", {"ListID": list_id, **bounds}),
                               ("ReportRangeListContactHygiene", "list_hygiene", {"ListID": list_id, **bounds}),
                               ("ReportAdminContactFeedbackLoop", "spam_complaints", bounds),
                               ("ReportMessageLinkClick", "message_links", {"MsgID": handle.data.msg_id(0, 0)})):
        items = client.all_pages(op, **params)
        expected = [r for r in truth[stream] if all(r.get(k, v) == v for k, v in params.items() if k.endswith("ID"))]
        assert len(expected) >= 3 and len(items) == len(expected), op
    assert handle.stats()["requests"]["ReportMessageLinkClick"] > 3
