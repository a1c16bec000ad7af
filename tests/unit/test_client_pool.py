"""The connection pool: proxies and CA bundle from the environment, as requests reads them, and a
connection reused from one request to the next, on a real socket."""
import http.server
import threading

import pytest
import urllib3
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from tap_listrak.client import connection_pool
from tap_listrak.config import parse_config
from tap_listrak.errors import ConfigError

ENVIRONMENT = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def config(url="https://webservices.listrak.com/v31/IntegrationService.asmx", workers=4):
    return parse_config({"username": "u", "password": "p", "start_date": "2024-01-01T00:00:00Z",
                         "endpoint_url": url, "max_workers": workers})


def test_without_a_proxy_the_pool_is_direct_and_verifies_tls_with_the_default_bundle():
    pool = connection_pool(config(workers=7))
    assert type(pool) is urllib3.PoolManager
    assert pool.connection_pool_kw["cert_reqs"] == "CERT_REQUIRED"
    assert pool.connection_pool_kw["ca_certs"] == DEFAULT_CA_BUNDLE_PATH
    assert pool.connection_pool_kw["maxsize"] == 9  # every worker, and room for the message index reads


def test_a_ca_bundle_from_the_environment_is_used(monkeypatch, tmp_path):
    bundle = tmp_path / "corporate.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    assert connection_pool(config()).connection_pool_kw["ca_certs"] == str(bundle)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path))  # a directory of certificates
    assert connection_pool(config()).connection_pool_kw["ca_cert_dir"] == str(tmp_path)


def test_the_https_proxy_is_used_with_its_credentials(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy-user:s%40cret@proxy.example:3128")
    pool = connection_pool(config())
    assert isinstance(pool, urllib3.ProxyManager)
    assert pool.proxy.host == "proxy.example" and pool.proxy.port == 3128
    assert pool.proxy_headers["Proxy-Authorization"].startswith("Basic ")


def test_no_proxy_bypasses_the_proxy(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", ".listrak.com")
    assert type(connection_pool(config())) is urllib3.PoolManager


def test_a_socks_proxy_is_refused_in_one_line(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "socks5://proxy.example:1080")
    with pytest.raises(ConfigError, match="HTTP proxies only") as caught:
        connection_pool(config())
    assert "\n" not in str(caught.value)


class _Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    peers: list = []

    def do_POST(self):
        self.peers.append((self.client_address, self.path))
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_plain_http_proxy_forwards_and_connections_are_reused(monkeypatch):
    """Through a real HTTP proxy (here the echo server plays it: a forward proxy receives the
    absolute URL), two requests share one connection."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _Echo.peers.clear()
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_port}")
        pool = connection_pool(config(url="http://listrak.invalid/v31/IntegrationService.asmx"))
        for body in (b"one", b"two"):
            reply = pool.urlopen("POST", "http://listrak.invalid/v31/IntegrationService.asmx", body=body,
                                 retries=False, preload_content=False)
            assert reply.read() == body
            reply.release_conn()
        url = "http://listrak.invalid/v31/IntegrationService.asmx"
        assert _Echo.peers == [(_Echo.peers[0][0], url)] * 2  # the proxy's form of a request; one connection
    finally:
        server.shutdown()
        server.server_close()
