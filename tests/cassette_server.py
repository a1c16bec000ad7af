"""Listrak's documented replies, kept as vcrpy cassettes, served from a real HTTP server on 127.0.0.1.

The cassettes are replayed from a real socket rather than through vcrpy's patches of urllib3, so
the tap's whole path runs on them: its urllib3 pool, the deadline, the reply reader. vcrpy loads a
cassette and matches each request the server receives against it (method, path, SOAPAction), and
the server writes the recorded reply back on the socket. A request the cassette does not hold gets
HTTP 599 and fails the test that sent it.
"""
from __future__ import annotations

import contextlib
import http.server
import threading
from pathlib import Path

from vcr.cassette import Cassette
from vcr.errors import UnhandledHTTPRequestError
from vcr.matchers import method, path
from vcr.record_mode import RecordMode
from vcr.request import Request


def _soapaction(r1, r2):
    assert r1.headers.get("SOAPAction") == r2.headers.get("SOAPAction")


class CassetteServer:
    """One server for a test module; use_cassette() chooses what it replays."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.cassette: Cassette | None = None
        self.unmatched: list[str] = []
        self._server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
            self._server.daemon_threads = True
            threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_port}/v31/IntegrationService.asmx"

    @contextlib.contextmanager
    def use_cassette(self, name: str, allow_playback_repeats: bool = False):
        self.unmatched.clear()
        self.cassette = Cassette.load(path=str(self.directory / name), record_mode=RecordMode.NONE,
                                      match_on=(method, path, _soapaction),
                                      allow_playback_repeats=allow_playback_repeats)
        try:
            yield self.cassette
        finally:
            self.cassette = None
        assert not self.unmatched, f"requests the cassette {name} does not hold: {self.unmatched}"


def _handler(server: CassetteServer):
    class Replay(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = Request("POST", f"https://webservices.listrak.com{self.path}", body, dict(self.headers))
            try:
                if server.cassette is None:
                    raise UnhandledHTTPRequestError("no cassette in use")
                recorded = server.cassette.play_response(request)
            except UnhandledHTTPRequestError:
                server.unmatched.append(f"{self.path} {self.headers.get('SOAPAction')}")
                self.send_response(599)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            payload = recorded["body"]["string"]
            payload = payload.encode("utf-8") if isinstance(payload, str) else payload
            self.send_response(recorded["status"]["code"], recorded["status"]["message"])
            for name, values in recorded["headers"].items():
                if name.lower() not in ("content-length", "transfer-encoding", "content-encoding"):
                    for value in values:
                        self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    return Replay
