"""Date filtering (each --range-ends form), the account's time zone, event-date forms, request date forms."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from lxml import etree

from tests.emulator import rawsoap
from tests.emulator.times import xsd_datetime

NS = {"l": rawsoap.NS}


def _activity_ids(handle, start: str, end: str, **extra) -> list[int]:
    params = {"ListID": handle.data.list_ids()[0], "StartDate": start, "EndDate": end, "IncludeTestMessages": "true"}
    status, _h, body = rawsoap.call(handle.url, "ReportListMessageActivity", {**params, **extra})
    assert status == 200, body
    return [int(t) for t in etree.fromstring(body).xpath("//l:WSMessageActivity/l:MsgID/text()", namespaces=NS)]


def _iso(dt: datetime) -> str:
    return xsd_datetime(dt)


@pytest.mark.parametrize("ends, at_start, at_end, both", [
    ("inclusive", True, True, True),
    ("exclusive", False, False, False),
    ("start-exclusive", False, True, False),
    ("end-exclusive", True, False, False),
])
def test_range_ends(emulator_factory, ends, at_start, at_end, both):
    handle = emulator_factory(lists=1, messages_per_list=4, range_ends=ends)
    message = handle.data.message(0, 3)  # sent at exactly local midnight
    t = message.SendDate
    assert t.time() == datetime.min.time()
    hour = timedelta(hours=1)
    assert (message.MsgID in _activity_ids(handle, _iso(t), _iso(t + hour))) is at_start
    assert (message.MsgID in _activity_ids(handle, _iso(t - hour), _iso(t))) is at_end
    assert (message.MsgID in _activity_ids(handle, _iso(t), _iso(t))) is both
    assert message.MsgID in _activity_ids(handle, _iso(t - hour), _iso(t + hour))


def test_event_ranges_filter_on_the_event_date(emulator_factory, listrak):
    handle = emulator_factory(lists=1, messages_per_list=1, recipients=80, range_ends="end-exclusive")
    opens = handle.data.events(0, 0).opens
    middle = opens[len(opens) // 2].when
    client = listrak(handle)
    before = client.all_pages("ReportRangeMessageContactOpen", MsgID=handle.data.msg_id(0, 0),
                              StartDate=datetime(2000, 1, 1), EndDate=middle)
    after = client.all_pages("ReportRangeMessageContactOpen", MsgID=handle.data.msg_id(0, 0),
                             StartDate=middle, EndDate=datetime(2100, 1, 1))
    assert len(before) + len(after) == len(opens)
    assert len(before) == sum(1 for o in opens if o.when < middle)


def test_timezone_renders_local_wall_time_and_reads_naive_dates_as_local(emulator_factory):
    handle = emulator_factory(lists=1, messages_per_list=4, timezone="America/New_York")
    message = handle.data.message(0, 3)
    utc = message.SendDate
    local = handle.data.clock.to_local(utc)
    assert local != utc and local.time() == datetime.min.time()  # local midnight, 4 or 5 hours behind UTC
    minute = timedelta(minutes=1)
    # Naive bounds are the account's wall time.
    assert message.MsgID in _activity_ids(handle, _iso(local - minute), _iso(local + minute))
    assert message.MsgID not in _activity_ids(handle, _iso(utc - minute), _iso(utc + minute))
    # Bounds with an offset or Z are exact instants.
    aware = utc.replace(tzinfo=timezone.utc)
    assert message.MsgID in _activity_ids(handle, (aware - minute).isoformat(), (aware + minute).isoformat())
    assert message.MsgID in _activity_ids(handle, (utc - minute).isoformat() + "Z", (utc + minute).isoformat() + "Z")
    _s, _h, body = rawsoap.call(handle.url, "ReportListMessageActivity", {
        "ListID": message.ListID, "StartDate": "2000-01-01", "EndDate": "2100-01-01", "IncludeTestMessages": "1"})
    dates = etree.fromstring(body).xpath(f"//l:WSMessageActivity[l:MsgID={message.MsgID}]/l:SendDate/text()",
                                         namespaces=NS)
    assert dates == [local.strftime("%Y-%m-%dT%H:%M:%S")]  # no offset, no zero fraction


FORMS = {
    "iso": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$",
    "iso-fraction": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?$",
    "us": r"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d:\d\d [AP]M$",
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_event_date_forms(emulator_factory, form):
    handle = emulator_factory(lists=1, messages_per_list=1, recipients=120, event_date_format=form)
    msg_id = handle.data.msg_id(0, 0)
    seen = []
    for op, field in (("ReportRangeMessageContactOpen", "OpenDate"), ("ReportRangeMessageContactClick", "ClickDate"),
                      ("ReportRangeMessageContactRead", "ReadDate"), ("ReportRangeMessageContactBounces", "BounceDate")):
        _s, _h, body = rawsoap.call(handle.url, op, {"MsgID": msg_id, "StartDate": "2000-01-01",
                                                      "EndDate": "2100-01-01", "Page": 1})
        values = etree.fromstring(body).xpath(f"//l:{field}/text()", namespaces=NS)
        assert values, op
        assert all(re.match(FORMS[form], v) for v in values), values[:5]
        seen += values
    if form == "iso-fraction":
        assert any("." in v for v in seen) and any("." not in v for v in seen)
        assert not any(v.endswith("0") and "." in v for v in seen), "trailing zeros are trimmed"
    truth = handle.truth("2000-01-01")["message_opens"]
    if form == "iso-fraction":
        assert any(not r["OpenDate"].endswith(".000000Z") for r in truth)
    else:
        assert all(r["OpenDate"].endswith(".000000Z") for r in truth)


def test_us_form_has_12_hour_clock():
    from tests.emulator.times import event_date
    assert event_date(datetime(2024, 1, 5, 13, 4, 5, 120000), "us") == "1/5/2024 1:04:05 PM"
    assert event_date(datetime(2024, 1, 5, 0, 0, 0), "us") == "1/5/2024 12:00:00 AM"
    assert event_date(datetime(2024, 1, 5, 13, 4, 5, 120000), "iso-fraction") == "2024-01-05T13:04:05.12"
    assert event_date(datetime(2024, 1, 5, 13, 4, 5, 120000), "iso") == "2024-01-05T13:04:05"


@pytest.mark.parametrize("start, end", [
    ("2000-01-01", "2100-01-01"),
    ("2000-01-01T00:00:00", "2100-01-01T00:00:00.0000000"),
    ("2000-01-01T00:00:00.123+02:00", "2100-01-01T00:00:00Z"),
    (" 2000-01-01T00:00:00-05:00 ", "2100-01-01T00:00:00.5"),
])
def test_request_date_forms(emulator, start, end):
    assert _activity_ids(emulator, start, end)


def test_bad_date_is_a_client_fault(emulator):
    status, _h, body = rawsoap.call(emulator.url, "ReportListMessageActivity", {
        "ListID": emulator.data.list_ids()[0], "StartDate": "yesterday", "EndDate": "2100-01-01",
        "IncludeTestMessages": "false"})
    assert status == 500 and b"soap:Client" in body and b"StartDate" in body
