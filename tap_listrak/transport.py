"""HTTP/1.1 POSTs over a pool of kept-alive connections: the request written in one piece, the
reply's status line and headers read directly, its body handed over as it arrives (Content-Length,
chunked or up to the connection's close) with gzip or deflate undone.

Connections are opened by urllib3's connection classes, which know proxies (a CONNECT tunnel for an
https endpoint, TLS to an https:// proxy and TLS inside it) and verify certificates and host names.
What is sent and read on a connection is this module's: urllib3's request and response layers, and
http.client's header parsing through the email package beneath them, cost more CPU per request
than reading the request's page of records does (docs/architecture.md, "The HTTP layer").

Network failures escape as OSError (socket.timeout included); a reply that breaks HTTP's framing
raises BrokenReply (transient: the next attempt may well get it whole), one framed or encoded in a
way the tap did not ask for UnsupportedReply. The client names the operation and the endpoint.
"""
from __future__ import annotations

import logging
import socket
import threading
import zlib
from dataclasses import dataclass, field
from typing import Iterator
from urllib.parse import urlsplit

from urllib3.connection import HTTPConnection, HTTPSConnection, ProxyConfig
from urllib3.util import parse_url
from urllib3.util.wait import wait_for_read


LOGGER = logging.getLogger(__name__)
MAX_LINE = 65536  # bytes in a status line, a header line or a chunk-size line
MAX_HEADERS = 100
NO_BODY = (204, 304)


class BrokenReply(Exception):
    """The reply breaks HTTP/1.1's framing: cut off, a garbled head, a corrupt compressed body."""


class UnsupportedReply(Exception):
    """The reply is framed or encoded in a way the tap did not ask for and does not read."""


@dataclass(frozen=True)
class Route:
    """Where requests go and through what: the endpoint, and the proxy if the environment names one."""
    url: str
    proxy: str | None = None
    proxy_headers: dict[str, str] = field(default_factory=dict)
    ca_certs: str | None = None  # a CA bundle file …
    ca_cert_dir: str | None = None  # … or a directory of certificates
    connect_timeout: float = 60.0
    read_timeout: float = 60.0

    @property
    def forwarding(self) -> bool:
        """An http:// endpoint through a proxy: the proxy gets the absolute URL (no tunnel)."""
        return self.proxy is not None and urlsplit(self.url).scheme == "http"


class Connection:
    """One socket and the buffered reader over it."""

    __slots__ = ("sock", "reader", "reused")

    def __init__(self, sock: socket.socket):
        self.sock, self.reader, self.reused = sock, sock.makefile("rb"), False

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


class Transport:
    """Thread-safe: each post() takes a connection of its own, kept-alive ones first."""

    def __init__(self, route: Route, pool_size: int):
        self.route, self.pool_size = route, pool_size
        split = urlsplit(route.url)
        self._https = split.scheme == "https"
        self._host, self._port = split.hostname, split.port or (443 if self._https else 80)
        target = route.url if route.forwarding else (split.path or "/") + (f"?{split.query}" if split.query else "")
        host = split.netloc.rpartition("@")[2]
        extra = "".join(f"{name}: {value}\r\n" for name, value in route.proxy_headers.items()) if route.forwarding else ""
        self._head = f"POST {target} HTTP/1.1\r\nHost: {host}\r\n{extra}"
        self._proxy = parse_url(route.proxy) if route.proxy else None
        self._idle: list[Connection] = []
        self._lock = threading.Lock()

    # -- one exchange -----------------------------------------------------------------------------
    def post(self, headers: dict[str, str], body: bytes) -> Reply:
        """Sends one request, reads its status line and headers. A kept-alive connection that the
        server closed while it was idle is replaced once, silently: nothing of the reply had come."""
        request = self._request(headers, body)
        connection = self._take()
        while True:
            try:
                connection.sock.sendall(request)
                status, reply_headers, persistent = read_head(connection.reader)
            except (_Closed, ConnectionResetError, BrokenPipeError) as exc:
                connection.close()
                if not connection.reused:
                    raise ConnectionResetError(str(exc) or "the server closed the connection without a reply") from None
                connection = self._open()
                continue
            except BaseException:
                connection.close()
                raise
            return Reply(self, connection, status, reply_headers, persistent)

    def _request(self, headers: dict[str, str], body: bytes) -> bytes:
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        return f"{self._head}{lines}Content-Length: {len(body)}\r\n\r\n".encode("latin-1") + body

    # -- the pool ---------------------------------------------------------------------------------
    def _take(self) -> Connection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return self._open()
            if wait_for_read(connection.sock, timeout=0.0):  # closed (or babbling) while idle
                connection.close()
                continue
            connection.reused = True
            return connection

    def _give_back(self, connection: Connection) -> None:
        with self._lock:
            if len(self._idle) < self.pool_size:
                self._idle.append(connection)
                return
        connection.close()

    def _open(self) -> Connection:
        LOGGER.debug("Opening a connection to %s:%s%s", self._host, self._port,
                     f" through {self._proxy.host}" if self._proxy else "")
        opener = _opener(self.route, self._proxy, self._https, self._host, self._port)
        opener.connect()
        sock = opener.sock
        sock.settimeout(self.route.read_timeout)
        if isinstance(sock, socket.socket):  # not a TLS-in-TLS transport, which has no options
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return Connection(sock)


