"""The HTTP side: the token endpoint, the GET routes under /email/v1, authorization, throttling, latency,
injected faults, statistics, the clock.

One thread per connection (ThreadingHTTPServer, keep-alive). Every reply is JSON with Listrak's headers
(Cache-Control no-cache, Pragma, Expires -1, IIS/ASP.NET) and one send. A failure of the emulator's own code
becomes a 500 ERROR_UNHANDLED_EXCEPTION reply, which a client may retry, so it is also kept in
`internal_errors` with its traceback: the tests' fixtures fail a test whose emulator had any.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import socket
import struct
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.emulator.data import Dataset
from tests.emulator.spec import DatasetSpec

from . import paging
from .account import Account, Item
from .routes import ApiError, Route, match, run
from .spec import RestServerSpec

API_PREFIX = "/email/v1"
TOKEN_PATH = "/OAuth2/Token"
JSON_TYPE = "application/json; charset=utf-8"
TOKEN_TYPE = "application/json;charset=UTF-8"
MAX_BODY = 1024 * 1024
UNAUTHORIZED = ApiError(401, "ERROR_UNAUTHORIZED", "Authorization was denied for this request.")
UNHANDLED = "An unexpected error occurred. Our development team has been notified."
THROTTLED = "The request rate limit has been exceeded."
HTML_502 = ("<html><head><title>502 - Web server received an invalid response while acting as a gateway or proxy "
            "server.</title></head><body><h2>502 - Web server received an invalid response while acting as a "
            "gateway or proxy server.</h2></body></html>")
HTML_503 = ('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n<HTML><HEAD>'
            "<TITLE>Service Unavailable</TITLE></HEAD><BODY><h2>Service Unavailable</h2><hr><p>HTTP Error 503. The "
            "service is unavailable.</p></BODY></HTML>\r\n")


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: dict = field(default_factory=dict)
    mode: str = "send"  # send | truncate (half the body, then close) | reset (close with RST, no reply)
    stall: float = 0.0


def json_reply(status: int, value: dict, **headers) -> Reply:
    return Reply(status, json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
                 headers=headers)


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests = defaultdict(Counter)  # route (operationId, _token, _unknown, ...) -> status -> n
            self.items = Counter()
            self.injected = Counter()
            self.tokens_issued = 0
            self.throttled = 0
            self.in_flight = 0
            self.max_in_flight = 0

    def count(self, route: str, status: int) -> None:
        with self._lock:
            self.requests[route][str(status)] += 1

    def add(self, name: str, key: Optional[str] = None, amount: int = 1) -> None:
        with self._lock:
            if key is None:
                setattr(self, name, getattr(self, name) + amount)
            else:
                getattr(self, name)[key] += amount

    def enter(self) -> int:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return self.in_flight

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def snapshot(self) -> dict:
        with self._lock:
            return {"total_requests": sum(sum(c.values()) for c in self.requests.values()),
                    "requests": {route: dict(c) for route, c in self.requests.items()},
                    "items_served": dict(self.items), "tokens_issued": self.tokens_issued,
                    "throttled": self.throttled, "injected_faults": dict(self.injected),
                    "injected_faults_total": sum(self.injected.values()), "max_in_flight": self.max_in_flight}


class Faults:
    """Which API call gets an injected fault: by rate (a draw from the seed, the call and its attempt number,
    so concurrent runs meet the same faults and a retry draws anew) or by rule (the Nth call of an operation)."""

    def __init__(self, spec: RestServerSpec, seed: int) -> None:
        self.spec, self.seed, self.rules = spec, seed, spec.fault_rules()
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._per_op = Counter()
            self._attempts = Counter()

    def decide(self, operation: str, key: str) -> Optional[str]:
        with self._lock:
            self._per_op[operation] += 1
            self._per_op["*"] += 1
            nth, seq = self._per_op[operation], self._per_op["*"]
            self._attempts[key] += 1
            attempt = self._attempts[key]
        rule = self.rules.get((operation, nth)) or self.rules.get(("*", seq))
        if rule is not None or self.spec.fault_rate <= 0:
            return rule
        digest = hashlib.blake2b(f"{self.seed}|{attempt}|{key}".encode(), digest_size=16).digest()
        if (int.from_bytes(digest[:8], "big") >> 11) / float(1 << 53) >= self.spec.fault_rate:
            return None
        kinds = self.spec.fault_kinds
        return kinds[int.from_bytes(digest[8:], "big") % len(kinds)]


class Bucket:
    """A leaky bucket of `size` requests that drains `size` every `period` seconds."""

    def __init__(self, size: int, period: float) -> None:
        self.size, self.rate = size, size / period
        self.level, self.at = 0.0, time.monotonic()
        self._lock = threading.Lock()

    def admit(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self.level = max(0.0, self.level - (now - self.at) * self.rate)
            self.at = now
            if self.level + 1 > self.size:
                return False
            self.level += 1
            return True


class RestEmulator:
    """One emulated REST service; start() serves it from a background thread."""

    def __init__(self, dataset: DatasetSpec | None = None, server: RestServerSpec | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.dataset_spec = dataset or DatasetSpec(timezone="America/New_York")
        self.server_spec = server or RestServerSpec()
        self.data = Dataset(self.dataset_spec)
        self.account = Account(self.data, self.server_spec.date_form)
        self.counters = Stats()
        self.faults = Faults(self.server_spec, self.dataset_spec.seed)
        bucket = self.server_spec.bucket()
        self.bucket = Bucket(*bucket) if bucket else None
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.tokens: dict[str, float] = {}  # access token -> monotonic expiry
        self.internal_errors: list[str] = []
        self.httpd = _HTTPServer((host, port), _Handler)
        self.httpd.emulator = self
        bound_host, bound_port = self.httpd.server_address[:2]
        self.root = f"http://{bound_host}:{bound_port}"
        self.base_url = self.root + API_PREFIX
        self.token_url = self.root + TOKEN_PATH
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self) -> "RestEmulator":
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"rest-emulator-{self.root}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
        self.httpd.server_close()

    def stats(self) -> dict:
        return self.counters.snapshot()

    def reset(self) -> None:
        """Clear statistics and fault counters (tokens stay valid, the clock stays)."""
        self.counters.reset()
        self.faults.reset()

    def set_clock(self, **changes) -> dict:
        unknown = set(changes) - {"as_of"}
        if unknown:
            raise ValueError(f"unknown clock setting(s): {', '.join(sorted(unknown))}")
        with self._lock:
            self.server_spec = replace(self.server_spec, **changes)
            return self.server_spec.clock()

    def expire_tokens(self) -> None:
        """Every token issued so far expires now (as at the end of its lifetime)."""
        with self._lock:
            self.tokens.clear()

    def record_internal_error(self, exc: BaseException) -> None:
        text = "".join(traceback.format_exception(exc))
        print(text, end="", file=sys.stderr)
        with self._lock:
            self.internal_errors.append(text)

    # ---- token endpoint --------------------------------------------------------------------------------

    def issue_token(self, body: bytes, content_type: str) -> Reply:
        spec = self.server_spec
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            return json_reply(400, {"error": "unsupported_grant_type"})
        good = (secrets.compare_digest(form.get("client_id", ""), spec.client_id)
                and secrets.compare_digest(form.get("client_secret", ""), spec.client_secret))
        if not good or spec.ip_not_allowed:
            if spec.token_error_form == "documented":
                return json_reply(400, {"status": 400, "error": "ERROR_INVALID_CREDENTIALS",
                                        "message": "Invalid client credentials."})
            reply = json_reply(400, {"error": "Invalid Credentials"})
            reply.content_type = TOKEN_TYPE
            reply.headers["Connection"] = "close"
            return reply
        token = secrets.token_urlsafe(315)  # 420 characters of [A-Za-z0-9_-], as recorded
        with self._lock:
            self.tokens[token] = time.monotonic() + spec.token_ttl_seconds
        self.counters.add("tokens_issued")
        reply = json_reply(200, {"access_token": token, "token_type": "bearer",
                                 "expires_in": int(spec.token_ttl_seconds)})
        reply.content_type = TOKEN_TYPE
        return reply

    def _token_ok(self, header: str) -> Optional[str]:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        token = token.strip()
        with self._lock:
            expiry = self.tokens.get(token)
            if expiry is None:
                return None
            if time.monotonic() >= expiry:
                del self.tokens[token]
                return None
        return token

    # ---- API -----------------------------------------------------------------------------------------

    def handle_api(self, method: str, path: str, query: str, authorization: str) -> tuple[str, Reply]:
        """-> (the statistics' route name, the reply)."""
        found = match(path)
        if found is None:
            return "_unknown", json_reply(404, {"status": 404, "error": "ERROR_UNKNOWN_ROUTE",
                                                "message": "The requested route does not exist."})
        route, ids = found
        ids = {k: unquote(v) for k, v in ids.items()}
        if method != "GET":
            return route.operation, json_reply(405, {"status": 405, "error": "ERROR_UNSUPPORTED_METHOD",
                                                     "message": "The requested method is not supported."})
        spec = self.server_spec
        if self.bucket is not None and not self.bucket.admit():
            return route.operation, self._throttled(spec.throttle_retry_after)
        token = self._token_ok(authorization)
        if token is None:
            return route.operation, json_reply(401, UNAUTHORIZED.body())
        if spec.ip_not_allowed or not set(route.scopes) <= set(spec.scopes):
            denied = UNAUTHORIZED.body()
            denied["status"] = spec.denied_status
            return route.operation, json_reply(spec.denied_status, denied)
        params = parse_qsl(query, keep_blank_values=True)
        kind = self.faults.decide(route.operation, f"{path}?{query}")
        if kind is not None:
            self.counters.add("injected", kind)
            early = self._fault(kind, token)
            if early is not None:
                return route.operation, early
        try:
            reply = self._serve(route, ids, dict(params), spec)
        except ApiError as error:
            reply = json_reply(error.status, error.body())
        if kind == "truncate":
            reply.mode = "truncate"
        elif kind == "stall":
            reply.stall = spec.stall_seconds
        return route.operation, reply

    def _throttled(self, retry_after: float = 0.0) -> Reply:
        self.counters.add("throttled")
        headers = {"Retry-After": _seconds(retry_after)} if retry_after else {}
        return json_reply(429, {"status": 429, "error": "ERROR_TOO_MANY_REQUESTS", "message": THROTTLED}, **headers)

    def _fault(self, kind: str, token: str) -> Optional[Reply]:
        spec = self.server_spec
        if kind == "500":
            return json_reply(500, {"status": 500, "error": "ERROR_UNHANDLED_EXCEPTION", "message": UNHANDLED})
        if kind in ("502", "503"):
            return Reply(int(kind), (HTML_502 if kind == "502" else HTML_503).encode("ascii"), "text/html")
        if kind == "429":
            return json_reply(429, {"status": 429, "error": "ERROR_TOO_MANY_REQUESTS", "message": THROTTLED})
        if kind == "429-retry-after":
            return json_reply(429, {"status": 429, "error": "ERROR_TOO_MANY_REQUESTS", "message": THROTTLED},
                              **{"Retry-After": _seconds(spec.retry_after_seconds)})
        if kind == "reset":
            return Reply(0, b"", mode="reset")
        if kind == "token-expired":
            with self._lock:
                self.tokens.pop(token, None)
            return json_reply(401, UNAUTHORIZED.body())
        return None  # truncate and stall shape the real reply

    def _serve(self, route: Route, ids: dict, query: dict, spec: RestServerSpec) -> Reply:
        result = run(route, ids, self.account, spec, spec.as_of, query)
        if route.envelope == "R":
            self.counters.add("items", route.operation)
            return json_reply(200, {"status": 200, "data": result.wire})
        items = [item.wire for item in result]
        envelope = route.envelope
        if route.operation.startswith("SavedAudience_"):
            envelope = {"schema": "P1", "paged": "P1", "collection": "C"}[spec.saved_audience_envelope]
        elif route.operation == "ListImport_GetListImportCollection":
            envelope = {"schema": "C", "collection": "C", "paged": "P"}[spec.list_import_envelope]
        if envelope == "C":
            self.counters.add("items", route.operation, len(items))
            return json_reply(200, {"status": 200, "data": items})
        if envelope == "P1":  # the paged envelope, everything in one reply
            self.counters.add("items", route.operation, len(items))
            return json_reply(200, {"status": 200, "nextPageCursor": None, "data": items})
        if not items and spec.empty_collection == "not-found":
            raise paging.empty(list(route.names) or ["route"])
        page, next_cursor = paging.cut(items, query, spec)
        self.counters.add("items", route.operation, len(page))
        return json_reply(200, {"status": 200, "nextPageCursor": next_cursor, "data": page})

    def serve_all(self, route: Route, ids: dict, query: dict) -> list[Item]:
        """Every item of a collection route (all pages), as Items; for the ground truth and tests."""
        return run(route, ids, self.account, self.server_spec, self.server_spec.as_of, query)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    emulator: RestEmulator

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        self.emulator.record_internal_error(exc)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/8.5"
    sys_version = ""
    timeout = 300

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args) -> None:  # noqa: A002
        pass

    @property
    def emulator(self) -> RestEmulator:
        return self.server.emulator

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        arrived = time.monotonic()
        emulator = self.emulator
        parts = urlsplit(self.path)
        path = parts.path
        body = self._read_body()
        if body is None:
            return
        if path in ("/_stats", "/_reset", "/_clock"):
            return self._admin(method, path, body)
        emulator.counters.enter()
        try:
            route_name = "_unknown"
            try:
                if path.lower() == TOKEN_PATH.lower() and method == "POST":
                    route_name, reply = "_token", emulator.issue_token(body, self.headers.get("Content-Type", ""))
                elif path.lower().startswith(API_PREFIX.lower() + "/"):
                    limit = emulator.server_spec.max_concurrent
                    if limit and emulator.counters.in_flight > limit:
                        found = match(path[len(API_PREFIX):])
                        route_name = found[0].operation if found else "_unknown"
                        reply = emulator._throttled(emulator.server_spec.throttle_retry_after)
                    else:
                        route_name, reply = emulator.handle_api(method, path[len(API_PREFIX):], parts.query,
                                                                self.headers.get("Authorization", ""))
                else:
                    reply = json_reply(404, {"status": 404, "error": "ERROR_UNKNOWN_ROUTE",
                                             "message": "The requested route does not exist."})
            except Exception as exc:  # a bug costs one reply, never the server, and is recorded
                emulator.record_internal_error(exc)
                reply = json_reply(500, {"status": 500, "error": "ERROR_UNHANDLED_EXCEPTION",
                                         "message": f"Emulator internal error: {exc!r}"})
            emulator.counters.count(route_name, reply.status)
            wait = emulator.server_spec.latency_ms / 1000.0 - (time.monotonic() - arrived) + reply.stall
            if wait > 0:
                emulator.stopping.wait(wait)
            self._write(reply)
        finally:
            emulator.counters.leave()

    def _admin(self, method: str, path: str, body: bytes) -> None:
        emulator = self.emulator
        if path == "/_stats" and method == "GET":
            self._write(json_reply(200, emulator.stats()))
        elif path == "/_reset" and method == "POST":
            emulator.reset()
            self._write(json_reply(200, {"reset": True}))
        elif path == "/_clock" and method == "GET":
            self._write(json_reply(200, emulator.server_spec.clock()))
        elif path == "/_clock" and method == "POST":
            try:
                changes = json.loads(body or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("the body must be a JSON object")
                self._write(json_reply(200, emulator.set_clock(**changes)))
            except (ValueError, TypeError) as exc:
                self._write(json_reply(400, {"error": str(exc)}))
        else:
            self._write(json_reply(405, {"error": "method not allowed"}))

    def _read_body(self) -> Optional[bytes]:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.close_connection = True
                self._write(json_reply(413, {"error": "request body too large"}))
                return None
            return self.rfile.read(length) if length > 0 else b""
        except (ValueError, OSError):
            self.close_connection = True
            return None

    def _write(self, reply: Reply) -> None:
        if reply.mode == "reset":  # the connection ends with a TCP RST and no reply
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            except OSError:
                pass
            return
        body = reply.body
        head = [f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}", "Cache-Control: no-cache",
                "Pragma: no-cache", f"Content-Type: {reply.content_type}", "Expires: -1",
                f"Server: {self.server_version}", "X-Powered-By: ASP.NET", f"Date: {self.date_time_string()}",
                f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in reply.headers.items()]
        if reply.headers.get("Connection") == "close":
            self.close_connection = True
        if reply.mode == "truncate":
            body = body[: max(1, len(body) // 2)]
            self.close_connection = True
            if "Connection: close" not in head:
                head.append("Connection: close")
        try:
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            if reply.mode == "truncate":
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            self.close_connection = True
