"""start_date, end_date and INCREMENTAL replication of the REST streams, through the CLI against the REST
emulator: what each stream's records are bounded by, under every answer the emulator can give to what
Listrak leaves open (range ends, the zone of request dates, which activity dateType=Activity matches)."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess

import pytest
import simplejson

from tap_listrak.catalog import build_catalog
from tap_listrak.streams import REST, REST_STREAMS, by_name
from tests.e2e.tap_runner import TAP, _write, canonical, catalog_selecting, run_tap
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


# -- INCREMENTAL: nightly runs against a clock that moves ------------------------------------------------------
NIGHTLY_START = "2023-04-01T00:00:00Z"
CLOCKS = ["2024-01-20T00:00:00Z", "2024-02-09T06:30:00Z", "2024-02-10T05:00:00Z", "2024-03-02T18:00:00Z",
          "2024-04-20T00:00:00Z"]


def _at(emulator, tmp_path, clock, state, catalog, name, **settings):
    emulator.set_clock(as_of=clock)
    directory = tmp_path / name
    directory.mkdir()
    run = run_tap(directory, rest_config(emulator, start_date=NIGHTLY_START, end_date=clock, **settings),
                  catalog=catalog, state=state)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def _key(name: str, record: dict) -> tuple:
    return tuple(record[field] for field in STREAMS[name].key_properties)


def _deduplicated(runs, name) -> list[dict]:
    latest = {}
    for run in runs:
        for record in run.records(name):
            latest[_key(name, record)] = record
    return list(latest.values())


def _catalog(incremental=()):
    return catalog_selecting(ALL, base=build_catalog(REST), incremental=incremental)


@pytest.mark.parametrize("activity_date_filter", ["first", "any"])
def test_nightly_incremental_runs_add_up_to_a_full_table_run(tmp_path, rest_emulator_factory, activity_date_filter):
    """A FULL_TABLE run, then INCREMENTAL runs at later clocks, each from the last state: de-duplicated on their
    keys (the last kept), their records equal one FULL_TABLE run at the last clock, whichever activity
    dateType=Activity matches. Matching only the first activity, later opens and clicks of a row are read by
    re-reading the rows sent in message_lookback_days before each run (the emulator's activity comes within 45
    days of a send); matching any, the default 30 days are enough."""
    emulator = rest_emulator_factory(**ACCOUNT, activity_date_filter=activity_date_filter)
    settings = {"message_lookback_days": 46} if activity_date_filter == "first" else {}
    runs = [_at(emulator, tmp_path, CLOCKS[0], None, _catalog(), "t0", **settings)]
    for index, clock in enumerate(CLOCKS[1:], 1):
        runs.append(_at(emulator, tmp_path, clock, runs[-1].states[-1], _catalog(INCREMENTAL), f"t{index}",
                        **settings))
    full = _at(emulator, tmp_path, CLOCKS[-1], None, _catalog(), "full", **settings)
    _check(full, bounded_truth(emulator, NIGHTLY_START, CLOCKS[-1]) if not settings else
           {name: full.records(name) for name in ALL})
    for name in ALL:
        assert canonical(_deduplicated(runs, name)) == canonical(full.records(name)), name
    # Each INCREMENTAL run read its window: far fewer rows than the full run (activity rows: those with activity
    # in it, and every row of the messages sent in the lookback before it).
    nightly = runs[2]
    for name in ("contacts", "message_link_clickers", "list_imports"):
        assert len(nightly.records(name)) < len(full.records(name)) / 3, name
    assert len(nightly.records("message_activity")) < len(full.records("message_activity")) * 2 / 3
    assert "contacts: INCREMENTAL from 2024-02-08T06:30:00.000000Z" in runs[2].stderr  # bookmark less 24 h
    marks = runs[-1].states[-1]["bookmarks"]
    assert {name: marks[name]["replication_key_value"] for name in INCREMENTAL} == {
        name: "2024-04-20T00:00:00.000000Z" for name in INCREMENTAL}
    # A contact first written subscribed, and unsubscribed in a later night, is written again then.
    states = {}
    for run in runs:
        for record in run.records("contacts"):
            states.setdefault(_key("contacts", record), []).append(record["subscriptionState"])
    assert any(seen[0] == "Subscribed" and seen[-1] == "Unsubscribed" for seen in states.values())
    # So is an activity row whose opens and clicks came after it was first written.
    rows = {}
    for run in runs:
        for record in run.records("message_activity"):
            rows.setdefault(_key("message_activity", record), []).append((record["open"], record["click"]))
    assert any(len(set(seen)) > 1 for seen in rows.values())


def test_a_killed_incremental_run_resumes_from_its_state_to_the_same_records(tmp_path, rest_emulator_factory):
    emulator = rest_emulator_factory(**ACCOUNT, latency_ms=3)
    first = _at(emulator, tmp_path, CLOCKS[0], None, _catalog(), "full")
    emulator.set_clock(as_of=CLOCKS[1])
    config = rest_config(emulator, start_date=NIGHTLY_START, end_date=CLOCKS[1], max_workers=2)
    catalog = _catalog(INCREMENTAL)
    directory = tmp_path / "killed"
    directory.mkdir()
    args = [str(TAP), "--config", _write(directory / "config.json", config), "--catalog",
            _write(directory / "catalog.json", catalog), "--state", _write(directory / "state.json",
                                                                           first.states[-1])]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    killed_messages = []
    for line in process.stdout:
        message = simplejson.loads(line, use_decimal=True)
        killed_messages.append(message)
        value = message["value"] if message["type"] == "STATE" else {}
        # Mid-stream: a unit of message_activity written, others not yet.
        if value.get("currently_syncing") == "message_activity" and \
                value["bookmarks"].get("message_activity", {}).get("position"):
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    state = [m["value"] for m in killed_messages if m["type"] == "STATE"][-1]
    resumed = run_tap(tmp_path / "killed", config, catalog=catalog, state=state)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resuming with message_activity" in resumed.stderr
    one_go = _at(emulator, tmp_path, CLOCKS[1], first.states[-1], catalog, "one_go")
    for name in ALL:
        union = canonical([m["record"] for m in killed_messages if m["type"] == "RECORD" and m["stream"] == name]) \
            | canonical(resumed.records(name))
        assert set(union) == set(canonical(one_go.records(name))), name
    assert resumed.states[-1]["bookmarks"] == one_go.states[-1]["bookmarks"]
