"""start_date, end_date and INCREMENTAL replication of the REST streams, through the CLI against the REST
emulator: what each stream's records are bounded by, under every answer the emulator can give to what
Listrak leaves open (range ends, the zone of request dates, which activity dateType=Activity matches)."""
from __future__ import annotations

import datetime as dt

import pytest

from tap_listrak.catalog import build_catalog
from tap_listrak.streams import REST, REST_STREAMS, by_name
from tests.e2e.tap_runner import canonical, catalog_selecting, run_tap
from tests.e2e.test_rest_sync import expected, rest_config

ALL = [stream.name for stream in REST_STREAMS]
INCREMENTAL = [stream.name for stream in REST_STREAMS if stream.replication_key]
STREAMS = by_name(REST)
ACCOUNT = dict(lists=2, messages_per_list=8, recipients=30, subscribers_per_list=150, first_date="2023-12-01",
               last_date="2024-03-31")
START, END = "2024-01-10T00:00:00Z", "2024-03-28T12:00:00Z"
LOOKBACK = dt.timedelta(days=30)  # message_lookback_days' default


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _in(value, start: str, end: str) -> bool:
    return value is not None and _instant(start) <= _instant(value) < _instant(end)


def bounded_truth(emulator, start: str, end: str) -> dict[str, list[dict]]:
    """Every stream's records a run over [start, end) must write, from the emulator's unbounded truth: each
    record by its own date, a message's children by its send date, clicks also of the messages sent in the
    lookback before start."""
    every = {name: expected(emulator, STREAMS[name]) for name in ALL}
    sent = {(m["listId"], m["messageId"]): m["sendDate"] for m in every["messages"]}
    low = (_instant(start) - LOOKBACK).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    started = {(t["listId"], t["splitTestId"]) for t in every["split_tests"] if _in(t["startDate"], start, end)}

    def latest(contact):
        return max(d for d in (contact["subscribeDate"], contact["resubscribeDate"], contact["unsubscribeDate"]) if d)

    rules = {
        "contacts": lambda r: _in(latest(r), start, end),
        "messages": lambda r: _in(r["sendDate"], start, end),
        "message_activity": lambda r: _in(r["sendDate"], start, end),
        "transactional_message_activity": lambda r: _in(r["sendDate"], start, end),
        "message_links": lambda r: _in(sent[r["listId"], r["messageId"]], start, end),
        "message_summaries": lambda r: _in(sent[r["listId"], r["messageId"]], start, end),
        "message_link_clickers": lambda r: _in(r["clickDate"], start, end)
        and _in(sent[r["listId"], r["messageId"]], low, end),
        "split_tests": lambda r: _in(r["startDate"], start, end),
        "split_test_messages": lambda r: (r["listId"], r["splitTestId"]) in started,
        "list_imports": lambda r: _in(r["importDate"], start, end),
    }
    return {name: [r for r in records if rules.get(name, lambda r: True)(r)] for name, records in every.items()}


def _check(run, truth, streams=ALL):
    assert run.returncode == 0, run.stderr[-3000:]
    for name in streams:
        got, want = canonical(run.records(name)), canonical(truth[name])
        assert got == want, (f"{name}: {sum((want - got).values())} missing, {sum((got - want).values())} "
                             f"unexpected; e.g. missing {list(want - got)[:1]} unexpected {list(got - want)[:1]}")


@pytest.mark.parametrize("knobs", [
    {},
    {"range_ends": "exclusive"},
    {"request_zone": "utc", "range_ends": "start-exclusive"},
    {"range_ends": "end-exclusive", "activity_date_filter": "any"},
], ids=["inclusive", "exclusive", "utc-requests", "end-exclusive"])
def test_start_and_end_date_bound_every_rest_stream_by_its_own_date(tmp_path, rest_emulator_factory, knobs):
    emulator = rest_emulator_factory(**ACCOUNT, **knobs)
    run = run_tap(tmp_path, rest_config(emulator, start_date=START, end_date=END),
                  catalog_selecting(ALL, base=build_catalog(REST)))
    truth = bounded_truth(emulator, START, END)
    _check(run, truth)
    every = {name: expected(emulator, STREAMS[name]) for name in ("messages", "contacts", "message_activity")}
    for name in ("messages", "contacts", "message_activity", "list_imports", "message_link_clickers"):
        assert 0 < len(truth[name]), name
    for name in ("messages", "contacts", "message_activity"):
        assert len(truth[name]) < len(every[name]), f"{name}: the window leaves records out"
    # A subscribed contact read again by its later resubscribe date although it first subscribed before start.
    assert any(c["resubscribeDate"] and not _in(c["subscribeDate"], START, END) for c in truth["contacts"])
    assert emulator.client_secret not in run.stdout + run.stderr
    # And one unsubscribed in the window although it subscribed before it.
    assert any(c["unsubscribeDate"] and not _in(c["subscribeDate"], START, END) for c in truth["contacts"])
