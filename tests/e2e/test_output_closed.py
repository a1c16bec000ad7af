"""End to end: the target stops reading (`tap-listrak … | head -1`). The run ends at once with one
clear CRITICAL line and a non-zero exit, and sends no more requests."""
import fcntl
import os
import subprocess

import pytest

from tests.e2e.tap_runner import TAP, _write, catalog_selecting, tap_config

START = "2024-01-01T00:00:00Z"
LISTS, PAGE_SIZE = 3, 25

pytestmark = pytest.mark.slow


def closed_after_one_line(emulator, tmp_path, args=()) -> tuple[bytes, int, str]:
    """Runs the tap into a pipe whose reader takes one line and goes away, as `head -1` does:
    the first line, the exit status, stderr."""
    args = [str(TAP), "--config", _write(tmp_path / "config.json", tap_config(emulator, START)), *args]
    # stdout buffered, as a user's shell starts it (PYTHONUNBUFFERED would write each line at once)
    environ = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)  # the output never fits, whatever its size
    with open(tmp_path / "stderr", "w+", encoding="utf-8") as stderr, open(read_end, "rb", buffering=0) as reader:
        tap = subprocess.Popen(args, stdout=write_end, stderr=stderr, env=environ)
        os.close(write_end)
        first = reader.readline()  # byte by byte: nothing past the line is taken from the pipe
        reader.close()
        returncode = tap.wait(timeout=60)
        stderr.seek(0)
        return first, returncode, stderr.read()


def assert_one_clear_line(returncode: int, log: str) -> None:
    assert returncode == 1, log
    critical = [line for line in log.splitlines() if line.startswith("CRITICAL")]
    assert len(critical) == 1 and "the target stopped reading the tap's output (broken pipe)" in critical[0], log
    assert "Traceback" not in log and "please report it" not in log and "Exception ignored" not in log, log


@pytest.mark.parametrize("contacts, latency_ms, most_requests", [
    # Far more pages than the pool reads ahead of the one being written: the workers must stop.
    (3000, 0, 40),
    # A few short pages, each a while after the last: the first write after the reader left fails
    # with its lines still in stdout's buffer, which the interpreter flushes once more at exit.
    (10, 300, None),
], ids=["many pages", "short pages, slow replies"])
def test_a_target_that_stops_reading_ends_the_sync_with_one_clear_line(emulator_factory, tmp_path, contacts,
                                                                       latency_ms, most_requests):
    emulator = emulator_factory(lists=LISTS, messages_per_list=2, recipients=10, page_size=PAGE_SIZE,
                                subscribers_per_list=contacts, latency_ms=latency_ms)
    catalog = _write(tmp_path / "catalog.json", catalog_selecting(["subscribed_contacts"]))
    first, returncode, log = closed_after_one_line(emulator, tmp_path, ("--catalog", catalog))
    assert first.startswith(b'{"type":"SCHEMA"')
    assert_one_clear_line(returncode, log)
    if most_requests:  # the workers stopped: nowhere near the 363 pages a whole sync asks for
        assert sum(emulator.stats()["requests"].values()) <= most_requests


def test_a_target_that_stops_reading_the_catalog_ends_discovery_with_one_clear_line(emulator, tmp_path):
    first, returncode, log = closed_after_one_line(emulator, tmp_path, ("--discover",))
    assert first == b"{\n"
    assert_one_clear_line(returncode, log)
