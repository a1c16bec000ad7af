"""The tap's one door to HTTP: every request, SOAP or not, goes out here.

urllib3 does the HTTP: it writes requests, reads status lines and headers, unframes chunked bodies,
undoes gzip and deflate, keeps connections alive (a kept one the server closed while idle is seen
before it is used), and opens them through proxies (a CONNECT tunnel for an https endpoint, TLS to
an https:// proxy) with certificates and host names verified. What stays the tap's own:
- where requests go: the proxy and CA bundle the environment names, read once as requests reads
  them (route_for); TLS is always verified;
- one deadline per exchange, connect to last byte (Deadline), not per read: each socket read waits
  at most the time left, and a watchdog shuts the exchange's socket down when the time is up, so a
  server that drips its status line, headers or body a byte at a time cannot hold a request longer;
- no retries here (urllib3's are off): a request whose connection closed before any byte of a
  reply is sent once more at once on a new connection; every other failure is classified, once,
  into the tap's errors (RetryableError: worth another attempt; ProtocolError: needs a fix);
- a connection is reused only after a reply read to its end; a reply left unread drops it;
- a reply framed both by Content-Length and Transfer-Encoding is refused (RFC 9112 §6.3).
"""
from __future__ import annotations

import heapq
import http.client
import itertools
import logging
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator
from urllib.parse import urlencode, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH, select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import LocationValueError, ProxySchemeUnknown, URLSchemeUnknown
from urllib3.util.ssl_match_hostname import CertificateError

from tap_listrak.errors import ConfigError, ListrakError, ProtocolError, RetryableError

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    """Where requests go and through what: the endpoint, and the proxy if the environment names one."""
    url: str
    proxy: str | None = None
    proxy_headers: dict[str, str] = field(default_factory=dict)
    ca_certs: str | None = None  # a CA bundle file …
    ca_cert_dir: str | None = None  # … or a directory of certificates


def route_for(url: str) -> Route:
    """The route to `url`, through the proxy the environment names for it. Proxy and CA-bundle
    variables (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE; else certifi's bundle) are
    read once, as requests reads them."""
    environment = requests.Session().merge_environment_settings(url, {}, None, True, None)
    bundle = DEFAULT_CA_BUNDLE_PATH if environment["verify"] is True else environment["verify"]
    tls = {("ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"): bundle}
    proxy = select_proxy(url, environment["proxies"])
    if not proxy:
        return Route(url, **tls)
    if not proxy.lower().startswith(("http://", "https://")):
        raise ConfigError(f"the proxy the environment names for {url} is not an http:// or https:// URL (a SOCKS "
                          "proxy?): this tap speaks HTTP proxies only; fix HTTPS_PROXY or NO_PROXY")
    return Route(url, proxy=proxy, proxy_headers=HTTPAdapter().proxy_headers(proxy), **tls)


