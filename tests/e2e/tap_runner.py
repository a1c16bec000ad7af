"""Runs the installed `tap-listrak` executable as a subprocess and reads the Singer messages it
prints, so end-to-end tests assert on exactly what a target would receive."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import simplejson

from tap_listrak.catalog import build_catalog

TAP = Path(sys.executable).parent / "tap-listrak"
EMULATOR_USER, EMULATOR_PASSWORD = "demo-user", "demo-pass"


@dataclass
class TapRun:
    returncode: int
    stdout: str
    stderr: str
    messages: list[dict] = field(default_factory=list)

    def records(self, stream: str) -> list[dict]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream]

    @property
    def streams(self) -> set[str]:
        return {m["stream"] for m in self.messages if m["type"] == "RECORD"}

    @property
    def schemas(self) -> dict[str, dict]:
        return {m["stream"]: m for m in self.messages if m["type"] == "SCHEMA"}

    @property
    def states(self) -> list[dict]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]


def tap_config(emulator, start_date: str, **settings) -> dict:
    config = {"username": EMULATOR_USER, "password": EMULATOR_PASSWORD, "start_date": start_date,
              "endpoint_url": emulator.url, "request_timeout": 10, "backoff_base_seconds": 0.05}
    config.update(settings)
    return config


def run_tap(tmp_path: Path, config: dict, catalog: dict | None = None, state: dict | None = None,
            discover: bool = False, timeout: float = 600, extra_args: tuple = ()) -> TapRun:
    args = [str(TAP), "--config", _write(tmp_path / "config.json", config)]
    if discover:
        args.append("--discover")
    if catalog is not None:
        args += ["--catalog", _write(tmp_path / "catalog.json", catalog)]
    if state is not None:
        args += ["--state", _write(tmp_path / "state.json", state)]
    done = subprocess.run(args + list(extra_args), capture_output=True, text=True, timeout=timeout,
                          encoding="utf-8")
    run = TapRun(done.returncode, done.stdout, done.stderr)
    if not discover:
        run.messages = [simplejson.loads(line, use_decimal=True) for line in done.stdout.splitlines() if line]
    return run


def _write(path: Path, value) -> str:
    path.write_text(json.dumps(value), encoding="utf-8")
    return str(path)


def catalog_selecting(streams, deselected_fields: dict[str, set[str]] | None = None, base: dict | None = None,
                      incremental=()):
    """A catalog (the discovery output by default) with exactly `streams` selected, and `incremental`
    ones asking for INCREMENTAL replication."""
    catalog = base or build_catalog()
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if not item["breadcrumb"]:
                item["metadata"]["selected"] = entry["tap_stream_id"] in streams
                if entry["tap_stream_id"] in incremental:
                    item["metadata"]["replication-method"] = "INCREMENTAL"
            elif item["breadcrumb"][-1] in (deselected_fields or {}).get(entry["tap_stream_id"], ()):
                item["metadata"]["selected"] = False
    return catalog


def canonical(records) -> Counter:
    """Records as a multiset of canonical JSON texts; numbers compared exactly."""
    return Counter(simplejson.dumps(_exact(r), sort_keys=True, use_decimal=True) for r in records)


def _exact(value):
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    return value


def assert_matches_truth(run: TapRun, truth: dict[str, list[dict]], streams, fields: dict | None = None):
    """Zero missing, zero unexpected, equal values, for each stream."""
    assert run.returncode == 0, run.stderr[-3000:]
    for stream in streams:
        expected = truth[stream]
        if fields and stream in fields:
            expected = [{k: v for k, v in record.items() if k in fields[stream]} for record in expected]
        got, want = canonical(run.records(stream)), canonical(expected)
        missing, unexpected = want - got, got - want
        assert not missing and not unexpected, (
            f"{stream}: {sum(missing.values())} missing, {sum(unexpected.values())} unexpected of "
            f"{sum(want.values())}; e.g. missing {list(missing)[:2]} unexpected {list(unexpected)[:2]}")
