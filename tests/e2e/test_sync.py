"""End to end: the `tap-listrak` executable against the emulator on a real socket, its records
compared with the emulator's ground truth (zero missing, zero unexpected, equal values)."""
import json
from pathlib import Path

import pytest

from tap_listrak.streams import STREAMS, STREAMS_BY_NAME
from tests.conftest import SMALL_DATASET
from tests.e2e.tap_runner import assert_matches_truth, catalog_selecting, run_tap, tap_config

ALL = [stream.name for stream in STREAMS]
START = "2024-01-01T00:00:00Z"
REPO = Path(__file__).resolve().parents[2]

# Four runs are quick enough for `make test-fast` (-m "not slow"): discovery, every stream, one
# worker against the default pool, and the state; the rest are marked slow one by one.


def test_discovery_checks_credentials_and_prints_the_repo_catalog(emulator, tmp_path):
    run = run_tap(tmp_path, tap_config(emulator, START), discover=True)
    assert run.returncode == 0, run.stderr
    catalog = json.loads(run.stdout)
    assert [entry["tap_stream_id"] for entry in catalog["streams"]] == ALL
    assert catalog == json.loads((REPO / "catalog.json").read_text(encoding="utf-8"))
    assert emulator.stats()["requests"] == {"GetContactListCollection": 1}


def test_every_stream_selected(emulator, tmp_path):
    run = run_tap(tmp_path, tap_config(emulator, START), catalog=catalog_selecting(ALL))
    truth = emulator.truth(START)
    assert_matches_truth(run, truth, ALL)
    assert run.streams == {name for name in ALL if truth[name]}
    _assert_singer_order(run)
    # A send carries its message's SendDate, the date message_sends is bookmarked on.
    send_dates = {message["MsgID"]: message["SendDate"] for message in run.records("messages")}
    sends = run.records("message_sends")
    assert sends and {record["MsgID"] for record in sends} == set(send_dates)
    assert all(record["SendDate"] == send_dates[record["MsgID"]] is not None for record in sends)


@pytest.mark.slow
def test_max_workers_bounds_the_requests_in_flight_across_groups(emulator_factory, tmp_path):
    # Groups overlap on the pool, and a parent read (the message index, the delivery windows) may run
    # beside a group's units: the account still never sees more than max_workers requests at once.
    emulator = emulator_factory(latency_ms=20)
    run = run_tap(tmp_path, tap_config(emulator, START, max_workers=3), catalog=catalog_selecting(ALL))
    assert_matches_truth(run, emulator.truth(START), ALL)
    assert emulator.stats()["max_in_flight"] == 3


def test_sequential_and_concurrent_runs_emit_the_same_records(emulator_factory, tmp_path):
    # A little latency, so that the default pool really has requests in flight together; a fixed
    # end, so that both runs have the same window (and their states the same run_end).
    emulator = emulator_factory(**SMALL_DATASET, latency_ms=5)
    end = "2026-01-01T00:00:00Z"
    truth = emulator.truth(START, end_date=end)
    runs, in_flight = {}, {}
    for workers in (1, None):  # None: the default, max_workers=12
        settings = {"end_date": end} if workers is None else {"end_date": end, "max_workers": workers}
        (tmp_path / str(workers)).mkdir()
        emulator.reset()
        runs[workers] = run = run_tap(tmp_path / str(workers), tap_config(emulator, START, **settings),
                                      catalog=catalog_selecting(ALL))
        in_flight[workers] = emulator.stats()["max_in_flight"]
        assert_matches_truth(run, truth, ALL)
    assert in_flight[1] == 1 and 1 < in_flight[None] <= 12
    sequential, concurrent = runs[1], runs[None]
    lines = {workers: [line for line in run.stdout.splitlines() if line.startswith('{"type":"RECORD"')]
             for workers, run in runs.items()}
    assert len(lines[1]) == sum(len(records) for records in truth.values()) > 300
    assert sorted(lines[1]) == sorted(lines[None])
    # Equivalent states: the same bookmarks after the same units, and the same final state.
    assert sequential.states == concurrent.states and len(sequential.states) > 10


@pytest.mark.slow
def test_only_one_child_stream_selected(emulator, tmp_path):
    run = run_tap(tmp_path, tap_config(emulator, START), catalog=catalog_selecting(["message_clicks"]))
    assert_matches_truth(run, emulator.truth(START), ["message_clicks"])
    assert run.streams == {"message_clicks"}
    assert set(run.schemas) == {"message_clicks"}


@pytest.mark.slow
def test_deselected_fields_are_dropped_and_keys_kept(emulator, tmp_path):
    dropped = {"messages": {"Subject", "OrderTotal"}, "message_bounces": {"BounceDetail", "MsgID", "EmailAddress"}}
    run = run_tap(tmp_path, tap_config(emulator, START),
                  catalog=catalog_selecting(["messages", "message_bounces"], dropped))
    kept = {name: set(STREAMS_BY_NAME[name].schema["properties"]) - dropped[name]
            | set(STREAMS_BY_NAME[name].key_properties) for name in dropped}
    assert_matches_truth(run, emulator.truth(START), list(dropped), fields=kept)
    assert set(run.schemas["messages"]["schema"]["properties"]) == kept["messages"]
    assert "MsgID" in kept["message_bounces"] and "BounceDetail" not in kept["message_bounces"]


@pytest.mark.slow
def test_list_ids_restrict_every_stream(emulator, tmp_path):
    first_list = emulator.truth(START)["lists"][0]["ListID"]
    run = run_tap(tmp_path, tap_config(emulator, START, list_ids=[first_list]), catalog=catalog_selecting(ALL))
    truth = emulator.truth(START, list_ids=[first_list])
    assert_matches_truth(run, truth, ALL)
    assert {record["ListID"] for record in run.records("lists")} == {first_list}


