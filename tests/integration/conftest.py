"""Fixtures for running the tap with real Singer tools: a private PostgreSQL server
(tests/integration/pg_server.sh) for the whole test session."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

PG_SERVER = Path(__file__).with_name("pg_server.sh")


@pytest.fixture(scope="session")
def postgres():
    """A throw-away PostgreSQL server on 127.0.0.1 for this test session: dict(host, port, user).

    Installs Debian's postgresql first if it is missing (root only); stops and deletes the
    cluster at the end of the session.
    """
    done = subprocess.run(["bash", str(PG_SERVER), "start"], capture_output=True, text=True, timeout=600)
    if done.returncode == 3:
        pytest.skip(done.stderr.strip())
    assert done.returncode == 0, f"pg_server.sh start failed:\n{done.stderr}"
    info = dict(line.split("=", 1) for line in done.stdout.split() if "=" in line)
    try:
        yield {"host": info["PGHOST"], "port": int(info["PGPORT"]), "user": info["PGUSER"], "dbname": "postgres"}
    finally:
        subprocess.run(["bash", str(PG_SERVER), "stop", info["PGROOT"]], timeout=120, check=False)
