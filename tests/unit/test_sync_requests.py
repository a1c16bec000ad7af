"""What the walk asks of Listrak: no request that cannot return data, and no reply trusted blindly.
Runs the real client against the emulator on a socket."""
import datetime as dt
import io
import math

from tap_listrak import sync as sync_module
from tap_listrak.catalog import selections_from_catalog
from tap_listrak.client import ListrakClient
from tap_listrak.config import parse_config
from tap_listrak.output import SingerWriter
from tap_listrak.progress import Progress
from tap_listrak.state import State
from tests.e2e.tap_runner import catalog_selecting, tap_config

START = "2024-01-01T00:00:00Z"


def _client(emulator, **settings):
    return ListrakClient(parse_config(tap_config(emulator, START, **settings)))


def test_page_size_is_learned_and_saves_the_empty_page(emulator_factory):
    emulator = emulator_factory(lists=2, messages_per_list=6, recipients=40, page_size=25, test_message_rate=0.3)
    client = _client(emulator)
    truth = emulator.truth("2022-01-01", include_test_messages=True)
    sends = {}
    for record in truth["message_sends"]:
        sends[record["MsgID"]] = sends.get(record["MsgID"], 0) + 1
    small = next(msg for msg, count in sends.items() if count < 25)   # a test message
    large = next(msg for msg, count in sends.items() if count > 25 and count % 25)

    def requests_for(msg_id):
        emulator.reset()
        items = [item for page in client.pages("ReportMessageContactSent", MsgID=msg_id) for item in page]
        assert len(items) == sends[msg_id]
        return emulator.stats()["requests"]["ReportMessageContactSent"]

    assert requests_for(small) == 2                 # size unknown: page 1, then the empty page 2
    assert requests_for(large) == sends[large] // 25 + 1   # learns 25 on its way; the short page ends it
    assert client.page_sizes == {"ReportMessageContactSent": 25}
    assert requests_for(small) == 1                 # now a short first page is known to be the last


def test_an_unlearned_operation_pages_to_the_empty_page(emulator_factory):
    emulator = emulator_factory(lists=1, empty_lists=0, messages_per_list=2, recipients=10, page_size=25)
    client = _client(emulator)
    msg_id = emulator.truth("2022-01-01")["messages"][0]["MsgID"]
    assert len(list(client.pages("ReportMessageContactSent", MsgID=msg_id))) == 1
    assert emulator.stats()["requests"]["ReportMessageContactSent"] == 2


def test_a_crowded_window_is_asked_again_in_halves(emulator_factory, monkeypatch):
    emulator = emulator_factory(lists=2, messages_per_list=12, recipients=5, page_size=25)
    monkeypatch.setattr(sync_module, "WINDOW_SPLIT_AT", 3)
    config = parse_config(tap_config(emulator, "2022-01-01", interval_days=4000, end_date="2026-06-01",
                                     max_workers=1))
    out = io.StringIO()
    selections = selections_from_catalog(catalog_selecting(["messages"]))
    sync_module.Sync(config, ListrakClient(config), selections, State(), SingerWriter(out),
                     progress=Progress(terminal=False)).run()
    assert emulator.stats()["requests"]["ReportListMessageActivity"] > 2  # more than one call per list
    emitted = sorted(line for line in out.getvalue().splitlines() if '"RECORD"' in line)
    expected = emulator.truth("2022-01-01", end_date="2026-06-01")["messages"]
    assert len(emitted) == len(expected) > 6