def _opener(route: Route, proxy, https: bool, host: str, port: int) -> HTTPConnection:
    """An unconnected urllib3 connection to the endpoint, or to the proxy that leads there."""
    def to(address: str, address_port: int, secure: bool, **options) -> HTTPConnection:
        if not secure:
            return HTTPConnection(address, address_port, timeout=route.connect_timeout)
        return HTTPSConnection(address, address_port, timeout=route.connect_timeout, cert_reqs="CERT_REQUIRED",
                               ca_certs=route.ca_certs, ca_cert_dir=route.ca_cert_dir, **options)

    if proxy is None:
        return to(host, port, https)
    proxy_port = proxy.port or (443 if proxy.scheme == "https" else 80)
    if not https:  # forwarded: an HTTP connection to the proxy, TLS to it if it is an https:// one
        return to(proxy.host, proxy_port, proxy.scheme == "https")
    config = ProxyConfig(ssl_context=None, use_forwarding_for_https=False, assert_hostname=None,
                         assert_fingerprint=None)
    opener = to(proxy.host, proxy_port, True, proxy=proxy, proxy_config=config)
    opener.set_tunnel(host, port, headers=route.proxy_headers, scheme=proxy.scheme)
    return opener


# -- reading a reply --------------------------------------------------------------------------------
class _Closed(Exception):
    """The connection ended before a status line: the server closed it (a stale kept-alive one)."""


def read_head(reader) -> tuple[int, dict[str, str], bool]:
    """Status code, headers (lower-case names; repeated ones joined by ", ") and whether the
    connection stays open after the reply (HTTP/1.1 unless it says close; HTTP/1.0 only if it says
    keep-alive), after any 1xx reply."""
    while True:
        line = reader.readline(MAX_LINE + 1)
        if not line:
            raise _Closed()
        version, _, rest = line.partition(b" ")
        code = rest[:3]
        if not version.startswith(b"HTTP/1.") or not code.isdigit() or len(line) > MAX_LINE:
            raise BrokenReply(f"the reply's status line is not HTTP/1.x: {line[:80]!r}")
        headers = _read_headers(reader)
        status = int(code)
        if status >= 200 or status < 100:
            tokens = {token.strip().lower() for token in headers.get("connection", "").split(",")}
            persistent = "keep-alive" in tokens if version == b"HTTP/1.0" else "close" not in tokens
            return status, headers, persistent


def _read_headers(reader) -> dict[str, str]:
    headers: dict[str, str] = {}
    name = None
    for _ in range(MAX_HEADERS + 1):
        line = reader.readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):
            return headers
        if not line or len(line) > MAX_LINE:
            raise BrokenReply("the reply's headers were cut off" if not line else "a reply header line passed 64 KB")
        if line[0] in b" \t" and name is not None:  # obsolete line folding: continues the last header
            headers[name] += " " + line.strip().decode("latin-1")
            continue
        raw_name, colon, raw_value = line.partition(b":")
        if not colon:
            raise BrokenReply(f"a reply header line has no colon: {line[:80]!r}")
        name, value = raw_name.strip().lower().decode("latin-1"), raw_value.strip().decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    raise BrokenReply(f"the reply has more than {MAX_HEADERS} headers")


