"""What the walk asks of Listrak: no request that cannot return data, and no reply trusted blindly.
Runs the real client against the emulator on a socket."""
import datetime as dt
import io
import json
import math
import re
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tap_listrak import parents as parents_module
from tap_listrak import sync as sync_module
from tap_listrak.catalog import selections_from_catalog
from tap_listrak.client import ListrakClient
from tap_listrak.config import parse_config
from tap_listrak.errors import ProtocolError
from tap_listrak.output import SingerWriter
from tap_listrak.progress import Progress
from tap_listrak.state import State
from tests.e2e.tap_runner import canonical, catalog_selecting, tap_config
from tests.emulator import rawsoap

START = "2024-01-01T00:00:00Z"


def _client(emulator, **settings):
    return ListrakClient(parse_config(tap_config(emulator, START, **settings)))


def test_paging_ends_only_at_the_empty_page_and_learns_nothing(emulator_factory):
    emulator = emulator_factory(lists=2, messages_per_list=6, recipients=40, page_size=25, test_message_rate=0.3)
    client = _client(emulator)
    truth = emulator.truth("2022-01-01", include_test_messages=True)
    sends = {}
    for record in truth["message_sends"]:
        sends[record["MsgID"]] = sends.get(record["MsgID"], 0) + 1
    small = next(msg for msg, count in sends.items() if count < 25)   # a test message
    large = next(msg for msg, count in sends.items() if count > 25 and count % 25)
    emulator.record_calls()

    def requests_for(msg_id):
        emulator.reset()
        items = [item["EmailAddress"] for page in client.pages("ReportMessageContactSent", MsgID=msg_id)
                 for item in page]
        assert sorted(items) == sorted(r["EmailAddress"] for r in truth["message_sends"] if r["MsgID"] == msg_id)
        return emulator.calls()

    def pages(msg_id, count):
        return [("ReportMessageContactSent", {"MsgID": msg_id, "Page": page}) for page in range(1, count + 1)]

    assert requests_for(small) == pages(small, 2)              # page 1, then the empty page 2
    # A short last page does not end it: the page after it, empty, does.
    assert requests_for(large) == pages(large, math.ceil(sends[large] / 25) + 1)
    assert requests_for(small) == pages(small, 2)              # no page size carried from one unit to another


class _FixedServer(ThreadingHTTPServer):
    """A SOAP endpoint whose reply to every Page is given by `reply(page)`."""

    def __init__(self, reply):
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                page = int(re.search(rb"<ns0:Page>(\d+)</ns0:Page>", body).group(1))
                data = reply(page)
                self.send_response(200)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/v31/IntegrationService.asmx"
        threading.Thread(target=self.serve_forever, daemon=True).start()


def _sent_page(emails: list[str]) -> bytes:
    items = "".join(f"<WSMessageRecipient><EmailAddress>{e}</EmailAddress></WSMessageRecipient>" for e in emails)
    return ("<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'><soap:Body>"
            "<ReportMessageContactSentResponse xmlns='http://webservices.listrak.com/v31/'>"
            f"<ReportMessageContactSentResult>{items}</ReportMessageContactSentResult>"
            "</ReportMessageContactSentResponse></soap:Body></soap:Envelope>").encode()


def _fixed_client(server, **settings):
    config = {"username": "u1", "password": "p1", "start_date": START, "endpoint_url": server.url,
              "backoff_max_tries": 1, **settings}
    return ListrakClient(parse_config(config))


def test_an_endpoint_that_ignores_page_is_a_protocol_error():
    server = _FixedServer(lambda page: _sent_page(["a@example.com", "b@example.com"]))
    try:
        with pytest.raises(ProtocolError, match="identical to page 1"):
            list(_fixed_client(server).pages("ReportMessageContactSent", MsgID=1))
    finally:
        server.shutdown()


