"""The HTTP side: WSDL, SOAP POSTs, authentication, latency, injected faults, statistics, the clock.

One thread per connection (ThreadingHTTPServer, keep-alive), so a stalled reply never holds up other
clients. Every reply is written with one send and TCP_NODELAY, so no Nagle/delayed-ACK pause slows a
benchmark; only a flood (--flood-bytes) is streamed, chunk by chunk, so its size costs no memory. Nothing a client sends can stop the server: every failure becomes a reply.

A failure of the emulator itself (an exception in its own code, never an injected fault, which is a reply it
chose) becomes a soap:Server fault too, which a client retries, so it is also kept in `internal_errors`, with
its traceback: the tests' fixtures fail a test whose emulator had any (tests/conftest.py).
"""
from __future__ import annotations

import gzip
import json
import re
import socket
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from . import wire
from .chaos import FaultPlan
from .data import Dataset, cutoffs
from .request import APP, SoapError, parse_call, refusal
from .service import Service
from .spec import OPERATIONS, DatasetSpec, ServerSpec

SERVICE_PATH = "/v31/IntegrationService.asmx"
WSDL_FILE = Path(__file__).resolve().parents[2] / "tap_listrak" / "wsdl" / "IntegrationService.wsdl"
MAX_BODY = 32 * 1024 * 1024
XML_TYPE = "text/xml; charset=utf-8"
_ADDRESS = re.compile(r'(<soap(?:12)?:address\s+location=")[^"]*(")')

# Wording of the web method's faults the facts leave open (see README.md), after request.APP.
INVALID_LOGON = "[InvalidLogonAttempt] Invalid login attempt."
LOGIN_EXCEEDED = "[LoginAttemptsExceeded] Login attempts exceeded. The account is locked."
# Injected kinds answered by a soap:Server fault: kind -> text.
INJECTED_FAULTS = {
    "fault500": "Timeout expired.  The timeout period elapsed prior to completion of the operation or the server is "
                "not responding.",
    "throttle": "[RequestLimitExceeded] The request limit for this account has been exceeded. Please try again later.",
    # SQL Server's deadlock text (repeated in detail): transient, yet it holds "404", the token of a vanished message.
    "deadlock404": "Transaction (Process ID 404) was deadlocked on lock resources with another process and has been "
                   "chosen as the deadlock victim. Rerun the transaction.",
    "auth": INVALID_LOGON,
    "locked": LOGIN_EXCEEDED,
}
FATAL_KINDS = ("auth", "locked")
CLOCK_KNOBS = ("as_of", "reporting_delay_hours")


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = XML_TYPE
    mode: str = "send"  # send | drop (close mid-body) | truncate (already cut, length matches)
    stall: float = 0.0
    seq: int = 0  # arrival number of the data call whose injected fault this reply carries (0: none)
    stream: Iterator[bytes] | None = None  # the body in chunks (then body is unused and length declared)
    length: int = 0


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests = Counter()
            self.records = Counter()
            self.injected = Counter()
            self.soap_faults = Counter()
            self.in_flight = 0
            self.max_in_flight = 0
            self.arrivals = 0  # SOAP POSTs
            self.flood_bytes_sent = 0
            # First injected fault (of any kind; of a fatal kind): [arrival number, arrivals when sent].
            self.first = {"injected": [None, None], "fatal": [None, None]}

    def count(self, counter: str, key: str, amount: int = 1) -> None:
        with self._lock:
            getattr(self, counter)[key] += amount

    def injected_fault(self, kind: str, seq: int) -> None:
        with self._lock:
            self.injected[kind] += 1
            for name in ("injected", "fatal") if kind in FATAL_KINDS else ("injected",):
                if self.first[name][0] is None or seq < self.first[name][0]:
                    self.first[name] = [seq, None]

    def reply_sent(self, seq: int) -> None:
        """The reply of data call `seq` is being handed to the socket: calls arriving from now on come after
        it. Taken just before the write, since its client may answer before this thread runs again."""
        with self._lock:
            for entry in self.first.values():
                if entry[0] == seq and entry[1] is None:
                    entry[1] = self.arrivals

    def flooded(self, amount: int) -> None:
        with self._lock:
            self.flood_bytes_sent += amount

    def enter(self) -> None:
        with self._lock:
            self.arrivals += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "total_requests": sum(self.requests.values()),
                "requests": dict(self.requests),
                "records_served": dict(self.records),
                "injected_faults": dict(self.injected),
                "injected_faults_total": sum(self.injected.values()),
                "soap_faults": dict(self.soap_faults),
                "max_in_flight": self.max_in_flight,
                **self._first("injected"), **self._first("fatal"),
                "flood_bytes_sent": self.flood_bytes_sent,
            }

    def _first(self, name: str) -> dict:
        seq, sent_at = self.first[name]
        return {f"first_{name}_fault_at": seq,
                f"requests_after_first_{name}_fault": None if sent_at is None else self.arrivals - sent_at}