class Deadline:
    """The time one exchange may take, from connecting to the reply's last byte, and the connection it
    runs on: the watchdog shuts that connection's socket down once the time is up."""

    __slots__ = ("seconds", "at", "connection", "_done", "_lock")

    def __init__(self, seconds: float):
        self.seconds, self.at = seconds, time.monotonic() + seconds
        self.connection: HTTPConnection | None = None
        self._done, self._lock = False, threading.Lock()

    def finish(self) -> None:
        """The exchange is over: its connection, back in the pool or closed, is no longer the watchdog's."""
        with self._lock:
            self._done = True

    @property
    def finished(self) -> bool:
        return self._done

    def cut(self) -> None:
        """Ends a read that is still waiting: it fails at once, and the failure is read as the deadline's."""
        with self._lock:
            sock = None if self._done or self.connection is None else self.connection.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed

    def left(self, endpoint: str) -> float:
        """Seconds left; none left is a RetryableError."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise self.passed(endpoint)
        return left

    @property
    def over(self) -> bool:
        return time.monotonic() >= self.at

    def passed(self, endpoint: str) -> RetryableError:
        return RetryableError(f"no whole reply from {endpoint} within {self.seconds:g} s (request_timeout bounds "
                              "an exchange from connecting to the reply's last byte)")


_exchange = threading.local()  # the Deadline of the exchange this thread is running


class _Watched:
    """A connection that tells the exchange sending on it which it is (the watchdog's to cut)."""

    def request(self, *args, **kwargs):
        deadline = getattr(_exchange, "deadline", None)
        if deadline is not None:
            deadline.connection = self
        return super().request(*args, **kwargs)


class _HTTPConnection(_Watched, HTTPConnection):
    pass


class _HTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


PURGE_AT = 64  # deadlines held before the ended ones are dropped (then twice those still running)


class Watchdog:
    """One thread that cuts the exchanges whose deadline has passed (Deadline.cut)."""

    def __init__(self):
        self._due: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._purge_at = PURGE_AT

    def _purge(self) -> None:
        """Drops the exchanges that ended before their deadline: held until it passed, a run's every
        request would wait here for `request_timeout` (memory that grows with the run's length)."""
        self._due = [entry for entry in self._due if not entry[2].finished]
        heapq.heapify(self._due)
        self._purge_at = max(PURGE_AT, 2 * len(self._due))

    @property
    def held(self) -> int:
        """Deadlines held: the running exchanges', and ended ones not yet dropped."""
        with self._wake:
            return len(self._due)

    def watch(self, deadline: Deadline) -> None:
        with self._wake:
            if len(self._due) >= self._purge_at:
                self._purge()
            heapq.heappush(self._due, (deadline.at, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tap-listrak-deadlines", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._wake.wait(self._due[0][0] - time.monotonic() if self._due else None)
                _, _, deadline = heapq.heappop(self._due)
            deadline.cut()


WATCHDOG = Watchdog()


class Transport:
    """Thread-safe: one urllib3 pool, `pool_size` connections kept alive to the route's host."""

    def __init__(self, route: Route, pool_size: int, timeout: float):
        self.route, self.pool_size, self.timeout = route, pool_size, timeout
        split = urlsplit(route.url)
        self._origin = f"{split.scheme}://{split.netloc}"
        options = {"num_pools": 2, "maxsize": pool_size, "cert_reqs": "CERT_REQUIRED", "retries": False,
                   "ca_certs": route.ca_certs, "ca_cert_dir": route.ca_cert_dir}
        if route.proxy:
            self._pool = urllib3.ProxyManager(route.proxy, proxy_headers=route.proxy_headers, **options)
        else:
            self._pool = urllib3.PoolManager(**options)
        self._pool.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def post(self, target: str, headers: dict[str, str], body: bytes) -> Reply:
        """POSTs `body` to `target`: "" for the route's URL, a path ("/x") on its host."""
        return self.request("POST", target, headers, body)

    def get(self, target: str, params: dict | None = None, headers: dict[str, str] | None = None) -> Reply:
        """GETs `target` ("" or a path), with `params` as its query string."""
        return self.request("GET", target + (f"?{urlencode(params, doseq=True)}" if params else ""), headers or {})

    def request(self, method: str, target: str, headers: dict[str, str], body: bytes | None = None) -> Reply:
        """Sends one request and reads its status line and headers; the body is read by Reply.chunks.
        A request whose connection closed before any byte of a reply (a kept-alive one the server
        dropped as the request went out) is sent once more at once, on a new connection."""
        url = self.route.url if not target else self._origin + target if target.startswith("/") else target
        deadline = Deadline(self.timeout)
        WATCHDOG.watch(deadline)
        _exchange.deadline = deadline
        try:
            return self._exchange(method, url, headers, body, deadline)
        except BaseException:
            deadline.finish()
            raise
        finally:
            _exchange.deadline = None

    def _exchange(self, method: str, url: str, headers: dict[str, str], body: bytes | None,
                  deadline: Deadline) -> Reply:
        for attempt in (1, 2):
            try:
                left = deadline.left(self.route.url)
                response = self._pool.urlopen(method, url, body=body, headers=headers, redirect=False,
                                              retries=False, preload_content=False, decode_content=True,
                                              timeout=urllib3.Timeout(connect=min(self.timeout, left), read=left))
            except ListrakError:
                raise
            except Exception as exc:  # noqa: BLE001 (every failure is classified)
                if attempt == 1 and _closed_without_reply(exc):
                    LOGGER.debug("The connection to %s closed before a reply; sending again", self.route.url)
                    continue
                raise _failure(exc, self.route.url, deadline) from None
            reply = Reply(response, deadline, self.route.url)
            refusal = _refusal(reply.headers, self.route.url)
            if refusal is not None:
                reply.close()
                raise refusal
            return reply
        raise AssertionError("unreachable")


class Reply:
    """A reply whose head is read: status, headers (case-insensitive), and its body still to read."""

    def __init__(self, response: urllib3.BaseHTTPResponse, deadline: Deadline, endpoint: str):
        self.status, self.headers = response.status, response.headers
        self._response, self._deadline, self._endpoint = response, deadline, endpoint

    def chunks(self, size: int) -> Iterator[bytes]:
        """The decoded body, at most `size` bytes a piece, each as soon as it arrives. The deadline is
        checked between pieces, and each socket read waits no longer than the time left. Read to its
        end, the connection serves the next request; left unfinished (close()), it is dropped."""
        response = self._response
        try:
            while True:
                left = self._deadline.left(self._endpoint)
                connection = response.connection  # None once the body is in: it went back to the pool
                if connection is not None and connection.sock is not None:
                    connection.sock.settimeout(left)
                data = response.read1(size)
                if not data:
                    break
                yield data
        except ListrakError:
            self.close()
            raise
        except Exception as exc:  # noqa: BLE001 (every failure is classified)
            self.close()
            raise _failure(exc, self._endpoint, self._deadline) from None
        self._deadline.finish()
        self._response = None
        response.release_conn()

    def close(self) -> None:
        """Drops the connection unless the body was read to its end."""
        self._deadline.finish()
        if self._response is not None:
            self._response.close()
            self._response.release_conn()
            self._response = None


DECODED = ("", "identity", "gzip", "x-gzip", "deflate")  # what urllib3 undoes; requests ask for gzip, deflate


def _refusal(headers, endpoint: str) -> ListrakError | None:
    """A reply whose head says it cannot be read as asked: framed both ways (a sign of a confused or
    smuggling intermediary: retried on a new connection), or encoded in a way the tap did not ask for."""
    transfer = headers.get("transfer-encoding")
    if transfer is not None and "content-length" in headers:
        return RetryableError(f"the reply from {endpoint} has both Content-Length and Transfer-Encoding (an error by "
                              "RFC 9112 §6.3): refused, its connection dropped")
    if transfer is not None and transfer.strip().lower() != "chunked":
        return ProtocolError(f"the reply from {endpoint} has Transfer-Encoding {transfer!r}; only chunked is "
                             "understood: check endpoint_url")
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding not in DECODED:
        return ProtocolError(f"the reply from {endpoint} is encoded as {encoding!r}, which the tap does not ask for "
                             "(it accepts gzip and deflate): check endpoint_url")
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what it wraps: urllib3 keeps the cause in `reason`, in its arguments or as
    __cause__ / __context__."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        inner = getattr(exc, "reason", None) or exc.__cause__ or exc.__context__
        if not isinstance(inner, BaseException):
            inner = next((arg for arg in exc.args if isinstance(arg, BaseException)), None)
        exc = inner


def _closed_without_reply(exc: Exception) -> bool:
    """The server closed the connection before a byte of a reply came."""
    return any(isinstance(cause, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError))
               for cause in _causes(exc))


def _failure(exc: Exception, endpoint: str, deadline: Deadline) -> ListrakError:
    """One failed exchange as the tap's error. Only a certificate that fails verification, or a
    URL that cannot be requested, needs a fix; every other failure (connection refused or reset,
    timeouts, a TLS handshake cut off, a reply broken or cut off) may pass."""
    causes = list(_causes(exc))
    cause = causes[-1]
    reason = str(cause).splitlines()[0][:200] if str(cause) else cause.__class__.__name__
    if any(isinstance(c, (ssl.SSLCertVerificationError, CertificateError)) for c in causes):
        return ProtocolError(f"TLS verification of {endpoint} failed ({reason}): the certificate is not trusted; fix "
                             "the endpoint or the system's CA store")
    if any(isinstance(c, (LocationValueError, ProxySchemeUnknown, URLSchemeUnknown)) for c in causes):
        return ProtocolError(f"request to {endpoint} failed ({cause.__class__.__name__}): check endpoint_url")
    if deadline.over:
        return deadline.passed(endpoint)
    return RetryableError(f"{cause.__class__.__name__} talking to {endpoint} ({reason})")