def test_a_unit_without_an_empty_page_stops_at_max_pages():
    server = _FixedServer(lambda page: _sent_page([f"{page}@example.com"]))
    try:
        client = _fixed_client(server, max_pages=7)
        with pytest.raises(ProtocolError, match="ReportMessageContactSent returned 7 pages without an empty one"):
            list(client.pages("ReportMessageContactSent", MsgID=1))
        assert client.requests_by_operation["ReportMessageContactSent"] == 7
    finally:
        server.shutdown()


def test_short_pages_and_pages_of_nil_slots_do_not_end_a_unit():
    nil = "<WSMessageRecipient xsi:nil='true' xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'/>"
    pages = {1: _sent_page(["a@example.com"]), 2: _sent_page([]).replace(b"</ReportMessageContactSentResult>",
                                                                        (nil * 3).encode() + b"</ReportMessageContactSentResult>"),
             3: _sent_page(["c@example.com", "d@example.com"])}
    server = _FixedServer(lambda page: pages.get(page, _sent_page([])))
    try:
        got = [item["EmailAddress"] for page in _fixed_client(server).pages("ReportMessageContactSent", MsgID=1)
               for item in page]
        assert got == ["a@example.com", "c@example.com", "d@example.com"]
    finally:
        server.shutdown()


def _activity_slots(emulator, list_id: int, start: dt.datetime, end: dt.datetime) -> int:
    """How many slots (messages and xsi:nil items) the emulator's message index holds for a range."""
    params = {"ListID": list_id, "StartDate": start.isoformat(), "EndDate": end.isoformat(),
              "IncludeTestMessages": "false"}
    status, _headers, body = rawsoap.call(emulator.url, "ReportListMessageActivity", params)
    assert status == 200, body
    return body.count(b"<WSMessageActivity>") + body.count(b"<WSMessageActivity ") + body.count(b"<WSMessageActivity/>")


def test_a_crowded_window_is_asked_again_in_halves(emulator_factory, monkeypatch):
    emulator = emulator_factory(lists=2, messages_per_list=12, recipients=5, page_size=25)
    monkeypatch.setattr(parents_module, "WINDOW_SPLIT_AT", 3)
    start, end = dt.datetime(2022, 1, 1), dt.datetime(2026, 6, 1)
    config = parse_config(tap_config(emulator, "2022-01-01", interval_days=4000, end_date="2026-06-01",
                                     max_workers=1))
    out = io.StringIO()
    selections = selections_from_catalog(catalog_selecting(["messages"]))
    emulator.record_calls()
    sync_module.Sync(config, ListrakClient(config), selections, State(), SingerWriter(out),
                     progress=Progress(terminal=False)).run()
    calls = emulator.calls()

    # What the tap must ask: per list, the one window [start, end) (interval_days covers it), each
    # request a day wider on each side; a reply of 3 or more slots asked again as two halves while a
    # window is wider than two days. The slot counts come from the emulator, asked directly.
    day = dt.timedelta(days=1)
    expected = [("GetContactListCollection", {})]
    lists = [record["ListID"] for record in emulator.truth("2022-01-01")["lists"]]

    def windows(list_id, low, high):
        expected.append(("ReportListMessageActivity", {"ListID": list_id, "StartDate": low - day,
                                                       "EndDate": high + day, "IncludeTestMessages": False}))
        if _activity_slots(emulator, list_id, low - day, high + day) >= 3 and high - low > 2 * day:
            middle = low + (high - low) / 2
            windows(list_id, low, middle)
            windows(list_id, middle, high)

    for list_id in lists:
        windows(list_id, start, end)
    assert sorted(map(repr, calls)) == sorted(map(repr, expected))
    assert len(expected) > 1 + 2 * len(lists)  # some windows were split, in every list with messages
    emitted = [json.loads(line, parse_float=Decimal)["record"] for line in out.getvalue().splitlines()
               if '"RECORD"' in line]
    expected_records = emulator.truth("2022-01-01", end_date="2026-06-01")["messages"]
    assert canonical(emitted) == canonical(expected_records) and len(emitted) > 6
