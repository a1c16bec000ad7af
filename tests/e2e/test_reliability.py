"""The real world, through the CLI: injected faults, wrong credentials, kill -9 and resume, bad
input, and secrets that must never show."""
import json
import os
import re
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import simplejson

from tap_listrak.streams import STREAMS
from tests.e2e.tap_runner import (TAP, assert_matches_truth, canonical, catalog_selecting, run_tap, tap_config,
                                  _write)

ALL = [stream.name for stream in STREAMS]
LISTED = ("messages", "message_deliveries")  # streams read per list that list every message, vanished or not
START = "2024-01-01T00:00:00Z"
SMALL = dict(lists=3, messages_per_list=6, recipients=40, subscribers_per_list=60, page_size=25)
USER, PASSWORD = "Secret-User-7f3a", "Pa55-w0rd-9c1e"  # distinctive, so a leak is findable

pytestmark = pytest.mark.slow


def _secret_emulator(emulator_factory, **knobs):
    return emulator_factory(**{**SMALL, "username": USER, "password": PASSWORD, **knobs})


def _config(emulator, **settings):
    return tap_config(emulator, START, username=USER, password=PASSWORD, **settings)


def _assert_no_secrets(*texts):
    for text in texts:
        assert USER not in text and PASSWORD not in text


def _critical_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("CRITICAL")]


# -- transient faults: retried until the record set is exactly the clean one ----------------------
@pytest.mark.parametrize("kind", ["fault500", "html503", "drop", "truncate", "stall", "throttle"])
def test_sync_through_ten_percent_faults_loses_nothing(emulator_factory, tmp_path, kind):
    emulator = _secret_emulator(emulator_factory, fault_rate=0.1, fault_kinds=(kind,), stall_seconds=2)
    config = _config(emulator, request_timeout=0.5, backoff_max_tries=10, backoff_base_seconds=0.01)
    run = run_tap(tmp_path, config, catalog=catalog_selecting(ALL))
    assert emulator.stats()["injected_faults"].get(kind, 0) >= 1  # ~10% of ~150 calls; the draw varies
    assert_matches_truth(run, emulator.truth(START), ALL)
    assert "Retrying" in run.stderr
    _assert_no_secrets(run.stdout, run.stderr)


@pytest.mark.parametrize("framing", ["gzip", "gzip-chunked"])
def test_compressed_replies_cut_off_are_retried_until_nothing_is_lost(emulator_factory, tmp_path, framing):
    emulator = _secret_emulator(emulator_factory, fault_rate=0.15, fault_kinds=("drop", "truncate"),
                                body_framing=framing)
    config = _config(emulator, backoff_max_tries=10, backoff_base_seconds=0.01)
    run = run_tap(tmp_path, config, catalog=catalog_selecting(ALL))
    assert emulator.stats()["injected_faults"].get("drop", 0) >= 1
    assert_matches_truth(run, emulator.truth(START), ALL)
    assert "Retrying" in run.stderr


def test_a_fault_that_outlasts_the_retries_stops_the_run_without_moving_state(emulator_factory, tmp_path):
    emulator = _secret_emulator(emulator_factory, fault_rate=1.0, fault_kinds=("fault500",))
    run = run_tap(tmp_path, _config(emulator, backoff_max_tries=3, backoff_base_seconds=0.01))
    assert run.returncode == 1
    assert len(_critical_lines(run.stderr)) == 1
    assert not run.records("lists")
    assert emulator.stats()["total_requests"] == 3
    assert all(not state["bookmarks"] for state in run.states)


