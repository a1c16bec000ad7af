"""Adding a stream is one table entry and a schema: the walk needs nothing else.

The new stream here reads an operation the emulator already serves under another name, so the
ground truth is known; the catalog, plan, runner and state handle it without a line of their own."""
import io
import sys

import simplejson

from tap_listrak import streams
from tap_listrak.catalog import build_catalog, selections_from_catalog
from tap_listrak.client import ListrakClient
from tap_listrak.config import parse_config
from tap_listrak.output import SingerWriter
from tap_listrak.progress import Progress
from tap_listrak.state import State
from tap_listrak.streams import PAGE, Stream
from tap_listrak.sync import Sync
from tests.e2e.tap_runner import canonical, catalog_selecting, tap_config

START = "2024-01-01T00:00:00Z"
RECIPIENTS = Stream("message_recipients", "ReportMessageContactSent", "WSMessageRecipient",
                    ("MsgID", "EmailAddress"), parent="messages", parent_field="MsgID", inherits=("SendDate",),
                    params=(PAGE,))


def _add_to_the_table(monkeypatch, stream: Stream, schema: dict) -> None:
    table = streams.STREAMS + (stream,)
    for name, module in list(sys.modules.items()):
        if name.startswith("tap_listrak"):
            for attribute, value in (("STREAMS", table), ("STREAMS_BY_NAME", {s.name: s for s in table})):
                if hasattr(module, attribute):
                    monkeypatch.setattr(module, attribute, value)
    monkeypatch.setitem(streams.TABLES, streams.SOAP, table)
    monkeypatch.setitem(streams._BY_NAME, streams.SOAP, {s.name: s for s in table})
    original = streams.load_schema
    monkeypatch.setattr(streams, "load_schema",
                        lambda name, api=streams.SOAP: schema if name == stream.name else original(name, api))


def test_a_new_stream_needs_only_a_table_entry_and_a_schema(emulator_factory, monkeypatch):
    emulator = emulator_factory(lists=2, messages_per_list=4, recipients=30, subscribers_per_list=5, page_size=10)
    _add_to_the_table(monkeypatch, RECIPIENTS, streams.load_schema("message_sends"))
    assert "message_recipients" in {entry["tap_stream_id"] for entry in build_catalog()["streams"]}
    config = parse_config(tap_config(emulator, START))
    out = io.StringIO()
    selections = selections_from_catalog(catalog_selecting(["message_recipients"], base=build_catalog()))
    Sync(config, ListrakClient(config), selections, State(), SingerWriter(out), progress=Progress(terminal=False)).run()
    messages = [simplejson.loads(line, use_decimal=True) for line in out.getvalue().splitlines()]
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    assert {m["stream"] for m in messages if m["type"] == "RECORD"} == {"message_recipients"}
    assert canonical(records) == canonical(emulator.truth(START)["message_sends"]) and records
    positions = [m["value"]["bookmarks"]["message_recipients"].get("position") for m in messages
                 if m["type"] == "STATE" and "message_recipients" in m["value"]["bookmarks"]]
    assert [p for p in positions if p] and messages[-1]["value"]["bookmarks"] == {}