class Reply:
    """A reply whose head is read: status, headers, and its body still on the connection."""

    def __init__(self, transport: Transport, connection: Connection, status: int, headers: dict[str, str],
                 persistent: bool):
        self.status, self.headers = status, headers
        self._transport, self._connection, self._keep = transport, connection, persistent

    def chunks(self, size: int) -> Iterator[bytes]:
        """The decoded body, at most `size` bytes a piece. Read to its end, the connection serves the
        next request; left unfinished (close()), it is dropped."""
        body = self._raw(size)
        decoder = _decoder(self.headers.get("content-encoding", ""))
        yield from (body if decoder is None else decoder(body, size))
        connection, self._connection = self._connection, None
        if self._keep:
            self._transport._give_back(connection)
        else:
            connection.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _raw(self, size: int) -> Iterator[bytes]:
        reader, headers = self._connection.reader, self.headers
        if self.status in NO_BODY:
            return iter(())
        coding = headers.get("transfer-encoding")
        if coding is not None:
            if coding.strip().lower() != "chunked":
                raise UnsupportedReply(f"the reply's Transfer-Encoding is {coding!r}; only chunked is understood")
            return _chunked(reader, size)
        length = headers.get("content-length")
        if length is None:
            self._keep = False
            return _until_close(reader, size)
        lengths = {value.strip() for value in length.split(",")}
        if len(lengths) != 1 or not (declared := lengths.pop()).isdigit():
            raise BrokenReply(f"the reply's Content-Length is not one number: {length[:80]!r}")
        return _fixed(reader, int(declared), size, "Content-Length")


def _fixed(reader, length: int, size: int, declared_by: str) -> Iterator[bytes]:
    while length:
        data = reader.read1(min(size, length))
        if not data:
            raise BrokenReply(f"the reply was cut off, {length:,} bytes short of what its {declared_by} declares")
        length -= len(data)
        yield data


def _chunked(reader, size: int) -> Iterator[bytes]:
    while True:
        line = reader.readline(MAX_LINE + 1)
        digits = line.split(b";", 1)[0].strip()
        try:
            length = int(digits, 16)
        except ValueError:
            raise BrokenReply("the reply was cut off inside its chunked body" if not line else
                                 f"a chunk of the reply has no size: {line[:80]!r}") from None
        if length == 0:
            _read_headers(reader)  # the trailer, ended by a blank line
            return
        yield from _fixed(reader, length, size, "chunk size")
        if reader.readline(3) not in (b"\r\n", b"\n"):
            raise BrokenReply("a chunk of the reply does not end where its size says")


def _until_close(reader, size: int) -> Iterator[bytes]:
    while data := reader.read1(size):
        yield data


def _decoder(encoding: str):
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return _gunzip
    if encoding == "deflate":
        return _inflate
    raise UnsupportedReply(f"the reply is encoded as {encoding!r}, which the tap does not ask for (it accepts gzip "
                        "and deflate)")


GZIP = 16 + zlib.MAX_WBITS


def _gunzip(body: Iterator[bytes], size: int) -> Iterator[bytes]:
    """gzip, member after member (bytes after a complete member that start no valid one are ignored,
    as browsers and urllib3 do); each piece at most `size` bytes however well the data compresses."""
    decoder, members, fed = zlib.decompressobj(GZIP), 1, False
    for data in body:
        while data:
            if decoder.eof:
                decoder, members = zlib.decompressobj(GZIP), members + 1
            fed = True
            try:
                yield from _drain(decoder, data, size)
            except BrokenReply:
                if members == 1:
                    raise
                return  # trailing bytes after the first member
            data = decoder.unused_data if decoder.eof else b""
    yield from _finish(decoder, fed, "gzip")


def _inflate(body: Iterator[bytes], size: int) -> Iterator[bytes]:
    """deflate as servers send it: zlib-wrapped, as the standard says, or raw, as some send it (told
    apart by the zlib header's check bits, as browsers do)."""
    decoder, prefix = None, b""
    for data in body:
        if decoder is None:
            prefix += data
            if len(prefix) < 2:
                continue
            wrapped = prefix[0] & 0x0F == 8 and (prefix[0] << 8 | prefix[1]) % 31 == 0
            decoder, data = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS), prefix
        yield from _drain(decoder, data, size)
    if decoder is None and prefix:
        raise BrokenReply("the reply's deflate body was cut off")
    yield from _finish(decoder, decoder is not None, "deflate")


def _drain(decoder, data: bytes, size: int) -> Iterator[bytes]:
    try:
        while data:
            piece = decoder.decompress(data, size)
            data = decoder.unconsumed_tail
            if piece:
                yield piece
    except zlib.error as exc:
        raise BrokenReply(f"the reply's compressed body is corrupt ({exc})") from None


def _finish(decoder, fed: bool, name: str) -> Iterator[bytes]:
    """What the decoder still holds; a stream that has not reached its end was cut off."""
    if not fed:
        return  # an empty body, however labelled
    try:
        rest = decoder.flush()
    except zlib.error as exc:
        raise BrokenReply(f"the reply's compressed body is corrupt ({exc})") from None
    if rest:
        yield rest
    if not decoder.eof:
        raise BrokenReply(f"the reply's {name} body was cut off")
