"""A failure of the emulator's own code fails the test that used it, even when the tap got over it
(the emulator answers it with a soap:Server fault, which the tap retries)."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

from tests.conftest import internal_errors_report
from tests.emulator import rawsoap
from tests.emulator.__main__ import INTERNAL_ERRORS
from tests.emulator.harness import EmulatorHandle

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]


def _break_the_lists(handle) -> None:
    """The generator raises, as a bug in it would: on the first call only, so a retry succeeds."""
    calls = []
    original = handle.data.lists

    def lists():
        calls.append(1)
        if len(calls) == 1:
            raise ZeroDivisionError("a bug in the generator")
        return original()

    handle.data.lists = lists


def test_an_internal_error_is_recorded_with_its_traceback():
    # Not the fixture's emulator: this one's error is expected, and checked here.
    with EmulatorHandle(lists=2) as handle:
        assert internal_errors_report([handle]) is None
        _break_the_lists(handle)
        status, _headers, body = rawsoap.call(handle.url, "GetContactListCollection")
        assert status == 500 and b"Emulator internal error" in body   # what a client sees: a fault it retries
        assert rawsoap.call(handle.url, "GetContactListCollection")[0] == 200
        report = internal_errors_report([handle])
    assert "failed internally 1 time(s)" in report
    assert "Traceback" in report and "ZeroDivisionError: a bug in the generator" in report
    assert "in lists" in report  # the frame that raised


def test_injected_faults_and_refusals_are_not_internal_errors(emulator_factory):
    handle = emulator_factory(lists=1, fault_rate=1.0, fault_kinds=("fault500", "throttle", "drop", "truncate"))
    calls = [("GetContactListCollection", None, {})] * 8 + [
        ("GetContactListCollection", None, {"password": "wrong"}),       # refused login
        ("ReportMessageContactSent", {"MsgID": 1, "Page": 0}, {}),        # bad request (or an injected fault)
        ("ReportMessageContactSent", {"MsgID": 1}, {})]                   # a required element missing
    for op, params, auth in calls:
        try:
            rawsoap.call(handle.url, op, params, **auth)
        except Exception:  # a dropped or truncated reply
            pass
    stats = handle.stats()
    assert stats["injected_faults_total"] >= 8 and stats["soap_faults"].get("InvalidLogonAttempt") == 1
    assert handle.internal_errors() == []


def test_a_failure_outside_the_soap_handler_is_recorded_too(monkeypatch):
    from tests.emulator import wire

    def broken(*args):
        raise RuntimeError("the help page broke")

    monkeypatch.setattr(wire, "help_page", broken)
    with EmulatorHandle(lists=1) as handle:
        try:
            urllib.request.urlopen(handle.url, timeout=5)
        except Exception:  # the connection closes without a reply
            pass
        (text,) = handle.internal_errors()
    assert "RuntimeError: the help page broke" in text


def test_the_fixture_fails_the_test_at_teardown(pytester):
    """A test whose emulator failed internally fails, though its own assertions all held."""
    pytester.makeconftest("from tests.conftest import emulator_factory, emulator  # noqa: F401")
    pytester.makepyfile(test_inner=textwrap.dedent("""
        from tests.emulator import rawsoap
        from tests.emulator.test_internal_errors import _break_the_lists

        def test_gets_over_a_fault(emulator):
            _break_the_lists(emulator)
            # A client that retries gets the lists the second time, and would pass.
            statuses = [rawsoap.call(emulator.url, "GetContactListCollection")[0] for _ in range(2)]
            assert statuses == [500, 200]

        def test_a_healthy_emulator(emulator):
            assert rawsoap.call(emulator.url, "GetContactListCollection")[0] == 200
    """))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1)
    output = result.stdout.str()
    assert "ERROR at teardown of test_gets_over_a_fault" in output
    assert "the emulator failed internally 1 time(s)" in output
    assert "ZeroDivisionError: a bug in the generator" in output and "Traceback" in output
    assert "test_a_healthy_emulator" not in output.split("short test summary info")[-1]


def test_the_emulator_process_exits_non_zero_after_an_internal_error():
    # `python -m tests.emulator` with a bug in its generator.
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys
        from tests.emulator import __main__ as main
        from tests.emulator.data import Dataset

        def lists(self):
            raise ZeroDivisionError("a bug in the generator")

        Dataset.lists = lists
        sys.exit(main.main(["--port", "0", "--lists", "1"]))
    """)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert rawsoap.call(url, "GetContactListCollection")[0] == 500
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == INTERNAL_ERRORS
    assert "ZeroDivisionError: a bug in the generator" in process.stderr.read()
