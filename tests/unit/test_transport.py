"""HTTP on the tap's own sockets (transport.py): where requests go (proxies and CA bundle from the
environment, as requests reads them), and how replies are framed, decoded and connections kept,
each against a real server on 127.0.0.1 that writes exactly the bytes a test gives it."""
import gzip
import http.server
import socket
import ssl
import subprocess
import threading
import zlib

import pytest
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from tap_listrak.client import ListrakClient, route_for
from tap_listrak.config import parse_config
from tap_listrak.errors import ConfigError, ProtocolError, RetryableError
from tap_listrak.transport import BrokenReply, Route, Transport, UnsupportedReply

ENVIRONMENT = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
BODY = b"<reply>" + b"x" * 200_000 + b"</reply>"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def config(url="https://webservices.listrak.com/v31/IntegrationService.asmx", workers=4):
    return parse_config({"username": "u", "password": "p", "start_date": "2024-01-01T00:00:00Z",
                         "endpoint_url": url, "max_workers": workers, "request_timeout": 5})


# -- the route -----------------------------------------------------------------------------------
def test_without_a_proxy_the_route_is_direct_and_verifies_tls_with_the_default_bundle():
    route = route_for(config())
    assert route.proxy is None and route.ca_certs == DEFAULT_CA_BUNDLE_PATH and route.ca_cert_dir is None
    assert route.connect_timeout == route.read_timeout == 5


def test_the_pool_keeps_a_connection_for_every_worker_and_the_message_index_reads():
    assert ListrakClient(config(workers=7)).transport.pool_size == 9


def test_a_ca_bundle_from_the_environment_is_used(monkeypatch, tmp_path):
    bundle = tmp_path / "corporate.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    assert route_for(config()).ca_certs == str(bundle)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path))  # a directory of certificates
    route = route_for(config())
    assert route.ca_cert_dir == str(tmp_path) and route.ca_certs is None