def test_a_vanished_message_is_skipped_and_the_run_goes_on(emulator_factory, tmp_path):
    probe = _secret_emulator(emulator_factory)
    gone = probe.truth(START)["messages"][1]["MsgID"]
    emulator = _secret_emulator(emulator_factory, vanish_msg_ids=(gone,))
    run = run_tap(tmp_path, _config(emulator), catalog=catalog_selecting(ALL))
    truth = emulator.truth(START)
    assert run.returncode == 0, run.stderr
    assert f"{gone}" in run.stderr and "no longer exists" in run.stderr
    # The end-of-run summary counts it, and names it.
    (summary,) = re.findall(r"skipped \d+ units?: .*", run.stderr)
    assert str(gone) in summary
    for name in ALL:
        # The list reports (messages, deliveries) still list it; the per-message ones have nothing of it.
        expected = [r for r in truth[name] if r.get("MsgID") != gone or name in LISTED]
        assert canonical(run.records(name)) == canonical(expected), name
    assert any(r["MsgID"] == gone for r in run.records("message_deliveries"))
    assert not any(r["MsgID"] == gone for r in run.records("message_analytics") + run.records("message_links"))


# -- faults no retry can fix: one line, exit 1, quickly ---------------------------------------------
@pytest.mark.parametrize("what,knobs,config,fix", [
    ("wrong password", {}, {"password": "not-the-password"}, "API Access"),
    ("wrong user", {}, {"username": "someone-else"}, "username and password"),
    ("IP not authorized", {"prohibited_ip": True}, {}, "SOAP API IP Authorization"),
])
def test_refusals_fail_fast_after_one_request(emulator_factory, tmp_path, what, knobs, config, fix):
    emulator = _secret_emulator(emulator_factory, **knobs)
    started = time.monotonic()
    run = run_tap(tmp_path, {**_config(emulator), **config}, catalog=catalog_selecting(ALL))
    assert run.returncode == 1
    assert time.monotonic() - started < 10
    assert emulator.stats()["total_requests"] == 1
    (line,) = _critical_lines(run.stderr)
    assert fix in line
    assert not run.records("lists")
    _assert_no_secrets(run.stdout, run.stderr)


def test_discovery_with_wrong_credentials_fails_in_one_line(emulator_factory, tmp_path):
    emulator = _secret_emulator(emulator_factory)
    run = run_tap(tmp_path, {**_config(emulator), "password": "wrong"}, discover=True)
    assert run.returncode == 1 and run.stdout == ""
    assert "InvalidLogonAttempt" in _critical_lines(run.stderr)[0]
    _assert_no_secrets(run.stderr)


