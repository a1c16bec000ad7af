"""How the client takes replies off the wire, on a real socket: a request's slot is given back once
its reply is in, before it is parsed; a reply past the size limit is refused as it arrives."""
import threading
import time

import pytest

from tap_listrak.client import ListrakClient
from tap_listrak.config import parse_config
from tap_listrak.errors import ProtocolError
from tests.e2e.tap_runner import tap_config

START = "2024-01-01T00:00:00Z"


def _client(emulator, **settings) -> ListrakClient:
    return ListrakClient(parse_config(tap_config(emulator, START, **settings)))


def _wait_for(condition, seconds=10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_a_slot_is_given_back_before_the_reply_is_parsed(emulator_factory):
    """While no reply can be parsed (the parse lock is held here), every request still goes out, two
    at a time: a reply waiting its turn to be parsed keeps no request off the wire."""
    emulator = emulator_factory(lists=2, messages_per_list=2, recipients=20)
    client = _client(emulator, max_workers=2)
    pages, errors = [], []

    def ask():
        try:
            pages.append(client.request("GetContactListCollection"))
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    with client.cpu:
        workers = [threading.Thread(target=ask) for _ in range(5)]
        for worker in workers:
            worker.start()
        assert _wait_for(lambda: emulator.stats()["total_requests"] == 5), emulator.stats()
        assert not pages  # none parsed yet
    for worker in workers:
        worker.join(timeout=10)
    assert not errors and len(pages) == 5 and len({page.slots for page in pages}) == 1 and pages[0].slots > 0
    assert emulator.stats()["max_in_flight"] <= 2


def test_a_reply_past_the_size_limit_is_refused_as_it_arrives(emulator_factory):
    emulator = emulator_factory(lists=1, messages_per_list=1, recipients=5, flood_bytes=64 << 20)
    client = _client(emulator, max_reply_megabytes=1)
    with pytest.raises(ProtocolError, match="passed 1 MB without ending") as caught:
        client.request("GetContactListCollection")
    assert "max_reply_megabytes" in str(caught.value) and "\n" not in str(caught.value)
    assert _wait_for(lambda: emulator.stats()["flood_bytes_sent"] > 0)
    assert emulator.stats()["flood_bytes_sent"] < 16 << 20  # not read on past the limit
