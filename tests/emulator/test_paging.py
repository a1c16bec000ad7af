"""Paging: 1-based pages of --page-size items, a stable order, empty pages past the end in both forms."""
from __future__ import annotations

import pytest
import zeep
from lxml import etree

from tests.emulator import rawsoap
from tests.emulator.conftest import EVERYTHING

WIDE = {"StartDate": "1990-01-01T00:00:00", "EndDate": "2100-01-01T00:00:00"}


def _items(body: bytes, item: str) -> list:
    return etree.fromstring(body).findall(f".//{{{rawsoap.NS}}}{item}")


def test_page_size_knob_and_last_page(emulator_factory, listrak):
    handle = emulator_factory(lists=1, messages_per_list=1, recipients=40, page_size=7)
    msg_id = handle.data.msg_id(0, 0)
    sizes = []
    for page in range(1, 9):
        status, _h, body = rawsoap.call(handle.url, "ReportMessageContactSent", {"MsgID": msg_id, "Page": page})
        assert status == 200
        sizes.append(len(_items(body, "WSMessageRecipient")))
    assert sizes == [7, 7, 7, 7, 7, 5, 0, 0]
    emails = [r.EmailAddress for r in listrak(handle).all_pages("ReportMessageContactSent", MsgID=msg_id)]
    assert emails == [c.email for c in handle.data.recipients(0, 0)]
    assert len(set(emails)) == 40


@pytest.mark.parametrize("form", ["element", "omitted"])
def test_past_the_end_page_is_empty_in_both_forms(emulator_factory, listrak, form):
    handle = emulator_factory(lists=1, messages_per_list=1, recipients=5, page_size=2500, empty_result=form)
    msg_id = handle.data.msg_id(0, 0)
    _s, _h, body = rawsoap.call(handle.url, "ReportRangeMessageContactOpen", {"MsgID": msg_id, **WIDE, "Page": 2})
    response = etree.fromstring(body).find(f".//{{{rawsoap.NS}}}ReportRangeMessageContactOpenResponse")
    result = response.find(f"{{{rawsoap.NS}}}ReportRangeMessageContactOpenResult")
    if form == "element":
        assert result is not None and len(result) == 0 and b"<ReportRangeMessageContactOpenResult />" in body
    else:
        assert result is None and len(response) == 0
    # A wrapped response keeps its WSException sibling either way.
    _s, _h, body = rawsoap.call(handle.url, "ReportMessageContactSent", {"MsgID": msg_id, "Page": 5})
    response = etree.fromstring(body).find(f".//{{{rawsoap.NS}}}ReportMessageContactSentResponse")
    names = [etree.QName(child).localname for child in response]
    assert names == (["ReportMessageContactSentResult", "WSException"] if form == "element" else ["WSException"])
    client = listrak(handle)
    assert client.ReportRangeMessageContactOpen(MsgID=msg_id, Page=2, **EVERYTHING) is None
    assert client.ReportMessageContactSent(MsgID=msg_id, Page=5, WSException=None).ReportMessageContactSentResult is None


def test_page_below_one_is_a_fault(emulator, listrak):
    msg_id = emulator.data.msg_id(0, 0)
    for page in (0, -1):
        with pytest.raises(zeep.exceptions.Fault, match="Page"):
            listrak(emulator).ReportRangeMessageContactClick(MsgID=msg_id, Page=page, **EVERYTHING)


def test_pages_concatenate_to_one_stable_ordered_result(emulator_factory, listrak):
    handle = emulator_factory(lists=1, messages_per_list=1, recipients=300, open_rate=0.9, page_size=13)
    msg_id = handle.data.msg_id(0, 0)
    client = listrak(handle)
    first = client.all_pages("ReportRangeMessageContactOpen", MsgID=msg_id, **EVERYTHING)
    again = client.all_pages("ReportRangeMessageContactOpen", MsgID=msg_id, **EVERYTHING)
    assert [(o.EmailAddress, o.OpenDate) for o in first] == [(o.EmailAddress, o.OpenDate) for o in again]
    assert len(first) == len(handle.data.events(0, 0).opens) > 13 * 3
    keys = [(o.OpenDate, o.EmailAddress) for o in first]
    assert len(set(keys)) == len(keys)


def test_nil_item_ends_the_last_page(emulator_factory):
    handle = emulator_factory(lists=1, messages_per_list=4, recipients=30, page_size=10)
    msg_id = handle.data.msg_id(0, 3)  # the message whose arrays end with an xsi:nil item
    total = len(handle.data.recipients(0, 3))
    pages = []
    for page in range(1, 6):
        _s, _h, body = rawsoap.call(handle.url, "ReportMessageContactSent", {"MsgID": msg_id, "Page": page})
        pages.append(_items(body, "WSMessageRecipient"))
    flat = [item for page in pages for item in page]
    nil = "{http://www.w3.org/2001/XMLSchema-instance}nil"
    assert len(flat) == total + 1 and flat[-1].get(nil) == "true"
    assert all(item.get(nil) is None for item in flat[:-1])
    assert handle.stats()["records_served"]["ReportMessageContactSent"] == total
