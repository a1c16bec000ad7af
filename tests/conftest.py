"""Shared fixtures: emulated Listrak services on 127.0.0.1 (see tests/emulator/README.md)."""
from __future__ import annotations

import pytest

from tests.emulator.harness import EmulatorHandle

# Small enough to sync in a second, big enough to page (page_size 25) and to hold every special case.
SMALL_DATASET = dict(lists=3, messages_per_list=6, recipients=40, subscribers_per_list=60, page_size=25)


@pytest.fixture
def emulator_factory():
    """emulator_factory(**knobs) -> EmulatorHandle; knobs are DatasetSpec/ServerSpec field names.

    Every emulator it started is stopped at teardown.
    """
    started: list[EmulatorHandle] = []

    def start(**knobs) -> EmulatorHandle:
        handle = EmulatorHandle(**knobs)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.stop()


@pytest.fixture
def emulator(emulator_factory) -> EmulatorHandle:
    """An emulator with the small default dataset (3 lists, 6 messages each, 40 recipients, page size 25)."""
    return emulator_factory(**SMALL_DATASET)