def test_the_https_proxy_is_used_with_its_credentials(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy-user:s%40cret@proxy.example:3128")
    route = route_for(config())
    assert route.proxy == "http://proxy-user:s%40cret@proxy.example:3128" and not route.forwarding
    assert route.proxy_headers["Proxy-Authorization"].startswith("Basic ")


def test_no_proxy_bypasses_the_proxy(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", ".listrak.com")
    assert route_for(config()).proxy is None


def test_a_socks_proxy_is_refused_in_one_line(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "socks5://proxy.example:1080")
    with pytest.raises(ConfigError, match="HTTP proxies only") as caught:
        route_for(config())
    assert "\n" not in str(caught.value)


class _Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    peers: list = []

    def do_POST(self):
        self.peers.append((self.client_address, self.path, self.headers.get("Proxy-Authorization")))
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_plain_http_proxy_forwards_and_connections_are_reused(monkeypatch):
    """Through a real HTTP proxy (here the echo server plays it: a forward proxy receives the
    absolute URL and the proxy's credentials), two requests share one connection."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _Echo.peers.clear()
        monkeypatch.setenv("HTTP_PROXY", f"http://user:pw@127.0.0.1:{server.server_port}")
        url = "http://listrak.invalid/v31/IntegrationService.asmx"
        transport = Transport(route_for(config(url=url)), pool_size=2)
        for body in (b"one", b"two"):
            assert b"".join(transport.post({}, body).chunks(1024)) == body
        assert _Echo.peers == [(_Echo.peers[0][0], url, "Basic dXNlcjpwdw==")] * 2
    finally:
        server.shutdown()
        server.server_close()


# -- TLS, directly and through a CONNECT tunnel -------------------------------------------------
@pytest.fixture
def tls_echo(tmp_path):
    """An https echo server whose certificate names 127.0.0.1, the bundle that trusts it, and the
    server-side TLS context (for a proxy that speaks TLS with the same certificate)."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_port}/v31/IntegrationService.asmx", str(cert), context
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
    transport = Transport(Route(url, ca_certs=bundle), pool_size=2)
    assert b"".join(transport.post({}, b"over tls").chunks(1024)) == b"over tls"
    with pytest.raises(ssl.SSLCertVerificationError):
        Transport(Route(url, ca_certs=DEFAULT_CA_BUNDLE_PATH), pool_size=2).post({}, b"x")


@pytest.mark.parametrize("proxy_tls", [False, True], ids=["http-proxy", "https-proxy"])
def test_an_https_endpoint_is_reached_through_a_connect_tunnel(monkeypatch, tls_echo, proxy_tls):
    """Through an http:// proxy, and through an https:// one (TLS to the proxy, TLS inside it)."""
    url, bundle, context = tls_echo
    proxy = TunnelProxy(context if proxy_tls else None)
    try:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
        monkeypatch.setenv("NO_PROXY", "")
        transport = Transport(route_for(config(url=url)), pool_size=2)
        for body in (b"one", b"two"):
            assert b"".join(transport.post({}, body).chunks(1024)) == body
        port = url.split(":")[2].split("/")[0]
        (request, credentials), = proxy.connects  # one tunnel, kept for the second request
        assert request.startswith(f"CONNECT 127.0.0.1:{port} HTTP/1.") and credentials == "Basic dXNlcjpwdw=="
    finally:
        proxy.close()


# -- replies, byte for byte ----------------------------------------------------------------------
class Scripted(Listener):
    """A server that answers the n-th request on each connection with the bytes script(connection,
    n) returns (None: close the connection without a word; close(bytes): write them, then close)."""

    def __init__(self, script):
        self.script, self.requests = script, 0
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}/v31/IntegrationService.asmx"

    def serve(self, sock, connection):
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
                sock.sendall(bytes(reply))
                if isinstance(reply, close):
                    return


class close(bytes):
    """Bytes after which the server closes the connection."""


@pytest.fixture
def serve():
    servers = []

    def start(script):
        server = Scripted(script if callable(script) else (lambda connection, n: script))
        servers.append(server)
        return server, Transport(Route(server.url, read_timeout=5), pool_size=2)

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
    answer = transport.post({"SOAPAction": '"x"'}, b"<request/>")
    pieces = list(answer.chunks(size))
    return answer.status, answer.headers, b"".join(pieces), pieces


def test_a_reply_with_a_length_is_read_whole_and_its_connection_kept(serve):
    server, transport = serve(reply(BODY, "Server: Microsoft-IIS/10.0", "X-Folded: one", "  two"))
    for _ in range(3):
        status, headers, body, pieces = read(transport)
        assert status == 200 and body == BODY and max(map(len, pieces)) <= 16 * 1024
        assert headers["server"] == "Microsoft-IIS/10.0" and headers["x-folded"] == "one two"
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


def test_a_body_that_compresses_a_thousandfold_comes_out_in_bounded_pieces(serve):
    _, transport = serve(reply(gzip.compress(b"\0" * (20 << 20)), "Content-Encoding: gzip"))
    answer = transport.post({}, b"")
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


def test_an_interim_100_continue_is_skipped(serve):
    _, transport = serve(b"HTTP/1.1 100 Continue\r\n\r\n" + reply(b"<x/>"))
    assert read(transport)[:1] == (200,) and read(transport)[2] == b"<x/>"


def test_a_kept_alive_connection_the_server_dropped_is_replaced_silently(serve):
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


def test_a_new_connection_closed_without_a_reply_is_a_network_failure(serve):
    _, transport = serve(lambda connection, n: None)
    with pytest.raises(ConnectionResetError):
        read(transport)


@pytest.mark.parametrize("wire, words", [
    (reply(BODY)[:-1000], "1,000 bytes short of what its Content-Length declares"),
    (reply(chunked(BODY)[:-5000], "Transfer-Encoding: chunked", length=False), "short of what its chunk size"),
    (reply(chunked(BODY)[:-21], "Transfer-Encoding: chunked", length=False), "cut off inside its chunked body"),
    (reply(gzip.compress(BODY)[:-100], "Content-Encoding: gzip"), "gzip body was cut off"),
    (reply(b"not gzip at all", "Content-Encoding: gzip"), "compressed body is corrupt"),
    (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "status line is not HTTP/1.x"),
    (reply(b"<x/>", *[f"X-{i}: {i}" for i in range(120)]), "more than 100 headers"),
    (reply(b"<x/>", "Content-Length: 5", length=True), "Content-Length is not one number"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n", "headers were cut off"),
])
def test_a_broken_reply_is_a_transient_failure(serve, wire, words):
    server, transport = serve(close(wire))
    with pytest.raises(BrokenReply, match=words) as caught:
        read(transport)
    assert "\n" not in str(caught.value)


def test_an_encoding_that_was_not_asked_for_is_refused(serve):
    _, transport = serve(reply(b"\x1b\x00", "Content-Encoding: br"))
    with pytest.raises(UnsupportedReply, match="encoded as 'br'"):
        read(transport)


@pytest.mark.parametrize("wire, error, words", [
    (reply(BODY)[:-1000], RetryableError, "GetContactListCollection: the reply was cut off"),
    (reply(b"\x1b\x00", "Content-Encoding: br"), ProtocolError, "GetContactListCollection: the reply is encoded as 'br'"),
])
def test_the_client_names_the_operation_and_the_endpoint_of_a_bad_reply(serve, wire, error, words):
    server, _ = serve(close(wire))
    client = ListrakClient(parse_config({"username": "u", "password": "p", "start_date": "2024-01-01T00:00:00Z",
                                         "endpoint_url": server.url, "backoff_max_tries": 1}))
    with pytest.raises(error, match=words) as caught:
        client.request("GetContactListCollection")
    assert server.url in str(caught.value) and "\n" not in str(caught.value)
