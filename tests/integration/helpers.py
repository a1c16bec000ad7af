"""Helpers for the integration tests: the tool virtualenvs that `make tools` builds under
.venv-tools/, and SQL through psql."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / ".venv-tools"


def tool(venv: str, executable: str) -> Path:
    """Path of a tool's executable in its own virtualenv; fails the test when it is not installed."""
    path = TOOLS / venv / "bin" / executable
    if not path.exists():
        pytest.fail(f"{path.relative_to(REPO)} is missing: run `make tools` (make test does)", pytrace=False)
    return path


def psql(pg: dict, sql: str) -> list[list[str]]:
    """Rows of a query, as text, through the server's own psql client."""
    env = dict(os.environ, PGHOST=pg["host"], PGPORT=str(pg["port"]), PGUSER=pg["user"], PGDATABASE=pg["dbname"])
    done = subprocess.run([str(pg["bin"] / "psql"), "-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def catalog_of(streams) -> dict:
    """The discovered catalog, as JSON (the form the tap reads), with exactly `streams` selected."""
    from tap_listrak.catalog import build_catalog
    from tests.e2e.tap_runner import catalog_selecting

    return catalog_selecting(streams, base=json.loads(json.dumps(build_catalog())))


def assert_finished_state(state: dict, streams) -> None:
    """The last STATE of a finished run: nothing syncing, no position, and each dated stream's replication
    bookmark (the run's end) only."""
    from tap_listrak.streams import STREAMS_BY_NAME

    assert state["currently_syncing"] is None
    assert {name: set(mark) for name, mark in state["bookmarks"].items()} == {
        name: {"replication_key", "replication_key_value"} for name in streams if STREAMS_BY_NAME[name].replication_key}
