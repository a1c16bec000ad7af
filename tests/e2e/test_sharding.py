"""End to end: an account split by `list_ids` into shards, each shard its own `tap-listrak` process
with its own state file, all running at the same time against one Listrak (docs/scaling.md).

The union of the shards' records is one unsharded run's records, stream by stream, and each
shard's STATE only ever speaks of its own lists and of its own state file."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import simplejson

from tap_listrak.streams import STREAMS
from tests.e2e.tap_runner import TAP, TapRun, assert_matches_truth, canonical, catalog_selecting, tap_config

pytestmark = pytest.mark.slow

ALL = [stream.name for stream in STREAMS]
START, END = "2022-01-01T00:00:00Z", "2027-01-01T00:00:00Z"
# 4 lists: ListID = 5001 + 11·i; the last one has subscribers but no messages.
DATASET = dict(lists=4, messages_per_list=6, recipients=40, subscribers_per_list=60, page_size=25)
SHARDS = {"a": [5001, 5023], "b": [5012, 5034]}
# Each shard runs 2 requests at a time, each held 20 ms: more than 2 in flight at once at the
# emulator can only mean both shards were calling it at the same time.
SHARD_WORKERS, LATENCY_MS = 2, 20


def start_tap(workdir: Path, config: dict, state: dict | None = None) -> tuple[subprocess.Popen, Path, Path]:
    """Starts `tap-listrak` on every stream without waiting; stdout and stderr go to files."""
    workdir.mkdir()
    args = [str(TAP), "--config", _write(workdir / "config.json", config),
            "--catalog", _write(workdir / "catalog.json", catalog_selecting(ALL))]
    if state is not None:
        args += ["--state", _write(workdir / "state.json", state)]
    out, err = workdir / "stdout", workdir / "stderr"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        return subprocess.Popen(args, stdout=stdout, stderr=stderr), out, err


def finish(started: tuple[subprocess.Popen, Path, Path], timeout: float = 600) -> TapRun:
    process, out, err = started
    process.wait(timeout=timeout)
    stdout = out.read_text(encoding="utf-8")
    run = TapRun(process.returncode, stdout, err.read_text(encoding="utf-8"))
    run.messages = [simplejson.loads(line, use_decimal=True) for line in stdout.splitlines() if line]
    return run


def _write(path: Path, value) -> str:
    path.write_text(json.dumps(value), encoding="utf-8")
    return str(path)


def list_ids_in_positions(state: dict) -> set[int]:
    """The ListIDs a STATE's progress names: every position starts with its unit's ListID."""
    return {bookmark["position"][0] for bookmark in state.get("bookmarks", {}).values()
            if isinstance(bookmark, dict) and bookmark.get("position")}


def test_shards_running_at_once_give_the_unsharded_records(emulator_factory, tmp_path):
    emulator = emulator_factory(**DATASET, latency_ms=LATENCY_MS)
    assert [record["ListID"] for record in emulator.truth(START, END)["lists"]] == [5001, 5012, 5023, 5034]

    # One state file per shard, each carrying a key of its own: never one file for two shards.
    shards = {name: start_tap(tmp_path / f"shard-{name}",
                              tap_config(emulator, START, end_date=END, list_ids=ids, max_workers=SHARD_WORKERS),
                              state={"bookmarks": {}, "shard": name})
              for name, ids in SHARDS.items()}
    runs = {name: finish(started) for name, started in shards.items()}
    assert emulator.stats()["max_in_flight"] > SHARD_WORKERS  # the two processes did overlap
    emulator.reset()

    whole = finish(start_tap(tmp_path / "unsharded", tap_config(emulator, START, end_date=END)))
    assert_matches_truth(whole, emulator.truth(START, END), ALL)

    for name, run in runs.items():
        assert run.returncode == 0, run.stderr[-3000:]
        assert_matches_truth(run, emulator.truth(START, END, list_ids=SHARDS[name]), ALL)
    for stream in ALL:
        union = canonical(runs["a"].records(stream)) + canonical(runs["b"].records(stream))
        assert union == canonical(whole.records(stream)), stream
        assert union, f"{stream}: no records, the comparison would prove nothing"

    for name, run in runs.items():
        other = next(shard for shard in SHARDS if shard != name)
        positions = set().union(*(list_ids_in_positions(state) for state in run.states))
        assert positions and positions <= set(SHARDS[name]), (name, positions)
        assert not positions & set(SHARDS[other])
        final = run.states[-1]
        assert final["shard"] == name  # its own state file went through, and only that one
        assert final["currently_syncing"] is None and not list_ids_in_positions(final)