def test_secrets_stay_out_of_debug_logs(emulator_factory, tmp_path):
    emulator = _secret_emulator(emulator_factory, fault_rate=0.1, fault_kinds=("fault500",))
    env = {**os.environ, "TAP_LISTRAK_LOG_LEVEL": "DEBUG"}
    config_path = _write(tmp_path / "config.json", _config(emulator, backoff_base_seconds=0.01, backoff_max_tries=8))
    done = subprocess.run([str(TAP), "--config", config_path, "--catalog",
                           _write(tmp_path / "catalog.json", catalog_selecting(ALL))],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "DEBUG" in done.stderr and "Starting new HTTP connection (1): 127.0.0.1" in done.stderr  # the debug loggers did speak
    _assert_no_secrets(done.stdout, done.stderr)


# -- kill -9 and resume -------------------------------------------------------------------------------
def _run_until(tmp_path, config, catalog, state, should_kill, name):
    """Runs the tap, kills it with SIGKILL once should_kill(message) holds; returns every message read."""
    directory = tmp_path / name
    directory.mkdir()
    args = [str(TAP), "--config", _write(directory / "config.json", config),
            "--catalog", _write(directory / "catalog.json", catalog)]
    if state is not None:
        args += ["--state", _write(directory / "state.json", state)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    messages, killed = [], False
    for line in process.stdout:
        message = simplejson.loads(line, use_decimal=True)
        messages.append(message)
        if not killed and should_kill(message, messages):
            os.kill(process.pid, signal.SIGKILL)
            killed = True
    process.wait(timeout=60)
    return messages, killed


def _last_state(messages):
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    return states[-1] if states else None


def _records(messages, stream):
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


KILL_POINTS = {
    "early": lambda message, seen: len(seen) == 30,
    "mid-stream": lambda message, seen: sum(m["type"] == "RECORD" and m["stream"] == "message_opens"
                                            for m in seen) == 40,
    "between streams": lambda message, seen: message["type"] == "STATE"
                                             and message["value"]["currently_syncing"] == "message_reads",
    "in subscribed_contacts": lambda message, seen: message["type"] == "RECORD"
                                                    and message["stream"] == "subscribed_contacts",
    # The new kinds of unit: a list report beside subscribed_contacts, a batch of messages, a collected
    # windowed report, an account-wide one without a position.
    **{f"in {name}": (lambda message, seen, name=name: message["type"] == "RECORD" and message["stream"] == name)
       for name in ("list_removals", "message_analytics", "message_deliveries", "spam_complaints")},
}


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_and_resume_gives_every_record(emulator_factory, tmp_path, point):
    emulator = _secret_emulator(emulator_factory, latency_ms=2)
    config = _config(emulator, max_workers=2)
    catalog = catalog_selecting(ALL)
    first, killed = _run_until(tmp_path, config, catalog, None, KILL_POINTS[point], "first")
    assert killed, "the run finished before the kill point"
    state = _last_state(first)
    second, _ = _run_until(tmp_path, config, catalog, state, lambda m, s: False, "second")
    assert _last_state(second)["currently_syncing"] is None
    truth = emulator.truth(START)
    for name in ALL:
        union = canonical(_records(first, name)) | canonical(_records(second, name))
        assert union == canonical(truth[name]), name
    done_before = {name for name, mark in (state or {}).get("bookmarks", {}).items() if mark.get("complete")}
    assert not done_before & {m["stream"] for m in second if m["type"] == "RECORD"}, "a finished stream ran again"


def test_resume_after_the_interrupted_stream_was_deselected(emulator_factory, tmp_path):
    emulator = _secret_emulator(emulator_factory, latency_ms=2)
    config = _config(emulator, max_workers=2)
    first, killed = _run_until(tmp_path, config, catalog_selecting(ALL), None, KILL_POINTS["mid-stream"], "first")
    interrupted = _last_state(first)["currently_syncing"]
    assert killed and interrupted.startswith("message_")
    now = ["lists", "subscribed_contacts"] + [name for name in ("message_clicks", "message_bounces")
                                              if name != interrupted]
    second, _ = _run_until(tmp_path, config, catalog_selecting(now), _last_state(first), lambda m, s: False,
                           "second")
    assert interrupted not in {m["stream"] for m in second if m["type"] == "RECORD"}
    truth = emulator.truth(START)
    for name in now:
        union = canonical(_records(first, name)) | canonical(_records(second, name))
        assert union == canonical(truth[name]), name


# -- bad input: one line naming problem and fix, exit 1, nothing a target could take for data -----
def _assert_bad_input(run, *words):
    assert run.returncode == 1
    (line,) = _critical_lines(run.stderr)
    for word in words:
        assert word in line, line
    assert '"RECORD"' not in run.stdout and '"STATE"' not in run.stdout
    _assert_no_secrets(run.stdout, run.stderr)


@pytest.mark.parametrize("change,words", [
    ({"start_date": None}, ["start_date", "missing"]),
    ({"username": ""}, ["username"]),
    ({"start_date": "next tuesday"}, ["start_date", "ISO 8601"]),
    ({"request_timeout": "soon"}, ["request_timeout", "number"]),
    ({"max_workers": 0}, ["max_workers"]),
    ({"list_ids": "1,two"}, ["list_ids"]),
    ({"listrak_timezone": "Mars/Olympus"}, ["listrak_timezone", "IANA"]),
    ({"endpoint_url": "ftp://example.com"}, ["endpoint_url"]),
])
def test_bad_config(emulator, tmp_path, change, words):
    config = {**_config(emulator), **change}
    config = {key: value for key, value in config.items() if value is not None}
    run = run_tap(tmp_path, config)
    _assert_bad_input(run, *words)
    assert run.stdout == ""
    assert emulator.stats()["total_requests"] == 0


@pytest.mark.parametrize("which", ["config", "catalog", "state"])
def test_unreadable_json(emulator, tmp_path, which):
    paths = {"config": tmp_path / "config.json", "catalog": tmp_path / "catalog.json", "state": tmp_path / "state.json"}
    _write(paths["config"], _config(emulator))
    _write(paths["catalog"], catalog_selecting(ALL))
    _write(paths["state"], {})
    paths[which].write_text('{"oops": ', encoding="utf-8")
    done = subprocess.run([str(TAP), "--config", str(paths["config"]), "--catalog", str(paths["catalog"]),
                           "--state", str(paths["state"])], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    (line,) = _critical_lines(done.stderr)
    assert which in line and "not valid JSON" in line


@pytest.mark.parametrize("catalog,words", [
    ({"streams": [{"tap_stream_id": "message_forwards", "schema": {}, "metadata": []}]}, ["message_forwards"]),
    (catalog_selecting(["lists"], {"lists": {"ListColour"}}), ["ListColour"]),
    ({"streams": "all"}, ["streams"]),
])
def test_bad_catalog(emulator, tmp_path, catalog, words):
    if words == ["ListColour"]:  # a field the tap does not have, named in metadata
        catalog["streams"][0]["metadata"].append({"breadcrumb": ["properties", "ListColour"],
                                                  "metadata": {"selected": True}})
    _assert_bad_input(run_tap(tmp_path, _config(emulator), catalog=catalog), *words, "--discover")


@pytest.mark.parametrize("state,words", [
    ([1, 2], ["state", "object"]),
    ({"bookmarks": []}, ["bookmarks"]),
    ({"bookmarks": {"message_opens": {"run_start": "yesterday"}}}, ["message_opens.run_start"]),
    ({"currently_syncing": 7}, ["currently_syncing"]),
])
def test_bad_state(emulator, tmp_path, state, words):
    _assert_bad_input(run_tap(tmp_path, _config(emulator), state=state), *words)


class _FakeEndpoint(BaseHTTPRequestHandler):
    """An endpoint that is not Listrak: answers every POST with a fixed body."""
    body, status, content_type = b"", 200, "text/html"

    def do_POST(self):  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


WRONG_CONTRACT = (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
                  b'<GetContactListCollectionResponse xmlns="http://webservices.listrak.com/v31/">'
                  b'<GetContactListCollectionResult><WSContactList><ListName>no id</ListName></WSContactList>'
                  b'</GetContactListCollectionResult></GetContactListCollectionResponse></soap:Body></soap:Envelope>')


@pytest.mark.parametrize("body,content_type,words", [
    (b"<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>", "text/html", ["HTML", "endpoint_url"]),
    (b'{"error": "not here"}', "application/json", ["endpoint_url"]),
    (WRONG_CONTRACT, "text/xml", ["ListID", "contract"]),
])
def test_an_endpoint_that_is_not_listrak(tmp_path, emulator, body, content_type, words):
    handler = type("Handler", (_FakeEndpoint,), {"body": body, "content_type": content_type})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = {**_config(emulator), "endpoint_url": f"http://127.0.0.1:{server.server_port}/x.asmx",
                  "backoff_base_seconds": 0.01}
        run = run_tap(tmp_path, config)
    finally:
        server.shutdown()
    _assert_bad_input(run, *words)


def test_tls_verification_stays_on(tmp_path, emulator):
    """An https endpoint with a certificate nobody vouches for is refused, not retried, not trusted."""
    import ssl
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    handler = type("Handler", (_FakeEndpoint,), {"body": WRONG_CONTRACT, "content_type": "text/xml"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = {**_config(emulator), "endpoint_url": f"https://127.0.0.1:{server.server_port}/v31/x.asmx"}
        started = time.monotonic()
        run = run_tap(tmp_path, config)
    finally:
        server.shutdown()
    _assert_bad_input(run, "TLS verification")
    assert time.monotonic() - started < 10
