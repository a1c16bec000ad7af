"""A failure of the emulator's own code fails the test that used it, even when the client got over it."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import internal_errors_report
from tests.rest_emulator.__main__ import INTERNAL_ERRORS
from tests.rest_emulator.client import Api, request
from tests.rest_emulator.harness import RestEmulatorHandle

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]


def break_the_lists(handle) -> None:
    """The account raises on the first call only, as a bug would; a retry succeeds."""
    calls = []
    original = handle.account.lists

    def lists():
        calls.append(1)
        if len(calls) == 1:
            raise ZeroDivisionError("a bug in the account")
        return original()

    handle.account.lists = lists


def test_an_internal_error_is_a_500_and_is_recorded():
    with RestEmulatorHandle(lists=1) as handle:
        break_the_lists(handle)
        api = Api(handle)
        reply = api.get("/List")
        assert reply.status == 500 and reply.body["error"] == "ERROR_UNHANDLED_EXCEPTION"
        assert "Emulator internal error" in reply.body["message"]
        assert api.get("/List").status == 200
        report = internal_errors_report([handle])
    assert "failed internally 1 time(s)" in report and "ZeroDivisionError: a bug in the account" in report


def test_faults_and_refusals_are_not_internal_errors(rest_emulator_factory):
    handle = rest_emulator_factory(lists=1, fault_rate=1.0, fault_kinds=("500", "429", "truncate", "reset"))
    api = Api(handle)
    for path in ("/List", "/List/1", "/List/5001/Contact?count=0"):
        try:
            api.get(path)
        except Exception:  # a truncated or reset reply
            pass
    request(handle.base_url + "/List")
    assert handle.internal_errors() == []


def test_the_fixture_fails_the_test_at_teardown(pytester):
    pytester.makeconftest("from tests.conftest import rest_emulator_factory, rest_emulator  # noqa: F401")
    pytester.makepyfile(test_inner=textwrap.dedent("""
        from tests.rest_emulator.client import Api
        from tests.rest_emulator.test_internal_errors import break_the_lists

        def test_gets_over_a_500(rest_emulator):
            break_the_lists(rest_emulator)
            api = Api(rest_emulator)
            assert [api.get("/List").status for _ in range(2)] == [500, 200]

        def test_a_healthy_emulator(rest_emulator):
            assert Api(rest_emulator).get("/List").status == 200
    """))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1)
    output = result.stdout.str()
    assert "ERROR at teardown of test_gets_over_a_500" in output
    assert "ZeroDivisionError: a bug in the account" in output


def test_the_cli_prints_the_base_url_and_stops_on_sigterm():
    process = subprocess.Popen([sys.executable, "-m", "tests.rest_emulator", "--port", "0", "--lists", "2",
                                "--client-secret", "s3cret"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        base = process.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:") and base.endswith("/email/v1")

        class Handle:
            base_url, token_url = base, base.replace("/email/v1", "/OAuth2/Token")
            client_id, client_secret = "demo-client", "s3cret"

            def token(self):
                from tests.rest_emulator.client import token_request
                return token_request(self).body["access_token"]

        assert len(Api(Handle()).get("/List").body["data"]) == 2
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_the_cli_exits_non_zero_after_an_internal_error():
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys
        from tests.rest_emulator import __main__ as main
        from tests.rest_emulator.account import Account

        def lists(self):
            raise ZeroDivisionError("a bug in the account")

        Account.lists = lists
        sys.exit(main.main(["--port", "0", "--lists", "1"]))
    """)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = process.stdout.readline().strip()
        assert request(base + "/List").status == 401  # refused before any work: no failure yet
        from tests.rest_emulator.client import token_request

        class Handle:
            token_url = base.replace("/email/v1", "/OAuth2/Token")
            client_id, client_secret = "demo-client", "demo-secret"
        token = token_request(Handle()).body["access_token"]
        assert request(base + "/List", headers={"Authorization": f"Bearer {token}"}).status == 500
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == INTERNAL_ERRORS
    assert "ZeroDivisionError: a bug in the account" in process.stderr.read()


def test_cli_args_rebuild_the_same_emulator(rest_emulator_factory):
    handle = rest_emulator_factory(lists=2, timezone="UTC", max_count=10, scopes=("List",), fault_on=("*:3:500",))
    from tests.rest_emulator.__main__ import build_parser
    from tests.rest_emulator.options import specs_from_args
    dataset, server = specs_from_args(build_parser().parse_args(handle.cli_args()))
    assert dataset == handle.dataset and server == handle.server
