"""The tap's output of a full sync (all eighteen streams) accepted by Singer's own checker,
singer-check-tap, and by a Singer SDK target, meltanolabs-target-csv."""
from __future__ import annotations

import csv
import datetime as dt
import json
import re
import subprocess
from collections import Counter

import pytest

from tap_listrak.streams import STREAMS
from tests.e2e.tap_runner import TAP, tap_config
from tests.integration.helpers import assert_finished_state, catalog_of, tool

pytestmark = pytest.mark.slow

ALL = [stream.name for stream in STREAMS]
START = "2024-01-01T00:00:00Z"


def full_sync(emulator, tmp_path, streams=ALL) -> bytes:
    config, catalog = tmp_path / "tap.json", tmp_path / "catalog.json"
    config.write_text(json.dumps(tap_config(emulator, START)))
    catalog.write_text(json.dumps(catalog_of(streams)))
    done = subprocess.run([str(TAP), "--config", str(config), "--catalog", str(catalog)],
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return done.stdout


def summary_counts(output: str) -> dict[str, int]:
    """singer-check-tap's 'Details by stream' table: stream -> records."""
    return {match[1]: int(match[2]) for match in re.finditer(r"^\| (\w+)\s+\| (\d+)\s+\| \d+\s+\|$", output, re.M)}


def test_singer_check_tap_accepts_a_full_sync(emulator, tmp_path):
    check = tool("singer-tools", "singer-check-tap")
    output = full_sync(emulator, tmp_path)
    done = subprocess.run([str(check)], input=output, capture_output=True, cwd=tmp_path, timeout=300)
    report = done.stdout.decode()
    assert done.returncode == 0, report + done.stderr.decode()[-3000:]
    assert "The output is valid." in report
    truth = emulator.truth(START)
    assert summary_counts(report) == {name: len(truth[name]) for name in ALL}


def test_singer_check_tap_accepts_a_rerun_with_the_last_state(emulator, tmp_path):
    """No catalog (the default streams), then again with the last STATE of the first run: what
    `singer-check-tap --tap` does, done here by hand because that mode of singer-tools 0.4.1 races
    (it returns the reader thread's summary without joining it, so a quick tap gets None)."""
    check = tool("singer-tools", "singer-check-tap")
    config = tmp_path / "tap.json"
    config.write_text(json.dumps(tap_config(emulator, START)))
    truth = emulator.truth(START)
    defaults = {stream.name: len(truth[stream.name]) for stream in STREAMS if stream.selected_by_default}
    args = [str(TAP), "--config", str(config)]
    for run in (1, 2):
        done = subprocess.run(args, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        checked = subprocess.run([str(check)], input=done.stdout, capture_output=True, cwd=tmp_path, timeout=300)
        report = checked.stdout.decode()
        assert checked.returncode == 0 and "The output is valid." in report, report + checked.stderr.decode()
        assert summary_counts(report) == defaults, f"run {run}"
        messages = [json.loads(line) for line in done.stdout.decode().splitlines() if line]
        states = [message["value"] for message in messages if message["type"] == "STATE"]
        (tmp_path / "state.json").write_text(json.dumps(states[-1]))
        args = [str(TAP), "--config", str(config), "--state", str(tmp_path / "state.json")]


def test_meltanolabs_target_csv_loads_a_full_sync(emulator, tmp_path):
    target = tool("meltanolabs-target-csv", "target-csv")
    output = full_sync(emulator, tmp_path)
    out_dir = tmp_path / "csv"
    config = tmp_path / "target.json"
    config.write_text(json.dumps({"output_path": str(out_dir), "validate_records": True}))
    done = subprocess.run([str(target), "--config", str(config)], input=output, capture_output=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    states = [json.loads(line) for line in done.stdout.decode().splitlines() if line.strip()]
    assert states
    assert_finished_state(states[-1], ALL)

    truth = emulator.truth(START)
    for stream in STREAMS:
        path = out_dir / f"{stream.name}.csv"
        if not truth[stream.name]:
            continue
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
        assert set(reader.fieldnames) == set(stream.schema["properties"]), stream.name
        assert len(rows) == len(truth[stream.name]), stream.name
        key = _key_of(stream)
        assert Counter(map(key, rows)) == Counter(map(key, truth[stream.name])), stream.name


def _key_of(stream):
    """A record's key properties as comparable text (CSV holds text; dates in the target's form)."""
    date_fields = {name for name, prop in stream.schema["properties"].items() if prop.get("format") == "date-time"}

    def key(record: dict) -> tuple:
        parts = []
        for name in stream.key_properties:
            value = record[name]
            if name in date_fields and value not in (None, ""):
                value = dt.datetime.fromisoformat(str(value)).astimezone(dt.timezone.utc).isoformat()
            parts.append("" if value is None else str(value))
        return tuple(parts)

    return key
