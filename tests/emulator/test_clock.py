"""The clock: the account as of an instant, with a reporting delay, moved at run time; truth follows it."""
from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from tests.emulator import rawsoap
from tests.emulator.conftest import EVERYTHING, RANGE_OPS
from tests.emulator.service import NOT_FOUND
from tests.emulator.test_truth import KEYS, ROOT, STREAM_OF, assert_same, read_everything
from tests.emulator.truth import STREAMS

# Three months of sends, so that events of early messages overlap later sends; many removals and bounces.
KNOBS = dict(lists=2, empty_lists=0, messages_per_list=6, recipients=40, subscribers_per_list=60, unsub_rate=0.2,
             bounce_rate=0.1, first_date="2024-01-01", last_date="2024-03-31", page_size=25)
EVENT_COUNTERS = {"ReportRangeMessageContactOpen": "OpenCount", "ReportRangeMessageContactClick": "ClickCount",
                  "ReportRangeMessageContactRead": "ReadCount", "ReportRangeMessageContactRemoval": "RemoveCount"}
ALL_TIME = ("1990-01-01", "2100-01-01")
# Streams whose records hold counters of events (or of messages sent), which grow with the clock.
COUNTED = {"messages", "message_links", "campaigns", "message_deliveries"}


def middle_open(handle) -> datetime:
    """T1: the middle open of list 0's first message, which then has events on both sides of it."""
    opens = handle.data.events(0, 0).opens
    return opens[len(opens) // 2].when


def keys(records: dict, stream: str) -> set:
    return {tuple(r[k] for k in KEYS[stream]) for r in records[stream]}


def test_truth_at_an_earlier_instant_is_a_subset(emulator_factory, listrak):
    handle = emulator_factory(**KNOBS)
    t1 = middle_open(handle)
    t2 = t1 + timedelta(days=30)
    early = handle.truth(*ALL_TIME, include_test_messages=True, as_of=t1)
    late = handle.truth(*ALL_TIME, include_test_messages=True, as_of=t2)
    for stream in STREAMS:
        assert keys(early, stream) <= keys(late, stream), stream
        if stream not in COUNTED:  # same IDs and dates: only the counters move
            assert all(r in late[stream] for r in early[stream]), stream
    assert keys(early, "message_opens") < keys(late, "message_opens")
    after_t1 = {m.MsgID for m in handle.data.all_messages() if m.SendDate > t1}
    assert after_t1 and not after_t1 & {r["MsgID"] for s in STREAMS for r in early[s] if "MsgID" in r}
    sent_by_t2 = {(m.MsgID,) for m in handle.data.all_messages() if t1 < m.SendDate <= t2}
    assert sent_by_t2 and sent_by_t2 <= keys(late, "messages")

    # List 0's first message has opens on both sides of T1: its counters grow and match the reports.
    msg_id = handle.data.msg_id(0, 0)
    client = listrak(handle)
    counters = {}
    for instant in (t1, t2):
        handle.set_clock(as_of=instant)
        counters[instant] = next(m for m in client.activity(5001, **EVERYTHING)
                                 if m.MsgID == msg_id)
        for op, name in EVENT_COUNTERS.items():
            assert getattr(counters[instant], name) == len(client.all_pages(op, MsgID=msg_id, **EVERYTHING)), name
    for name in (*EVENT_COUNTERS.values(), "ClickerCount"):
        assert getattr(counters[t1], name) <= getattr(counters[t2], name), name
    assert counters[t1].OpenCount < counters[t2].OpenCount
    assert counters[t1].DeliverCount >= counters[t2].DeliverCount  # bounces only ever lower it
    truth_t1 = next(r for r in early["messages"] if r["MsgID"] == msg_id)
    assert truth_t1["OpenCount"] == counters[t1].OpenCount and truth_t1["OpenPercent"] == counters[t1].OpenPercent


@pytest.mark.parametrize("delay_hours, extra", [
    (0, {}),
    (36, dict(timezone="America/New_York", event_date_format="us", range_ends="end-exclusive")),
])
def test_reading_everything_as_of_an_instant_equals_truth(emulator_factory, listrak, delay_hours, extra):
    handle = emulator_factory(**{**KNOBS, **extra})
    client = listrak(handle)
    start, end = datetime(1990, 1, 1), datetime(2100, 1, 1)
    for instant in (middle_open(handle), datetime(2024, 3, 1, 12)):
        handle.set_clock(as_of=instant, reporting_delay_hours=delay_hours)
        expected = handle.truth(start, end, include_test_messages=True)  # at the handle's clock
        assert expected["messages"] and expected["message_opens"]
        assert_same(read_everything(handle, client, start, end), expected)


def test_events_within_the_reporting_delay_wait(emulator_factory, listrak):
    handle = emulator_factory(**KNOBS)
    client = listrak(handle)
    msg_id, t, all_opens = handle.data.msg_id(0, 0), middle_open(handle), handle.data.events(0, 0).opens
    hidden = {e.when.isoformat(timespec="microseconds") + "Z" for e in all_opens
              if t - timedelta(hours=2) < e.when <= t}
    reported = len([e for e in all_opens if e.when <= t - timedelta(hours=2)])
    assert hidden and reported

    def report() -> tuple[int, int, set]:
        """(opens the report returns, OpenCount, OpenDates of the truth)."""
        served = len(client.all_pages("ReportRangeMessageContactOpen", MsgID=msg_id, **EVERYTHING))
        count = next(m for m in client.activity(5001, **EVERYTHING) if m.MsgID == msg_id).OpenCount
        dates = {r["OpenDate"] for r in handle.truth(*ALL_TIME)["message_opens"] if r["MsgID"] == msg_id}
        return served, count, dates

    handle.set_clock(as_of=t, reporting_delay_hours=2)
    served, count, dates = report()
    assert served == count == len(dates) == reported and not hidden & dates
    handle.set_clock(as_of=t + timedelta(hours=2))  # the delay stays: the reports now reach t
    served, count, dates = report()
    assert served == count == len(dates) == reported + len(hidden) and hidden <= dates


def test_a_message_not_sent_yet_does_not_exist(emulator_factory):
    handle = emulator_factory(**KNOBS)
    message = handle.data.message(0, 1)
    handle.set_clock(as_of=message.SendDate - timedelta(milliseconds=1))
    range_params = {"MsgID": message.MsgID, "StartDate": "2000-01-01", "EndDate": "2100-01-01", "Page": 1}
    for op in RANGE_OPS:
        status, _, body = rawsoap.call(handle.url, op, range_params)
        assert status == 500 and NOT_FOUND.encode() in body, op
    status, _, body = rawsoap.call(handle.url, "ReportMessageContactSent", {"MsgID": message.MsgID, "Page": 1})
    assert status == 500 and NOT_FOUND.encode() in body
    handle.set_clock(as_of=message.SendDate)  # sent: every send exists at once, events not yet
    status, _, body = rawsoap.call(handle.url, "ReportMessageContactSent", {"MsgID": message.MsgID, "Page": 1})
    assert status == 200 and body.count(b"<WSMessageRecipient>") == KNOBS["page_size"]
    status, _, body = rawsoap.call(handle.url, "ReportRangeMessageContactOpen", range_params)
    assert status == 200 and b"<WSContactOpen>" not in body


def _http(url: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_clock_endpoint_moves_the_clock_at_run_time(emulator_factory):
    handle = emulator_factory(**KNOBS)
    clock = handle.base_url + "/_clock"
    activity = {"ListID": 5001, "StartDate": "2000-01-01", "EndDate": "2100-01-01", "IncludeTestMessages": "true"}
    opens = {"MsgID": handle.data.msg_id(0, 0), "StartDate": "2000-01-01", "EndDate": "2100-01-01", "Page": 1}
    before = [rawsoap.call(handle.url, op, params)[2] for op, params in
              (("ReportListMessageActivity", activity), ("ReportRangeMessageContactOpen", opens))]
    assert _http(clock) == (200, {"as_of": None, "reporting_delay_hours": 0.0})

    status, settings = _http(clock, {"as_of": "2024-01-15T00:00:00+01:00", "reporting_delay_hours": 6})
    assert (status, settings) == (200, {"as_of": "2024-01-14T23:00:00.000000Z", "reporting_delay_hours": 6.0})
    body = rawsoap.call(handle.url, "ReportListMessageActivity", activity)[2]
    assert body.count(b"<WSMessageActivity>") == 1  # only the message sent by then
    assert handle.server.as_of == datetime(2024, 1, 14, 23)
    assert _http(clock, {"reporting_delay_hours": 1})[1]["as_of"] == settings["as_of"]  # a key left out stays
    assert _http(handle.base_url + "/_reset", {})[0] == 200
    assert _http(clock)[1] == {"as_of": settings["as_of"], "reporting_delay_hours": 1.0}  # reset keeps the clock
    assert _http(clock, {"as_of": "not a date"})[0] == 400
    assert _http(clock, {"reporting_delay_hours": -1})[0] == 400
    assert _http(clock, {"speed": 2})[0] == 400
    assert _http(clock, {"as_of": 5})[0] == 400
    assert _http(clock, [1])[0] == 400
    assert _http(clock)[1]["reporting_delay_hours"] == 1.0  # refused changes change nothing

    assert _http(clock, {"as_of": None}) == (200, {"as_of": None, "reporting_delay_hours": 1.0})
    after = [rawsoap.call(handle.url, op, params)[2] for op, params in
             (("ReportListMessageActivity", activity), ("ReportRangeMessageContactOpen", opens))]
    assert after == before  # without a clock, the delay does nothing either


def test_without_a_clock_nothing_changes(emulator_factory):
    """A clock after every event hides nothing: the reports are byte for byte those without a clock; only the
    counters differ (recounted from the events instead of the generated figures)."""
    plain = emulator_factory(**KNOBS)
    timed = emulator_factory(**KNOBS, as_of="2100-01-01T00:00:00Z")
    for m in plain.data.all_messages():
        for op in (*RANGE_OPS, "ReportMessageContactSent"):
            params = {"MsgID": m.MsgID, "Page": 1}
            if op != "ReportMessageContactSent":
                params.update(StartDate="2000-01-01", EndDate="2100-01-01")
            assert rawsoap.call(plain.url, op, params)[2] == rawsoap.call(timed.url, op, params)[2]
    params = {"ListID": 5001, "StartDate": "2000-01-01", "EndDate": "2100-01-01", "Page": 1}
    assert (rawsoap.call(plain.url, "ReportRangeSubscribedContacts", params)[2]
            == rawsoap.call(timed.url, "ReportRangeSubscribedContacts", params)[2])
    everything, late = plain.truth(*ALL_TIME), timed.truth(*ALL_TIME)
    assert all(everything[s] == late[s] for s in STREAMS if s not in COUNTED)
    assert keys(everything, "messages") == keys(late, "messages")
    for generated, recounted in zip(everything["messages"], late["messages"]):
        assert recounted["OpenCount"] == sum(r["MsgID"] == generated["MsgID"] for r in late["message_opens"])
        assert generated["Subject"] == recounted["Subject"] and generated["OrderTotal"] == recounted["OrderTotal"]


def test_truth_cli_takes_the_clock(emulator_factory):
    handle = emulator_factory(**KNOBS)
    handle.set_clock(as_of=middle_open(handle), reporting_delay_hours=12)
    args = handle.cli_args()
    assert "--as-of" in args and "--reporting-delay-hours" in args
    output = subprocess.run([sys.executable, "-m", "tests.emulator.truth", *args, "--start-date", ALL_TIME[0],
                             "--end-date", ALL_TIME[1]], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    lines = [json.loads(line, parse_float=Decimal) for line in output.splitlines()]
    expected = handle.truth(*ALL_TIME)
    assert {s: [x["record"] for x in lines if x["stream"] == s] for s in STREAMS} == expected
    assert expected != handle.truth(*ALL_TIME, as_of=None)
