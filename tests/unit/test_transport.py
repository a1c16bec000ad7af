"""The tap's HTTP door (transport.py): where requests go (proxies and CA bundle from the environment,
as requests reads them), how replies are read and connections kept, the deadline of an exchange,
and how failures become the tap's errors; each against a real server on 127.0.0.1 that writes
exactly the bytes a test gives it."""
import gzip
import http.server
import socket
import ssl
import struct
import subprocess
import threading
import time
import zlib

import pytest
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from tap_listrak.client import ListrakClient
from tap_listrak.config import parse_config
from tap_listrak.errors import ConfigError, ProtocolError, RetryableError
from tap_listrak.transport import Route, Transport, route_for

ENVIRONMENT = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
BODY = b"<reply>" + b"x" * 200_000 + b"</reply>"
LISTRAK = "https://webservices.listrak.com/v31/IntegrationService.asmx"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def config(url=LISTRAK, workers=4, **settings):
    return parse_config({"username": "u", "password": "p", "start_date": "2024-01-01T00:00:00Z",
                         "endpoint_url": url, "max_workers": workers, "request_timeout": 5,
                         "backoff_base_seconds": 0.01, **settings})


# -- the route -----------------------------------------------------------------------------------
def test_without_a_proxy_the_route_is_direct_and_verifies_tls_with_the_default_bundle():
    route = route_for(LISTRAK)
    assert route.proxy is None and route.ca_certs == DEFAULT_CA_BUNDLE_PATH and route.ca_cert_dir is None


def test_the_pool_keeps_a_connection_for_every_worker_and_the_message_index_reads():
    client = ListrakClient(config(workers=7))
    assert client.transport.pool_size == 9 and client.transport.timeout == 5


def test_a_ca_bundle_from_the_environment_is_used(monkeypatch, tmp_path):
    bundle = tmp_path / "corporate.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    assert route_for(LISTRAK).ca_certs == str(bundle)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path))  # a directory of certificates
    route = route_for(LISTRAK)
    assert route.ca_cert_dir == str(tmp_path) and route.ca_certs is None


