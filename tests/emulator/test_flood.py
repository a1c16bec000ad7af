"""--flood-bytes: a well-formed reply start, then more text in one element than any client should read."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from tests.emulator import rawsoap, wire

ROOT = Path(__file__).resolve().parents[2]
OP = "ReportRangeMessageContactOpen"
MiB = 1 << 20


def _open_flood(url: str, op: str = OP, params: dict | None = None) -> tuple[socket.socket, bytes, bytes]:
    """Send one SOAP call over a raw socket; -> (socket, status line and headers, first body bytes)."""
    parts = urlsplit(url)
    body = rawsoap.envelope(op, params if params is not None else
                            {"MsgID": 300007, "StartDate": "2000-01-01", "EndDate": "2100-01-01", "Page": 1}).encode()
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    sock.sendall(f"POST {parts.path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml; charset=utf-8\r\n"
                 f'SOAPAction: "{rawsoap.NS}{op}"\r\nContent-Length: {len(body)}\r\n\r\n'.encode() + body)
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    head, _sep, rest = head.partition(b"\r\n\r\n")
    return sock, head, rest


def _read(sock: socket.socket, start: bytes, amount: int, keep: int = 4 * MiB) -> bytes:
    """Read until `amount` bytes came (start included); -> the first `keep` of them (the rest is dropped)."""
    got, total = [start], len(start)
    while total < amount:
        chunk = sock.recv(min(4 * MiB, amount - total))
        assert chunk, "the server closed early"
        if total < keep:
            got.append(chunk)
        total += len(chunk)
    return b"".join(got)


def _elements(prefix: bytes) -> list[str]:
    parser = etree.XMLPullParser(events=("start",))
    parser.feed(prefix)
    return [etree.QName(element).localname for _event, element in parser.read_events()]


def test_small_flood_is_one_well_formed_reply(emulator_factory):
    handle = emulator_factory(lists=1, flood_bytes=3 * MiB + 5)
    params = {"MsgID": handle.data.msg_id(0, 0), "Page": 1}
    status, headers, body = rawsoap.call(handle.url, "ReportMessageContactSent", params)
    assert status == 200 and int(headers["Content-Length"]) == len(body)
    root = etree.fromstring(body, etree.XMLParser(huge_tree=True))
    email = root.find(f".//{{{rawsoap.NS}}}WSMessageRecipient/{{{rawsoap.NS}}}EmailAddress")
    assert len(email.text) == 3 * MiB + 5
    assert root.find(f".//{{{rawsoap.NS}}}WSException") is not None  # the wrapped form keeps its sibling
    _s, _h, lists = rawsoap.call(handle.url, "GetContactListCollection")
    assert _elements(lists[:600])[-3:] == ["GetContactListCollectionResult", "WSContactList", "ListName"]
    assert rawsoap.call(handle.url, OP, password="wrong")[0] == 500  # authentication still comes first
    assert handle.stats()["flood_bytes_sent"] >= 2 * (3 * MiB)


def test_a_two_gib_flood_is_streamed_and_a_client_can_walk_away(emulator_factory):
    flood = 2 << 30
    process = subprocess.Popen([sys.executable, "-m", "tests.emulator", "--port", "0", "--lists", "1",
                                "--flood-bytes", str(flood)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        base = url.split("/v31/")[0]

        def rss() -> int:
            status = Path(f"/proc/{process.pid}/status").read_text()
            return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) * 1024

        first, head, rest = _open_flood(url)
        length, _chunks = wire.flood(OP, flood)
        assert head.startswith(b"HTTP/1.1 200") and f"Content-Length: {length}\r\n".encode() in head + b"\r\n"
        prefix = _read(first, rest, 4 * MiB)
        assert _elements(prefix[:4096]) == ["Envelope", "Body", f"{OP}Response", f"{OP}Result", "WSContactOpen",
                                            "EmailAddress"]
        before = rss()
        # While that reply is stuck half-read, other connections are served.
        second, head2, rest2 = _open_flood(url, "GetContactListCollection", {})
        assert head2.startswith(b"HTTP/1.1 200") and b"<ListName>" in _read(second, rest2, 1024)
        with urllib.request.urlopen(base + "/_stats", timeout=5) as reply:
            assert reply.status == 200
        _read(first, b"", 256 * MiB)
        assert rss() - before < 32 * MiB  # a 256 MiB read cost the server no memory
        first.close()
        second.close()
        time.sleep(0.3)
        with urllib.request.urlopen(url + "?WSDL", timeout=5) as reply:
            assert reply.status == 200
        third, head3, rest3 = _open_flood(url)
        assert head3.startswith(b"HTTP/1.1 200") and b"<EmailAddress>flood-" in _read(third, rest3, 2048)
        third.close()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_stop_does_not_wait_for_a_flood_in_progress():
    from tests.emulator.harness import EmulatorHandle

    handle = EmulatorHandle(lists=1, flood_bytes=1 << 30)
    sock, head, rest = _open_flood(handle.url)
    _read(sock, rest, MiB)
    started = time.monotonic()
    handle.stop()
    assert time.monotonic() - started < 3
    sock.close()  # the streaming thread sees the client gone and ends
    assert handle.internal_errors() == []
