"""Incremental replication through the CLI, against an emulator whose clock moves between runs.

The guarantee: the records of a full-table run followed by incremental runs, de-duplicated on
their keys (the last one kept), equal what one full-table run at the time of the last run returns,
as long as Listrak's reporting delay stays within incremental_lookback_hours."""
import datetime as dt
import os
import signal
import subprocess

import pytest
import simplejson

from tap_listrak.streams import STREAMS, STREAMS_BY_NAME
from tests.e2e.tap_runner import TAP, _write, canonical, catalog_selecting, run_tap, tap_config

ALL = [stream.name for stream in STREAMS]
INCREMENTAL = [stream.name for stream in STREAMS if stream.replication_key]
START = "2024-01-01T00:00:00Z"
ACCOUNT = dict(lists=3, messages_per_list=10, recipients=40, subscribers_per_list=80, page_size=25,
               first_date="2023-12-01", last_date="2024-03-31")
CLOCKS = ["2024-02-01T00:00:00Z", "2024-02-09T06:30:00Z", "2024-02-10T05:00:00Z", "2024-03-02T18:00:00Z"]

pytestmark = pytest.mark.slow


def _at(emulator, tmp_path, clock, delay, state, catalog, name, **settings):
    emulator.set_clock(as_of=clock, reporting_delay_hours=delay)
    directory = tmp_path / name
    directory.mkdir()
    run = run_tap(directory, tap_config(emulator, START, end_date=clock, **settings), catalog=catalog, state=state)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def _key(stream: str, record: dict) -> tuple:
    return tuple(record[field] for field in STREAMS_BY_NAME[stream].key_properties)


def _deduplicated(runs, stream) -> list[dict]:
    latest = {}
    for run in runs:
        for record in run.records(stream):
            latest[_key(stream, record)] = record
    return list(latest.values())


def _nightly(emulator, tmp_path, delay, **settings):
    """A full-table run at CLOCKS[0], then incremental runs at the later clocks, each with the last state."""
    runs = [_at(emulator, tmp_path, CLOCKS[0], delay, None, catalog_selecting(ALL), "t0", **settings)]
    for index, clock in enumerate(CLOCKS[1:], 1):
        state = runs[-1].states[-1]
        runs.append(_at(emulator, tmp_path, clock, delay, state, catalog_selecting(ALL, incremental=INCREMENTAL),
                        f"t{index}", **settings))
    return runs


def test_incremental_runs_add_up_to_the_full_run_at_the_last_clock(emulator_factory, tmp_path):
    emulator = emulator_factory(**ACCOUNT)
    runs = _nightly(emulator, tmp_path, delay=6)
    truth = emulator.truth(START, end_date=CLOCKS[-1])
    for stream in ALL:
        assert canonical(_deduplicated(runs, stream)) == canonical(truth[stream]), stream
    # Each incremental run read only its window: far fewer event records than the full run.
    full, nightly = runs[0], runs[2]
    assert 0 < len(nightly.records("message_opens")) < len(full.records("message_opens")) / 4
    bookmarks = runs[-1].states[-1]["bookmarks"]
    assert {name: mark["replication_key_value"] for name, mark in bookmarks.items()} == {
        name: "2024-03-02T18:00:00.000000Z" for name in INCREMENTAL}
    assert "INCREMENTAL from 2024-02-08T06:30:00.000000Z" in runs[2].stderr  # bookmark less 24 h


def test_a_delay_beyond_the_lookback_misses_exactly_the_records_it_hides(emulator_factory, tmp_path):
    """The guarantee's boundary: with a 48 h delay and a 24 h lookback, an event dated in
    (clock − 48 h, clock − 24 h) of an intermediate run was not reported yet at that run, and is
    before the next run's start."""
    emulator = emulator_factory(**ACCOUNT)
    runs = _nightly(emulator, tmp_path, delay=48)
    truth = emulator.truth(START, end_date=CLOCKS[-1])
    hours = dt.timedelta(hours=1)
    gaps = [(clock - 48 * hours, clock - 24 * hours) for clock in
            (dt.datetime.fromisoformat(text.replace("Z", "+00:00")) for text in CLOCKS[:-1])]
    missed_total = 0
    for stream in INCREMENTAL:
        date_field = STREAMS_BY_NAME[stream].event_date
        if date_field is None:
            continue  # sends are bounded by their message's send date, which has no reporting delay here
        got = {_key(stream, record) for record in _deduplicated(runs, stream)}
        missed = [record for record in truth[stream] if _key(stream, record) not in got]
        expected = [record for record in truth[stream]
                    if any(low < dt.datetime.fromisoformat(record[date_field].replace("Z", "+00:00")) < high
                           for low, high in gaps) and stream != "subscribed_contacts"]
        assert canonical(missed) == canonical(expected), stream
        missed_total += len(missed)
    assert missed_total > 0


def test_a_killed_incremental_run_resumes_with_nothing_lost(emulator_factory, tmp_path):
    emulator = emulator_factory(**ACCOUNT, latency_ms=2)
    first = _at(emulator, tmp_path, CLOCKS[0], 6, None, catalog_selecting(ALL), "full")
    emulator.set_clock(as_of=CLOCKS[1], reporting_delay_hours=6)
    config = tap_config(emulator, START, end_date=CLOCKS[1], max_workers=2)
    catalog = catalog_selecting(ALL, incremental=INCREMENTAL)
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
        if message["type"] == "STATE" and message["value"]["currently_syncing"] == "message_reads":
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    state = [m["value"] for m in killed_messages if m["type"] == "STATE"][-1]
    resumed = run_tap(tmp_path / "killed", config, catalog=catalog, state=state)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resuming with message_reads" in resumed.stderr
    one_go = _at(emulator, tmp_path, CLOCKS[1], 6, first.states[-1], catalog, "one_go")
    for stream in INCREMENTAL:
        union = canonical([m["record"] for m in killed_messages if m["type"] == "RECORD" and m["stream"] == stream]) \
            | canonical(resumed.records(stream))
        assert set(union) == set(canonical(one_go.records(stream))), stream


@pytest.mark.parametrize("old_state", [
    {"currently_syncing": None, "bookmarks": {}},  # what a finished run wrote before INCREMENTAL existed
    {"currently_syncing": None, "bookmarks": {"message_opens": {"run_start": "2023-01-01T00:00:00.000000Z",
                                                                "run_end": "2023-06-01T00:00:00.000000Z",
                                                                "complete": True}}},
])
def test_switching_to_incremental_with_a_state_of_no_bookmark_extracts_from_start_date(
        emulator_factory, tmp_path, old_state):
    emulator = emulator_factory(**ACCOUNT)
    run = _at(emulator, tmp_path, CLOCKS[1], 6, old_state, catalog_selecting(ALL, incremental=INCREMENTAL), "switch")
    truth = emulator.truth(START, end_date=CLOCKS[1])
    for stream in ALL:
        assert canonical(run.records(stream)) == canonical(truth[stream]), stream
    marks = run.states[-1]["bookmarks"]
    assert {name: marks[name]["replication_key_value"] for name in INCREMENTAL} == {
        name: "2024-02-09T06:30:00.000000Z" for name in INCREMENTAL}