def test_the_https_proxy_is_used_with_its_credentials(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy-user:s%40cret@proxy.example:3128")
    route = route_for(LISTRAK)
    assert route.proxy == "http://proxy-user:s%40cret@proxy.example:3128"
    assert route.proxy_headers["Proxy-Authorization"].startswith("Basic ")


def test_no_proxy_bypasses_the_proxy(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", ".listrak.com")
    assert route_for(LISTRAK).proxy is None


def test_a_socks_proxy_is_refused_in_one_line(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "socks5://proxy.example:1080")
    with pytest.raises(ConfigError, match="HTTP proxies only") as caught:
        route_for(LISTRAK)
    assert "\n" not in str(caught.value)


class _Echo(http.server.BaseHTTPRequestHandler):
    """Answers a POST with its body, a GET with its path and query."""
    protocol_version = "HTTP/1.1"
    peers: list = []

    def do_POST(self):
        self.peers.append((self.client_address, self.path, self.headers.get("Proxy-Authorization")))
        self._answer(self.rfile.read(int(self.headers["Content-Length"])))

    def do_GET(self):
        self._answer(self.path.encode())

    def _answer(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def echo():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Echo.peers.clear()
    yield server
    server.shutdown()
    server.server_close()


def test_a_plain_http_proxy_forwards_and_connections_are_reused(monkeypatch, echo):
    """Through a real HTTP proxy (here the echo server plays it: a forward proxy receives the
    absolute URL and the proxy's credentials), two requests share one connection."""
    monkeypatch.setenv("HTTP_PROXY", f"http://user:pw@127.0.0.1:{echo.server_port}")
    url = "http://listrak.invalid/v31/IntegrationService.asmx"
    transport = Transport(route_for(url), pool_size=2, timeout=5)
    for body in (b"one", b"two"):
        assert b"".join(transport.post("", {}, body).chunks(1024)) == body
    assert _Echo.peers == [(_Echo.peers[0][0], url, "Basic dXNlcjpwdw==")] * 2


def test_a_get_carries_its_query_and_a_path_goes_to_the_routes_host(echo):
    """The door is not SOAP's alone: a later REST client GETs paths with query strings."""
    transport = Transport(Route(f"http://127.0.0.1:{echo.server_port}/v31/IntegrationService.asmx"), 2, 5)
    reply = transport.get("/api/lists", {"page": 2, "q": "a b&c"}, {"Accept": "application/json"})
    assert reply.status == 200 and b"".join(reply.chunks(1024)) == b"/api/lists?page=2&q=a+b%26c"
    assert b"".join(transport.post("/oauth/token", {}, b"grant_type=x").chunks(1024)) == b"grant_type=x"


# -- TLS, directly and through a CONNECT tunnel -------------------------------------------------
@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A certificate that names 127.0.0.1, its key, and the server-side TLS context that uses it."""
    directory = tmp_path_factory.mktemp("tls")
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return str(cert), context


@pytest.fixture
def tls_echo(certificate):
    """An https echo server, the bundle that trusts it, and the server-side TLS context."""
    bundle, context = certificate
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_port}/v31/IntegrationService.asmx", bundle, context
    server.shutdown()
    server.server_close()


class Listener:
    """A TCP server on 127.0.0.1 that hands each connection, numbered from 1, to its own thread."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port, self.connections = self.listener.getsockname()[1], 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.serve, args=(sock, self.connections), daemon=True).start()

    def serve(self, sock, connection):
        raise NotImplementedError

    def close(self):
        self.listener.close()


class TunnelProxy(Listener):
    """A CONNECT proxy: records each CONNECT line and its Proxy-Authorization, then relays bytes;
    spoken over TLS when given a server context (an https:// proxy)."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.connects, self.tls = [], tls
        super().__init__()
        self.url = f"{'https' if tls else 'http'}://user:pw@127.0.0.1:{self.port}"

    def serve(self, client, connection):
        if self.tls is not None:
            client = self.tls.wrap_socket(client, server_side=True)
        reader = client.makefile("rb")
        request = reader.readline().decode()
        headers = {}
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        self.connects.append((request.strip(), headers.get("proxy-authorization")))
        host, port = request.split()[1].rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=_relay, args=(upstream, client), daemon=True).start()
        _relay(client, upstream)


def _relay(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        sink.close()


def test_tls_is_verified_against_the_bundle_given(tls_echo):
    url, bundle, _ = tls_echo
    transport = Transport(Route(url, ca_certs=bundle), pool_size=2, timeout=5)
    assert b"".join(transport.post("", {}, b"over tls").chunks(1024)) == b"over tls"
    with pytest.raises(ProtocolError, match="TLS verification of .* failed .*certificate verify failed"):
        Transport(Route(url, ca_certs=DEFAULT_CA_BUNDLE_PATH), pool_size=2, timeout=5).post("", {}, b"x")


@pytest.mark.parametrize("proxy_tls", [False, True], ids=["http-proxy", "https-proxy"])
def test_an_https_endpoint_is_reached_through_a_connect_tunnel(monkeypatch, tls_echo, proxy_tls):
    """Through an http:// proxy, and through an https:// one (TLS to the proxy, TLS inside it)."""
    url, bundle, context = tls_echo
    proxy = TunnelProxy(context if proxy_tls else None)
    try:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
        monkeypatch.setenv("NO_PROXY", "")
        transport = Transport(route_for(url), pool_size=2, timeout=5)
        for body in (b"one", b"two"):
            assert b"".join(transport.post("", {}, body).chunks(1024)) == body
        port = url.split(":")[2].split("/")[0]
        (request, credentials), = proxy.connects  # one tunnel, kept for the second request
        assert request.startswith(f"CONNECT 127.0.0.1:{port} HTTP/1.") and credentials == "Basic dXNlcjpwdw=="
    finally:
        proxy.close()


class TLSListener(Listener):
    """Accepts TCP connections on which TLS never completes: `how` is "eof" (closed at once, no
    close_notify), "hello" (closed once the client's hello is in) or "reset" (a load balancer's reset
    after the hello); with "verify", a full handshake with a certificate the client does not trust."""

    def __init__(self, how: str, context: ssl.SSLContext | None = None):
        self.how, self.context = how, context
        super().__init__()
        self.url = f"https://127.0.0.1:{self.port}/v31/IntegrationService.asmx"

    def serve(self, sock, connection):
        with sock:
            if self.how == "verify":
                try:
                    self.context.wrap_socket(sock, server_side=True).recv(1)
                except (OSError, ssl.SSLError):
                    pass
                return
            if self.how in ("hello", "reset"):
                sock.recv(65536)
            if self.how == "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.mark.parametrize("how", ["eof", "hello", "reset"])
def test_a_tls_handshake_cut_off_is_transient_and_retried(monkeypatch, certificate, how):
    server = TLSListener(how)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certificate[0])
    client = ListrakClient(config(server.url, backoff_max_tries=2))
    try:
        with pytest.raises(RetryableError, match="gave up: backoff_max_tries=2") as caught:
            client.request("GetContactListCollection")
        assert server.connections >= 2 and "\n" not in str(caught.value)
        assert client.failure is caught.value
    finally:
        server.close()


def test_a_certificate_that_fails_verification_ends_the_run_at_once(tmp_path, certificate):
    """The client trusts the default bundle only: the self-signed certificate is refused, not retried."""
    server = TLSListener("verify", certificate[1])
    client = ListrakClient(config(server.url, backoff_max_tries=3))
    try:
        with pytest.raises(ProtocolError, match="TLS verification of .* failed") as caught:
            client.request("GetContactListCollection")
        assert server.connections == 1 and "system's CA store" in str(caught.value)
    finally:
        server.close()


# -- replies, byte for byte ----------------------------------------------------------------------
class Scripted(Listener):
    """A server that answers the n-th request on each connection with the bytes script(connection,
    n) returns (None: close the connection without a word; close(bytes): write them, then close;
    drip(head, body, every): write the head, then the body a byte at a time)."""

    def __init__(self, script):
        self.script, self.requests = script, 0
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}/v31/IntegrationService.asmx"

    def serve(self, sock, connection):
        try:
            self._serve(sock, connection)
        except OSError:  # the client went away
            pass

    def _serve(self, sock, connection):
        reader = sock.makefile("rb")
        with sock:
            for n in range(1, 100):
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = reader.readline()
                    if not line:
                        return
                    head += line
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                reader.read(length)
                self.requests += 1
                reply = self.script(connection, n)
                if reply is None:
                    return
                reply.send(sock) if isinstance(reply, drip) else sock.sendall(bytes(reply))
                if isinstance(reply, close):
                    return


class close(bytes):
    """Bytes after which the server closes the connection."""


class drip:
    def __init__(self, head: bytes, body: bytes, every: float):
        self.head, self.body, self.every = head, body, every

    def send(self, sock):
        sock.sendall(self.head)
        for byte in self.body:
            time.sleep(self.every)
            sock.sendall(bytes([byte]))


@pytest.fixture
def serve():
    servers = []

    def start(script):
        server = Scripted(script if callable(script) else (lambda connection, n: script))
        servers.append(server)
        return server, Transport(Route(server.url), pool_size=2, timeout=5)

    yield start
    for server in servers:
        server.close()


def reply(body=BODY, *headers: str, status=b"HTTP/1.1 200 OK", length=True) -> bytes:
    lines = [status, b"Content-Type: text/xml; charset=utf-8", *(h.encode() for h in headers)]
    if length:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def chunked(body: bytes, size=7000) -> bytes:
    pieces = [b"%x;ext=1\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size)]
    return b"".join(pieces) + b"0\r\nX-Trailer: yes\r\n\r\n"


def read(transport, size=16 * 1024) -> tuple[int, dict, bytes, list]:
    answer = transport.post("", {"SOAPAction": '"x"'}, b"<request/>")
    pieces = list(answer.chunks(size))
    return answer.status, answer.headers, b"".join(pieces), pieces


def lists(name: str) -> bytes:
    """Listrak's reply to GetContactListCollection with one list of that name."""
    def false(*flags):
        return "".join(f"<{flag}>false</{flag}>" for flag in flags)

    item = (f"<ListID>7</ListID><ListName>{name}</ListName><CreateDate>2024-01-02T03:04:05</CreateDate>"
            + false("EnableRemovalLink", "EnableBrowserLink") + "<bounceHandling>0</bounceHandling>"
            + false("EnableDoubleOptin", "EnableListHygiene", "ShowEmailList", "ShowAdvancedPersonalization")
            + "<BounceUnsubscribeCount>0</BounceUnsubscribeCount>"
            + false("EnableRSS", "EnableGoogleAnalytics", "EnableInternationalization", "EnableDynamicContent",
                    "EnableListRemoveHeader"))
    return ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
            'envelope/"><soap:Body><GetContactListCollectionResponse xmlns="http://webservices.listrak.com/v31/">'
            f'<GetContactListCollectionResult><WSContactList>{item}</WSContactList></GetContactListCollectionResult>'
            '</GetContactListCollectionResponse></soap:Body></soap:Envelope>').encode()


def list_names(client) -> list[str]:
    return [item["ListName"] for item in client.items("GetContactListCollection")]


def test_a_reply_with_a_length_is_read_whole_and_its_connection_kept(serve):
    server, transport = serve(reply(BODY, "Server: Microsoft-IIS/10.0"))
    for _ in range(3):
        status, headers, body, pieces = read(transport)
        assert status == 200 and body == BODY and max(map(len, pieces)) <= 16 * 1024
        assert headers["server"] == headers["Server"] == "Microsoft-IIS/10.0"
    assert server.connections == 1 and server.requests == 3


@pytest.mark.parametrize("encoding, encoded", [
    ("gzip", gzip.compress(BODY)),
    ("x-gzip", gzip.compress(BODY[:1000]) + gzip.compress(BODY[1000:])),  # two members
    ("deflate", zlib.compress(BODY)),  # zlib-wrapped, as the standard says
    ("deflate", zlib.compress(BODY)[2:-4]),  # raw, as some servers send it
])
@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_compressed_and_chunked_replies_are_decoded(serve, encoding, encoded, framing):
    if framing == "chunked":
        wire = reply(chunked(encoded), "Transfer-Encoding: chunked", f"Content-Encoding: {encoding}", length=False)
    else:
        wire = reply(encoded, f"Content-Encoding: {encoding}")
    server, transport = serve(wire)
    assert read(transport)[2] == BODY and read(transport)[2] == BODY
    assert server.connections == 1


def test_requests_ask_for_gzip_and_deflate():
    heads = []

    class Recording(Scripted):
        def serve(self, sock, connection):
            heads.append(sock.recv(65536))
            sock.sendall(reply(gzip.compress(lists("zipped")), "Content-Encoding: gzip"))
            sock.close()

    server = Recording(None)
    try:
        assert list_names(ListrakClient(config(server.url))) == ["zipped"]
        assert b"\r\nAccept-Encoding: gzip, deflate\r\n" in heads[0]
    finally:
        server.close()


def test_a_body_that_compresses_a_thousandfold_comes_out_in_bounded_pieces(serve):
    _, transport = serve(reply(gzip.compress(b"\0" * (20 << 20)), "Content-Encoding: gzip"))
    answer = transport.post("", {}, b"")
    total = 0
    for piece in answer.chunks(64 * 1024):
        assert len(piece) <= 64 * 1024
        total += len(piece)
    assert total == 20 << 20


def test_a_reply_read_to_the_close_ends_its_connection(serve):
    server, transport = serve(close(reply(BODY, length=False)))
    assert read(transport)[2] == BODY and read(transport)[2] == BODY
    assert server.connections == 2


@pytest.mark.parametrize("headers, status, reused", [
    (("Connection: close",), b"HTTP/1.1 200 OK", False),
    ((), b"HTTP/1.0 200 OK", False),
    (("Connection: keep-alive",), b"HTTP/1.0 200 OK", True),
    ((), b"HTTP/1.1 500 Internal Server Error", True),
])
def test_a_connection_is_kept_only_when_the_reply_allows_it(serve, headers, status, reused):
    server, transport = serve(reply(b"<x/>", *headers, status=status))
    assert read(transport)[0] == int(status.split()[1])
    assert read(transport)[2] == b"<x/>"
    assert server.connections == (1 if reused else 2)


def test_a_reply_left_unread_drops_its_connection(serve):
    server, transport = serve(reply(BODY))
    answer = transport.post("", {}, b"")
    next(answer.chunks(1024))
    answer.close()
    assert read(transport)[2] == BODY and server.connections == 2


def test_an_interim_100_continue_is_skipped(serve):
    _, transport = serve(b"HTTP/1.1 100 Continue\r\n\r\n" + reply(b"<x/>"))
    assert read(transport)[:1] == (200,) and read(transport)[2] == b"<x/>"


def test_a_kept_alive_connection_the_server_dropped_is_replaced_silently(serve, caplog):
    """The server closes each connection after one reply, without saying so: right after it (seen
    before the next request is sent), or as the next request arrives (seen when no reply comes)."""
    def script(connection, n):
        if n > 1:
            return None
        return close(reply(b"<x/>")) if connection % 2 else reply(b"<x/>")

    server, transport = serve(script)
    for _ in range(4):
        assert read(transport)[2] == b"<x/>"
    assert server.connections == 4
    assert not [record for record in caplog.records if record.levelname == "WARNING"]


def test_a_connection_closed_twice_without_a_reply_is_a_transient_failure(serve):
    server, transport = serve(lambda connection, n: None)
    with pytest.raises(RetryableError, match="RemoteDisconnected talking to"):
        read(transport)
    assert server.connections == 2  # sent once more at once, on a new connection


@pytest.mark.parametrize("wire", [
    reply(BODY)[:-1000],
    reply(chunked(BODY)[:-5000], "Transfer-Encoding: chunked", length=False),
    reply(chunked(BODY)[:-21], "Transfer-Encoding: chunked", length=False),
    reply(b"not gzip at all", "Content-Encoding: gzip"),
    b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
    reply(b"<x/>", *[f"X-{i}: {i}" for i in range(120)]),
    reply(b"<x/>", "Content-Length: 5", length=True),
    b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n",
], ids=["length-cut", "chunk-cut", "chunks-cut", "gzip-corrupt", "not-http", "headers-flood",
        "two-lengths", "head-cut"])
def test_a_broken_reply_is_a_transient_failure(serve, wire):
    server, transport = serve(close(wire))
    with pytest.raises(RetryableError) as caught:
        read(transport)
    assert "talking to " + server.url in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("header, words", [
    ("Content-Encoding: br", "encoded as 'br'"),
    ("Transfer-Encoding: gzip", "Transfer-Encoding 'gzip'"),
])
def test_an_encoding_that_was_not_asked_for_is_refused(serve, header, words):
    _, transport = serve(reply(b"\x1b\x00", header, length=header.startswith("Content")))
    with pytest.raises(ProtocolError, match=words):
        read(transport)


@pytest.mark.parametrize("wire, error, words", [
    (reply(BODY)[:-1000], RetryableError, "GetContactListCollection: IncompleteRead talking to"),
    (reply(b"\x1b\x00", "Content-Encoding: br"), ProtocolError, "GetContactListCollection: the reply from .* is "
                                                                "encoded as 'br'"),
])
def test_the_client_names_the_operation_and_the_endpoint_of_a_bad_reply(serve, wire, error, words):
    server, _ = serve(close(wire))
    client = ListrakClient(config(server.url, backoff_max_tries=1))
    with pytest.raises(error, match=words) as caught:
        client.request("GetContactListCollection")
    assert server.url in str(caught.value) and "\n" not in str(caught.value)


def test_a_compressed_body_cut_short_inside_a_whole_frame_is_transient(serve):
    """urllib3 hands over what a gzip stream holds without asking for its end; the reply reader then
    finds the XML cut off."""
    server, _ = serve(reply(gzip.compress(lists("cut"))[:-60], "Content-Encoding: gzip"))
    client = ListrakClient(config(server.url, backoff_max_tries=1))
    with pytest.raises(RetryableError, match="GetContactListCollection: "):
        client.request("GetContactListCollection")


# -- what the HTTP layer it replaced got wrong -----------------------------------------------------
def test_stray_bytes_after_a_reply_never_answer_the_next_request(serve):
    """A server that writes a second, unasked-for reply right behind the first, in the same segment:
    the next request gets its own reply, not the stray one."""
    def script(connection, n):
        return reply(lists("first")) + reply(lists("stray")) if n == 1 else reply(lists(f"asked {n}"))

    server, _ = serve(script)
    client = ListrakClient(config(server.url))
    assert list_names(client) == ["first"]
    assert list_names(client) in (["asked 2"], ["asked 1"])  # on the same connection, or a new one
    assert "stray" not in str(list_names(client))


def test_a_reply_framed_by_both_length_and_chunks_is_refused_and_asked_again_on_a_new_connection(serve, caplog):
    smuggled = chunked(lists("smuggled"))
    both = reply(smuggled, "Transfer-Encoding: chunked", length=False).replace(
        b"\r\n\r\n", b"\r\nContent-Length: %d\r\n\r\n" % len(smuggled), 1)

    def script(connection, n):
        return both if connection == 1 else reply(lists(f"honest {connection}"))

    server, transport = serve(script)
    with pytest.raises(RetryableError, match="both Content-Length and Transfer-Encoding"):
        transport.post("", {}, b"<request/>")
    assert b"".join(transport.post("", {}, b"<request/>").chunks(1024)) == lists("honest 2")

    server, _ = serve(script)
    client = ListrakClient(config(server.url, backoff_max_tries=2))
    assert list_names(client) == ["honest 2"] and server.connections == 2
    assert "Retrying" in caplog.text and "both Content-Length and Transfer-Encoding" in caplog.text


@pytest.mark.parametrize("head,dripped", [
    (b"", b"HTTP/1.1 200 OK\r\n" + b"X" * 60),  # the status line, a byte at a time
    (b"HTTP/1.1 200 OK\r\n", b"X-Slow: " + b"x" * 60),  # one endless header
])
def test_request_timeout_bounds_a_dripped_status_line_or_header(serve, head, dripped):
    """urllib3 reads the head in loops of its own, each read quick: the watchdog ends the exchange."""
    server, _ = serve(lambda connection, n: drip(head, dripped, every=0.25))
    client = ListrakClient(config(server.url, request_timeout=1.5, backoff_max_tries=2, backoff_base_seconds=0.1))
    started = time.monotonic()
    with pytest.raises(RetryableError, match="within 1.5 s .*request_timeout.*gave up"):
        client.request("GetContactListCollection")
    elapsed = time.monotonic() - started
    assert 2 * 1.5 - 0.1 <= elapsed <= 2 * 1.5 + 0.2 + 1.0, elapsed


def test_a_connection_back_in_the_pool_is_never_cut_by_its_old_deadline(serve):
    """The watchdog cuts only an exchange still running: kept connections outlive their deadlines."""
    server, transport = serve(lambda connection, n: reply())
    transport.timeout = 0.3
    for _ in range(3):
        assert read(transport)[0] == 200
        time.sleep(0.4)  # every earlier deadline has passed while the connection sat in the pool
    assert server.connections == 1


def test_deadlines_of_ended_exchanges_are_not_held_until_they_pass(serve):
    """request_timeout is minutes long: the watchdog drops ended exchanges long before, so what it holds
    stays bounded however many requests a run makes."""
    from tap_listrak.transport import PURGE_AT, WATCHDOG
    _, transport = serve(lambda connection, n: reply())
    transport.timeout = 300
    for _ in range(5 * PURGE_AT):
        assert read(transport)[0] == 200
    assert WATCHDOG.held <= 2 * PURGE_AT


def test_request_timeout_bounds_the_whole_exchange_not_each_read(serve):
    """Headers, then a byte a second: each read is quick, the reply never ends. Every attempt ends
    at request_timeout, and the run fails within tries × request_timeout plus the backoff."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 40\r\n\r\n"
    server, _ = serve(lambda connection, n: drip(head, lists("x")[:40], every=1.0))
    client = ListrakClient(config(server.url, request_timeout=2, backoff_max_tries=2, backoff_base_seconds=0.1))
    started = time.monotonic()
    with pytest.raises(RetryableError, match="within 2 s .*request_timeout.*gave up") as caught:
        client.request("GetContactListCollection")
    elapsed = time.monotonic() - started
    assert 2 * 2 - 0.1 <= elapsed <= 2 * 2 + 0.2 + 1.0, elapsed  # two attempts, a wait of at most 0.2 s
    assert client.failure is caught.value and server.connections == 2
