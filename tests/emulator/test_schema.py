"""Every reply the emulator can give validates against the bundled WSDL's schema (order, types, nil rules)."""
from __future__ import annotations

import copy

import pytest
from lxml import etree

from tests.emulator import rawsoap
from tests.emulator.server import WSDL_FILE

XSD = "http://www.w3.org/2001/XMLSchema"
WIDE = {"StartDate": "1990-01-01T00:00:00", "EndDate": "2100-01-01T00:00:00"}


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    wsdl = etree.parse(str(WSDL_FILE)).getroot()
    element = wsdl.find(f".//{{{XSD}}}schema")
    # A new root declaring the prefixes (s:, tns:) that the type="..." references use.
    standalone = etree.Element(element.tag, dict(element.attrib), nsmap={"s": XSD, "tns": rawsoap.NS})
    standalone.extend(copy.deepcopy(child) for child in element)
    return etree.XMLSchema(standalone)


def _calls(handle) -> list[tuple[str, dict]]:
    data = handle.data
    calls = [("GetContactListCollection", {})]
    for list_id in data.list_ids():
        calls.append(("ReportListMessageActivity", {"ListID": list_id, **WIDE, "IncludeTestMessages": "true"}))
        calls += secondary_list_calls(list_id)
        calls.append(("ReportRangeSubscribedContacts", {"ListID": list_id, **WIDE, "Page": 1}))
        calls.append(("ReportRangeSubscribedContacts", {"ListID": list_id, **WIDE, "Page": 99}))
    for message in data.all_messages():
        calls.append(("ReportMessageContactSent", {"MsgID": message.MsgID, "Page": 1}))
        calls.append(("ReportMessageContactSent", {"MsgID": message.MsgID, "Page": 99}))
        for op in ("Open", "Click", "Read", "Removal", "Bounces"):
            calls.append((f"ReportRangeMessageContact{op}", {"MsgID": message.MsgID, **WIDE, "Page": 1}))
        calls.append(("ReportMessageLinkClick", {"MsgID": message.MsgID, "Page": 1}))
    every_message = rawsoap.int_array(m.MsgID for m in data.all_messages())
    calls.append(("GetMessageAnalyticsInformation", {"MsgIDs": every_message}))
    calls += [("ReportAdminContactFeedbackLoop", {**WIDE, "Page": page}) for page in (1, 99)]
    return calls


def secondary_list_calls(list_id: int) -> list[tuple[str, dict]]:
    return [("ReportRangeListContactRemoval", {"ListID": list_id, **WIDE, "Page": 1}),
            ("ReportRangeListContactHygiene", {"ListID": list_id, **WIDE, "Page": 1}),
            ("GetCampaignCollection", {"ListID": list_id}),
            ("ReportListMessageDelivery", {"ListID": list_id, **WIDE, "IncludeTestMessages": "true"}),
            ("ReportListConversationActivity", {"ListID": list_id, "IncludeTerminated": "true"}),
            ("GetProfileHeaderCollection", {"ListID": list_id})]


@pytest.mark.parametrize("knobs", [dict(), dict(empty_result="omitted", timezone="Europe/Paris",
                                                event_date_format="us")])
def test_every_reply_is_schema_valid(emulator_factory, schema, knobs):
    handle = emulator_factory(lists=3, messages_per_list=6, recipients=60, subscribers_per_list=40, page_size=200,
                              **knobs)
    checked = 0
    for op, params in _calls(handle):
        status, _h, body = rawsoap.call(handle.url, op, params)
        assert status == 200, (op, body[:300])
        response = etree.fromstring(body)[0][0]
        assert response.tag == f"{{{rawsoap.NS}}}{op}Response"
        schema.assertValid(etree.ElementTree(copy.deepcopy(response)))
        checked += 1
    assert checked > 50


def test_the_reversed_element_order_differs_from_the_wsdl_only_in_the_partly_known_types(emulator_factory, schema):
    """--element-order reversed serves WSCampaign, WSMessageLink, ... in another order (not the WSDL's), and every
    other reply as before."""
    plain = emulator_factory(lists=3, messages_per_list=6, recipients=60, subscribers_per_list=40, page_size=200)
    other = emulator_factory(lists=3, messages_per_list=6, recipients=60, subscribers_per_list=40, page_size=200,
                             element_order="reversed")
    changed = set()
    for op, params in _calls(plain):
        before, after = (rawsoap.call(handle.url, op, params)[2] for handle in (plain, other))
        response = etree.fromstring(after)[0][0]
        if before != after:
            changed.add(op)
            assert sorted(before) == sorted(after), op  # the same elements, in another order
            assert not schema.validate(etree.ElementTree(copy.deepcopy(response))), op
    assert changed == {"GetCampaignCollection", "ReportMessageLinkClick", "ReportListMessageDelivery",
                       "ReportListConversationActivity", "GetProfileHeaderCollection", "ReportAdminContactFeedbackLoop"}


def test_schema_rejects_a_wrong_order(schema):
    """The check has teeth: swapping two children of an item is caught."""
    bad = etree.fromstring(
        f'<ReportRangeMessageContactOpenResponse xmlns="{rawsoap.NS}"><ReportRangeMessageContactOpenResult>'
        "<WSContactOpen><EmailAddress>a@b</EmailAddress><ContactID>1</ContactID></WSContactOpen>"
        "</ReportRangeMessageContactOpenResult></ReportRangeMessageContactOpenResponse>")
    assert not schema.validate(etree.ElementTree(bad))