@pytest.mark.slow
def test_no_catalog_syncs_the_default_streams(emulator, tmp_path):
    run = run_tap(tmp_path, tap_config(emulator, START))
    defaults = [stream.name for stream in STREAMS if stream.selected_by_default]
    assert_matches_truth(run, emulator.truth(START), defaults)
    assert set(run.schemas) == set(defaults)


@pytest.mark.slow
def test_test_messages_and_lookback_settings(emulator, tmp_path):
    config = tap_config(emulator, START, include_test_messages=True, message_lookback_days=60)
    run = run_tap(tmp_path, config, catalog=catalog_selecting(ALL))
    assert_matches_truth(run, emulator.truth(START, lookback_days=60, include_test_messages=True), ALL)


@pytest.mark.slow
@pytest.mark.parametrize("knobs", [
    {"range_ends": "exclusive"},
    {"range_ends": "start-exclusive", "event_date_format": "us"},
    {"range_ends": "end-exclusive", "event_date_format": "iso", "empty_result": "omitted"},
    {"page_size": 7},
    {"body_framing": "chunked"},
    {"body_framing": "gzip"},
    {"body_framing": "gzip-chunked", "page_size": 7},
], ids=lambda knobs: ",".join(f"{k}={v}" for k, v in knobs.items()))
def test_every_plausible_wire_form(emulator_factory, tmp_path, knobs):
    """The facts leave range ends, date forms, the empty result and the page size open, and an IIS
    server may compress and chunk its replies: all work."""
    emulator = emulator_factory(**knobs)
    run = run_tap(tmp_path, tap_config(emulator, START), catalog=catalog_selecting(ALL))
    assert_matches_truth(run, emulator.truth(START), ALL)


@pytest.mark.slow
def test_account_in_another_time_zone(emulator_factory, tmp_path):
    emulator = emulator_factory(timezone="America/New_York", range_ends="exclusive")
    run = run_tap(tmp_path, tap_config(emulator, START, listrak_timezone="America/New_York"),
                  catalog=catalog_selecting(ALL))
    assert_matches_truth(run, emulator.truth(START), ALL)


def test_state_is_emitted_per_unit_and_cleared_at_the_end(emulator, tmp_path):
    state_in = {"bookmarks": {"someone_elses": {"x": 1}}, "custom": [1, 2]}
    run = run_tap(tmp_path, tap_config(emulator, START), catalog=catalog_selecting(ALL), state=state_in)
    assert run.returncode == 0, run.stderr
    states = run.states
    assert len(states) > 10
    syncing = {state["currently_syncing"] for state in states} - {None}
    assert syncing == set(ALL)
    assert any("position" in state["bookmarks"].get("message_opens", {}) for state in states)
    last = states[-1]
    assert last["currently_syncing"] is None and last["custom"] == [1, 2]
    bookmarks = last["bookmarks"]
    assert bookmarks.pop("someone_elses") == {"x": 1}
    # Positions are cleared; what stays is each dated stream's replication bookmark: the run's end.
    ends = {mark["replication_key_value"] for mark in bookmarks.values()}
    assert len(ends) == 1 and ends.pop() > START
    assert {name: set(mark) for name, mark in bookmarks.items()} == {
        name: {"replication_key", "replication_key_value"} for name in ALL if STREAMS_BY_NAME[name].replication_key}


def _assert_singer_order(run):
    """Each stream's SCHEMA before its records; every record valid for the schema before it."""
    import jsonschema
    schemas = {}
    for message in run.messages:
        if message["type"] == "SCHEMA":
            schemas[message["stream"]] = message["schema"]
        elif message["type"] == "RECORD":
            jsonschema.validate(message["record"], schemas[message["stream"]],
                                format_checker=jsonschema.FormatChecker())


EVENT_DATES = {"messages": "SendDate", "message_opens": "OpenDate", "message_clicks": "ClickDate",
               "message_reads": "ReadDate", "message_unsubs": "RemovalDate", "message_bounces": "BounceDate",
               "subscribed_contacts": "AdditionDate"}


def _midnights(truth, streams) -> list[str]:
    return sorted({record[EVENT_DATES[name]] for name in streams for record in truth[name]
                   if (record[EVENT_DATES[name]] or "").endswith("T00:00:00.000000Z")})


@pytest.mark.slow
@pytest.mark.parametrize("range_ends", ["inclusive", "exclusive", "start-exclusive", "end-exclusive"])
def test_records_exactly_on_range_edges_and_window_boundaries(emulator_factory, tmp_path, range_ends):
    """start_date is a midnight on which a message was sent (so also a window boundary), end_date a
    midnight on which events happened: each record on an edge is in or out exactly once."""
    emulator = emulator_factory(lists=3, messages_per_list=20, recipients=40, subscribers_per_list=60,
                                page_size=25, range_ends=range_ends)
    wide = emulator.truth("2022-01-01T00:00:00Z")
    sends = _midnights(wide, ["messages"])
    start = sends[len(sends) // 3]
    end = next(day for day in _midnights(wide, EVENT_DATES) if day > start and day[:4] > start[:4])
    config = tap_config(emulator, start, end_date=end, interval_days=30, message_lookback_days=30)
    run = run_tap(tmp_path, config, catalog=catalog_selecting(ALL))
    truth = emulator.truth(start, end_date=end)
    on_edges = [r for name in EVENT_DATES for r in truth[name] if r[EVENT_DATES[name]] == start]
    assert on_edges, "the dataset must hold records exactly on start_date"
    assert_matches_truth(run, truth, ALL)
