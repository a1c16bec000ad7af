"""Pages that are not all alike: jitter, nil slots, page size per operation and per unit."""
from __future__ import annotations

import pytest
from lxml import etree

from tests.emulator import rawsoap
from tests.emulator.paging import Pager
from tests.emulator.spec import ServerSpec

WIDE = {"StartDate": "1990-01-01T00:00:00", "EndDate": "2100-01-01T00:00:00"}
NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
OPEN, SENT = "ReportRangeMessageContactOpen", "ReportMessageContactSent"
ITEMS = {OPEN: "WSContactOpen", SENT: "WSMessageRecipient", "ReportRangeSubscribedContacts": "WSContactSubscriptionInfo"}


def fetch(handle, op: str, params: dict, page: int) -> tuple[bytes, list]:
    """(body, slots of the page): a slot is None for an xsi:nil item, else the item's canonical bytes."""
    status, _h, body = rawsoap.call(handle.url, op, {**params, "Page": page})
    assert status == 200, body
    found = etree.fromstring(body).findall(f".//{{{rawsoap.NS}}}{ITEMS[op]}")
    return body, [None if item.get(NIL) == "true" else etree.tostring(item) for item in found]


def pages_until_empty(handle, op: str, params: dict, limit: int = 500) -> list[list]:
    """Pages 1, 2, ... up to and excluding the first one without any slot."""
    pages = []
    for page in range(1, limit):
        _body, slots = fetch(handle, op, params, page)
        if not slots:
            return pages
        pages.append(slots)
    raise AssertionError("no empty page")


def unpaged(handle, op: str, params: dict) -> list:
    """Every real item in order, read from page 1 of an emulator of the same account with a huge page size."""
    _body, slots = fetch(handle, op, params, 1)
    return [s for s in slots if s is not None]


def _twins(emulator_factory, **knobs):
    data = dict(lists=1, messages_per_list=4, recipients=300, open_rate=0.9, nil_items=False)
    return emulator_factory(**data, **knobs), emulator_factory(**data, page_size=100000)


def test_page_jitter_serves_every_item_once_in_pages_of_varying_length(emulator_factory):
    handle, plain = _twins(emulator_factory, page_size=20, page_jitter=8)
    params = {"MsgID": handle.data.msg_id(0, 0), **WIDE}
    pages = pages_until_empty(handle, OPEN, params)
    flat = [s for page in pages for s in page]
    assert flat == unpaged(plain, OPEN, params) and len(set(flat)) == len(flat) > 200
    lengths = [len(page) for page in pages]
    assert all(12 <= n <= 20 for n in lengths[:-1]) and len(set(lengths[:-1])) > 3
    # The page after the last item is empty in the configured form, and so are later ones.
    body, slots = fetch(handle, OPEN, params, len(pages) + 1)
    assert slots == [] and b"<ReportRangeMessageContactOpenResult />" in body
    assert fetch(handle, OPEN, params, len(pages) + 5)[1] == []
    # Same request, same page (a retry gets the same items); no state per client.
    third = fetch(handle, OPEN, params, 3)[0]
    fetch(handle, OPEN, params, 1)
    assert fetch(handle, OPEN, params, 3)[0] == third
    # Another unit (another message, or the same one with another range) has its own lengths.
    other = [len(p) for p in pages_until_empty(handle, OPEN, {"MsgID": handle.data.msg_id(0, 1), **WIDE})]
    assert other[:5] != lengths[:5]


def test_page_jitter_with_the_omitted_empty_form_and_subscribers(emulator_factory):
    handle = emulator_factory(lists=1, subscribers_per_list=200, page_size=9, page_jitter=9, empty_result="omitted")
    params = {"ListID": handle.data.list_ids()[0], **WIDE}
    pages = pages_until_empty(handle, "ReportRangeSubscribedContacts", params)
    assert all(1 <= len(page) <= 9 for page in pages)
    flat = [s for page in pages for s in page]
    assert flat[-1] is None and len(flat) == 201  # list 0's subscribers end with the nil item of --nil-items
    assert len(set(flat[:-1])) == 200
    body, _slots = fetch(handle, "ReportRangeSubscribedContacts", params, len(pages) + 1)
    assert b"ReportRangeSubscribedContactsResult" not in body