class Emulator:
    """One emulated service; start() serves it from a background thread."""

    def __init__(self, dataset: DatasetSpec | None = None, server: ServerSpec | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.dataset_spec = dataset or DatasetSpec()
        self.server_spec = server or ServerSpec()
        self.data = Dataset(self.dataset_spec)
        self.service = Service(self.data, self.server_spec)
        self.faults = FaultPlan(self.server_spec, self.dataset_spec.seed)
        self.counters = Stats()
        self.stopping = threading.Event()
        self._auth_lock = threading.Lock()
        self._clock_lock = threading.Lock()
        self._bad_logins = 0
        self._locked = False
        self._log_lock = threading.Lock()  # internal_errors and calls
        self.internal_errors: list[str] = []  # tracebacks of the emulator's own failures, in order
        self.calls: list[tuple[str, dict]] | None = None  # every SOAP call read, once record_calls() is on
        self.httpd = _HTTPServer((host, port), _Handler)
        self.httpd.emulator = self
        bound_host, bound_port = self.httpd.server_address[:2]
        self.url = f"http://{bound_host}:{bound_port}{SERVICE_PATH}"
        self.wsdl_url = self.url + "?WSDL"
        wsdl = WSDL_FILE.read_text(encoding="utf-8")
        self.wsdl = _ADDRESS.sub(lambda m: m.group(1) + self.url + m.group(2), wsdl).encode("utf-8")
        self._thread: threading.Thread | None = None

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "Emulator":
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"emulator-{self.url}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # wakes stalled and delayed replies
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
        self.httpd.server_close()

    def stats(self) -> dict:
        return self.counters.snapshot()

    def set_clock(self, **changes) -> dict:
        """Move the clock (as_of, reporting_delay_hours) for every following request; -> its new settings.

        Only the clock knobs of server_spec change at run time; the service takes them per call, so the
        generated data and its caches stay valid. Raises ValueError or TypeError on a bad value.
        """
        unknown = set(changes) - set(CLOCK_KNOBS)
        if unknown:
            raise ValueError(f"unknown clock setting(s): {', '.join(sorted(unknown))}")
        with self._clock_lock:
            self.server_spec = replace(self.server_spec, **changes)  # validated and parsed by ServerSpec
            return self.server_spec.clock()

    def reset(self) -> None:
        """Clear statistics, the calls recorded, fault counters and the lockout (not the clock)."""
        self.counters.reset()
        self.faults.reset()
        with self._log_lock:
            if self.calls is not None:
                self.calls.clear()
        with self._auth_lock:
            self._bad_logins = 0
            self._locked = False

    # ---- SOAP --------------------------------------------------------------------------------

    def handle_soap(self, body: bytes, action: str | None, client_ip: str) -> Reply:
        try:
            call = parse_call(body, action, self.data.clock)
        except SoapError as error:
            self.counters.count("requests", "_invalid")
            return self._fault(error)
        op = call.op
        self.counters.count("requests", op)
        if self.calls is not None:
            with self._log_lock:
                self.calls.append((op, dict(call.params)))
        try:
            self._authenticate(call, client_ip)
        except SoapError as error:
            return self._fault(error)
        if self.server_spec.flood_bytes:
            length, chunks = wire.flood(op, self.server_spec.flood_bytes)
            return Reply(200, b"", stream=chunks, length=length)
        kind, seq = self.faults.decide(op, call.key())
        if kind is None:
            return self._reply(op, call.params, kind)
        self.counters.injected_fault(kind, seq)
        reply = self._reply(op, call.params, kind)
        reply.seq = seq  # so that the statistics learn when it was sent
        return reply

    def _reply(self, op: str, params: dict, kind: str | None) -> Reply:
        if kind in INJECTED_FAULTS:
            text = INJECTED_FAULTS[kind]
            return self._fault(refusal(text, "Injected", detail=APP + text if kind == "deadlock404" else None))
        if kind == "html503":
            return Reply(503, wire.HTML_503.encode("ascii"), "text/html; charset=us-ascii")
        spec = self.server_spec  # one read: a clock moved meanwhile applies from the next call
        try:
            text, records = self.service.call(op, params, cutoffs(spec.as_of, spec.reporting_delay_hours))
            reply = Reply(200, text.encode("utf-8"))
            self.counters.count("records", op, records)
        except SoapError as error:
            reply = self._fault(error)
        if kind == "drop":
            reply.mode = "drop"
        elif kind == "truncate":
            reply = Reply(200, reply.body[:_cut_point(reply.body)], mode="truncate")
        elif kind == "stall":
            reply.stall = self.server_spec.stall_seconds
        return reply

    def _authenticate(self, call, client_ip: str) -> None:
        spec = self.server_spec
        if spec.prohibited_ip:
            raise refusal(f"[ProhibitedIPAddress] The IP address {client_ip} is not authorized to access the API.",
                          "ProhibitedIPAddress")
        locked = refusal(LOGIN_EXCEEDED, "LoginAttemptsExceeded")
        with self._auth_lock:
            if self._locked:
                raise locked
            if call.username == spec.username and call.password == spec.password:
                if spec.no_analytics_access and call.op != "GetContactListCollection":
                    raise refusal(INVALID_LOGON, "NoAnalyticsAccess")  # a good login: no lockout count
                return
            self._bad_logins += 1
            if spec.lockout_after and self._bad_logins > spec.lockout_after:
                self._locked = True  # stays locked, good password or not, until reset()
                raise locked
        raise refusal(INVALID_LOGON, "InvalidLogonAttempt")

    def _fault(self, error: SoapError) -> Reply:
        self.counters.count("soap_faults", error.kind)
        return Reply(500, wire.fault(error.code, error.message, error.detail).encode("utf-8"))

    def internal_error(self, exc: BaseException) -> Reply:
        """Records a failure of the emulator's own code (with its traceback) -> the fault its client gets."""
        self.record_internal_error(exc)
        return self._fault(refusal(f"Emulator internal error: {exc!r}", "Internal"))

    def record_internal_error(self, exc: BaseException) -> None:
        text = "".join(traceback.format_exception(exc))
        print(text, end="", file=sys.stderr)
        with self._log_lock:
            self.internal_errors.append(text)


CHUNK = 8 * 1024  # bytes per chunk of a chunked reply (--body-framing chunked)


def _cut_point(body: bytes) -> int:
    """A place in the middle of an element name, so the XML is cut mid-element."""
    middle = len(body) // 2
    tag = body.find(b"<", middle)
    if tag == -1 or tag + 3 >= len(body):
        return max(middle, 1)
    return tag + 3


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    emulator: Emulator

    def handle_error(self, request, client_address) -> None:
        """An exception that left a handler: a client that went away is not the emulator's failure."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        self.emulator.record_internal_error(exc)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    timeout = 300  # idle keep-alive connections give their thread back eventually

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args) -> None:  # noqa: A002 - quiet: logging per request costs throughput
        pass

    @property
    def emulator(self) -> Emulator:
        return self.server.emulator

    # ---- routing -----------------------------------------------------------------------------

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path.lower() == SERVICE_PATH.lower():
            if parts.query.lower() == "wsdl":
                self.emulator.counters.count("requests", "_wsdl")
                self._write(Reply(200, self.emulator.wsdl))
            else:
                page = wire.help_page(self.emulator.url, OPERATIONS)
                self._write(Reply(200, page.encode("utf-8"), "text/html; charset=utf-8"))
        elif parts.path == "/_stats":
            body = json.dumps(self.emulator.stats(), sort_keys=True).encode()
            self._write(Reply(200, body, "application/json"))
        elif parts.path == "/_clock":
            self._json(200, self.emulator.server_spec.clock())
        else:
            self._not_found()

    def do_POST(self) -> None:
        arrived = time.monotonic()
        parts = urlsplit(self.path)
        body = self._read_body()
        if body is None:
            return
        if parts.path == "/_reset":
            self.emulator.reset()
            self._write(Reply(200, b'{"reset": true}', "application/json"))
        elif parts.path == "/_clock":
            self._set_clock(body)
        elif parts.path.lower() == SERVICE_PATH.lower():
            self._soap(body, arrived)
        else:
            self._not_found()

    def _soap(self, body: bytes, arrived: float) -> None:
        emulator = self.emulator
        emulator.counters.enter()
        try:
            try:
                reply = emulator.handle_soap(body, self.headers.get("SOAPAction"), self.client_address[0])
            except Exception as exc:  # a bug must cost one reply, never the server (and is recorded)
                reply = emulator.internal_error(exc)
            # The latency is the reply's time from the request's arrival, the emulator's own work
            # included, as a real server's latency includes its work; a stall comes on top.
            wait = emulator.server_spec.latency_ms / 1000.0 - (time.monotonic() - arrived) + reply.stall
            if wait > 0:
                emulator.stopping.wait(wait)
            self._write(reply)
        finally:
            emulator.counters.leave()

    def _set_clock(self, body: bytes) -> None:
        try:
            changes = json.loads(body or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object")
            self._json(200, self.emulator.set_clock(**changes))
        except (ValueError, TypeError) as exc:
            self._json(400, {"error": str(exc)})

    def _json(self, status: int, value: dict) -> None:
        self._write(Reply(status, json.dumps(value).encode(), "application/json"))

    def _not_found(self) -> None:
        body = b"<html><body><h2>404 - File or directory not found.</h2></body></html>"
        self._write(Reply(404, body, "text/html; charset=utf-8"))

    # ---- I/O -----------------------------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        try:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return self._read_chunked()
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.close_connection = True
                self._write(Reply(413, b"Request Entity Too Large", "text/plain"))
                return None
            return self.rfile.read(length) if length > 0 else b""
        except (ValueError, OSError):
            self.close_connection = True
            self._write(Reply(500, wire.fault("Client", "Server was unable to read request.").encode(), XML_TYPE))
            return None

    def _read_chunked(self) -> bytes:
        chunks, total = [], 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise ValueError("body too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _write(self, reply: Reply) -> None:
        framing = self.emulator.server_spec.body_framing if reply.stream is None and reply.content_type == XML_TYPE \
            else "length"
        body = reply.body
        gzipped = framing.startswith("gzip") and "gzip" in self.headers.get("Accept-Encoding", "").lower()
        if gzipped:
            body = gzip.compress(body, compresslevel=1, mtime=0)
        chunked = framing.endswith("chunked")
        declared = reply.length if reply.stream is not None else len(body)
        head = [f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}",
                "Cache-Control: private, max-age=0" if reply.content_type == XML_TYPE else "Cache-Control: private",
                f"Content-Type: {reply.content_type}",
                f"Server: {self.server_version}",
                "X-AspNet-Version: 4.0.30319",
                "X-Powered-By: ASP.NET",
                f"Date: {self.date_time_string()}",
                "Transfer-Encoding: chunked" if chunked else f"Content-Length: {declared}"]
        if gzipped:
            head.append("Content-Encoding: gzip")
        if reply.mode == "drop":
            body = body[:_cut_point(body)] if not gzipped else body[:len(body) // 2]
            self.close_connection = True
        if chunked:  # 8 KB chunks; a dropped reply stops before the last, empty one
            body = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + CHUNK]), body[i:i + CHUNK])
                            for i in range(0, len(body), CHUNK)) + (b"" if reply.mode == "drop" else b"0\r\n\r\n")
        if self.close_connection:
            head.append("Connection: close")
        if reply.seq:
            self.emulator.counters.reply_sent(reply.seq)
        try:
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            if reply.stream is not None:
                self._stream(reply.stream)
            if reply.mode == "drop":
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            self.close_connection = True  # the client left (e.g. timed out on a stall)

    def _stream(self, chunks: Iterator[bytes]) -> None:
        """Send chunk after chunk (the socket writer does not buffer); give up when the server stops."""
        emulator = self.emulator
        for chunk in chunks:
            if emulator.stopping.is_set():
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(chunk)
            emulator.counters.flooded(len(chunk))
