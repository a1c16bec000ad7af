"""A ReportListMessageActivity that silently caps its reply, and accounts that need (or defeat) window splitting."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from lxml import etree

from tests.emulator import rawsoap
from tests.emulator.spec import DatasetSpec
from tests.emulator.truth import truth

OP = "ReportListMessageActivity"


def activity(handle, start: datetime, end: datetime, list_index: int = 0) -> list[int]:
    """MsgIDs of the real items of one ReportListMessageActivity reply."""
    params = {"ListID": handle.data.list_ids()[list_index], "StartDate": start.isoformat(),
              "EndDate": end.isoformat(), "IncludeTestMessages": "true"}
    status, _h, body = rawsoap.call(handle.url, OP, params)
    assert status == 200, body
    return [int(m) for m in etree.fromstring(body).xpath("//*[local-name()='MsgID']/text()")]


def split_until_under(handle, start: datetime, end: datetime, cap: int) -> set[int]:
    """A client that halves every window whose reply is as long as the cap."""
    found = activity(handle, start, end)
    if len(found) < cap or end - start < timedelta(seconds=1):
        return set(found)
    middle = start + (end - start) / 2
    return split_until_under(handle, start, middle, cap) | split_until_under(handle, middle, end, cap)


def test_cap_returns_the_earliest_messages_and_splitting_gets_them_all(emulator_factory):
    handle = emulator_factory(lists=1, empty_lists=0, messages_per_list=2500, recipients=1, subscribers_per_list=1,
                              first_date="2024-01-01", last_date="2024-12-31", activity_cap=1000)
    messages = handle.data.messages(0)
    year = (datetime(2024, 1, 1), datetime(2025, 1, 1))
    capped = activity(handle, *year)
    assert capped == [m.MsgID for m in messages[:1000]]  # the earliest by SendDate, then MsgID
    assert split_until_under(handle, *year, cap=1000) == {m.MsgID for m in messages}
    # The cap is the server's, not the data's: the ground truth holds all of them.
    everything = handle.truth("2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z", include_test_messages=True)
    assert len(everything["messages"]) == 2500


def test_burst_in_one_instant_defeats_splitting(emulator_factory):
    handle = emulator_factory(lists=2, empty_lists=0, messages_per_list=6, burst_messages=30, recipients=2,
                              activity_cap=20)
    burst = handle.data.burst_send_date()
    in_list = handle.data.messages(0)
    at_burst = [m for m in in_list if m.SendDate == burst]
    assert len(in_list) == 36 and len(at_burst) == 30 and not any(m.is_test for m in at_burst)
    assert activity(handle, burst, burst) == sorted(m.MsgID for m in at_burst)[:20]  # even a window of one instant
    span = (datetime(2021, 1, 1), datetime(2027, 1, 1))
    assert len(split_until_under(handle, *span, cap=20)) == 26  # 10 of the burst stay out of reach
    everything = handle.truth("2021-01-01T00:00:00Z", "2027-01-01T00:00:00Z", include_test_messages=True)
    assert len([r for r in everything["messages"] if r["ListID"] == handle.data.list_ids()[0]]) == 36
    # Burst messages are numbered after every regular message and served like any other.
    last_regular = handle.data.msg_id(1, 5)
    assert min(m.MsgID for m in at_burst) == last_regular + 7
    status, _h, body = rawsoap.call(handle.url, "ReportMessageContactSent", {"MsgID": at_burst[-1].MsgID, "Page": 1})
    assert status == 200 and body.count(b"<EmailAddress>") == 2
    assert len(everything["message_sends"]) == 2 * (36 + 6)


def test_burst_keeps_every_other_message_as_it_was():
    plain, burst = DatasetSpec(lists=3), DatasetSpec(lists=3, burst_messages=5)
    before, after = truth(plain, "2000-01-01", "2030-01-01"), truth(burst, "2000-01-01", "2030-01-01")
    assert len(after["messages"]) == len(before["messages"]) + 5
    kept = {m["MsgID"]: m for m in after["messages"]}
    assert all(kept[m["MsgID"]] == m for m in before["messages"])


def test_no_cap_by_default(emulator_factory):
    handle = emulator_factory(lists=1, empty_lists=0, messages_per_list=30, recipients=1, burst_messages=20)
    assert len(activity(handle, datetime(2000, 1, 1), datetime(2030, 1, 1))) == 50


def test_negative_knobs_are_refused():
    from tests.emulator.spec import ServerSpec
    with pytest.raises(ValueError):
        DatasetSpec(burst_messages=-1)
    with pytest.raises(ValueError):
        ServerSpec(activity_cap=-1)