def test_nil_slots_sit_inside_pages_and_take_a_slot(emulator_factory):
    handle, plain = _twins(emulator_factory, page_size=10, nil_slot_rate=0.3)
    params = {"MsgID": handle.data.msg_id(0, 0), **WIDE}
    pages = pages_until_empty(handle, OPEN, params)
    real = [s for page in pages for s in page if s is not None]
    assert real == unpaged(plain, OPEN, params)
    assert all(len(page) == 10 for page in pages[:-1])  # nil slots count towards the page size
    middle = [page for page in pages[:-1] if None in page[:-1]]
    assert middle, "nil slots in the middle of pages"
    assert pages[-1][-1] is not None  # once the data has ended no nil slot follows
    assert handle.stats()["records_served"][OPEN] == len(real)


def test_a_page_of_nil_slots_only_is_followed_by_data(emulator_factory):
    handle, plain = _twins(emulator_factory, page_size=10, nil_only_page=2)
    params = {"MsgID": handle.data.msg_id(0, 0), **WIDE}
    pages = pages_until_empty(handle, OPEN, params)
    assert pages[1] == [None] * 10 and all(s is not None for s in pages[0] + pages[2])
    assert [s for page in pages for s in page if s is not None] == unpaged(plain, OPEN, params)
    # A client that stops at the first page without a real item loses everything after page 1.
    naive = []
    for page in pages:
        if not [s for s in page if s is not None]:
            break
        naive.extend(page)
    assert len(naive) == 10 < len(unpaged(plain, OPEN, params))
    # A unit whose data fits before page 2 is not affected: its page 2 is the empty page.
    few = emulator_factory(lists=1, messages_per_list=1, recipients=5, page_size=10, nil_only_page=2)
    params = {"MsgID": few.data.msg_id(0, 0)}
    assert len(fetch(few, SENT, params, 1)[1]) == 5 and fetch(few, SENT, params, 2)[1] == []


def test_nil_only_page_one_with_zeep(emulator_factory, listrak):
    handle = emulator_factory(lists=1, messages_per_list=1, recipients=30, page_size=8, nil_only_page=1)
    msg_id = handle.data.msg_id(0, 0)
    first = listrak(handle).ReportMessageContactSent(MsgID=msg_id, Page=1, WSException=None)
    assert [r.EmailAddress for r in first.ReportMessageContactSentResult.WSMessageRecipient] == [None] * 8
    emails = [r.EmailAddress for r in listrak(handle).all_pages(SENT, MsgID=msg_id)]
    assert emails == [c.email for c in handle.data.recipients(0, 0)]


def test_page_size_for_one_operation(emulator_factory):
    handle = emulator_factory(lists=1, messages_per_list=1, recipients=40, page_size=7, nil_items=False,
                              page_sizes=(f"{SENT}=15",))
    msg_id = handle.data.msg_id(0, 0)
    assert [len(p) for p in pages_until_empty(handle, SENT, {"MsgID": msg_id})] == [15, 15, 10]
    opens = pages_until_empty(handle, OPEN, {"MsgID": msg_id, **WIDE})
    assert all(len(p) == 7 for p in opens[:-1])


def test_page_size_per_unit(emulator_factory):
    handle = emulator_factory(lists=1, messages_per_list=12, recipients=120, page_size=40, nil_items=False,
                              test_message_rate=0, page_size_per_unit=True)
    sizes = set()
    for j in range(12):
        msg_id = handle.data.msg_id(0, j)
        lengths = [len(p) for p in pages_until_empty(handle, SENT, {"MsgID": msg_id})]
        assert sum(lengths) == 120 and 20 <= lengths[0] <= 40
        assert len(set(lengths[:-1])) <= 1  # fixed inside a unit
        sizes.add(lengths[0])
    assert len(sizes) > 3
    # A client that learned "a short page ends the data" on a unit of size 40 loses rows on the others.
    assert min(sizes) < 40


def test_pager_keeps_the_plain_layout_by_default():
    pager = Pager(ServerSpec(page_size=7), seed=1)
    assert [pager.page("u", SENT, p, 17, 16) for p in (1, 3, 4)] == [list(range(7)), [14, 15, 16], []]


@pytest.mark.parametrize("knobs", [dict(page_sizes=("Nope=3",)), dict(page_sizes=(f"{SENT}=0",)),
                                   dict(page_sizes=("GetContactListCollection=3",)), dict(nil_slot_rate=1.0),
                                   dict(page_jitter=-1), dict(nil_only_page=-2)])
def test_bad_paging_knobs_are_refused(knobs):
    with pytest.raises(ValueError):
        ServerSpec(**knobs)
