"""Fixtures for running the tap with real tools: a private PostgreSQL server
(tests/integration/pg_server.sh) for the whole test session.

These tests never skip: a tool that is missing or fails to start is a failure, so that a run
that did not exercise the real tools cannot pass for one that did."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

PG_SERVER = Path(__file__).with_name("pg_server.sh")


@pytest.fixture(scope="session")
def postgres():
    """A throw-away PostgreSQL server on 127.0.0.1 for this test session: dict(host, port, user, dbname, bin).

    Its binaries come from .venv-tools/pgserver (`make tools`); the cluster is stopped and deleted
    at the end of the session.
    """
    done = subprocess.run(["bash", str(PG_SERVER), "start"], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.fail(done.stderr.strip() or "pg_server.sh start failed", pytrace=False)
    info = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    try:
        yield {"host": info["PGHOST"], "port": int(info["PGPORT"]), "user": info["PGUSER"], "dbname": "postgres",
               "bin": Path(info["PGBIN"])}
    finally:
        subprocess.run(["bash", str(PG_SERVER), "stop", info["PGROOT"]], timeout=120, check=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skip in these tests (a skip marker, pytest.skip, importorskip) is reported as a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"integration tests may not skip: {reason}"
