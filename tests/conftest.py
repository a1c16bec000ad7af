"""Shared fixtures: emulated Listrak services on 127.0.0.1 (see tests/emulator/README.md)."""
from __future__ import annotations

from typing import Iterable

import pytest

from tests.emulator.harness import EmulatorHandle
from tests.rest_emulator.harness import RestEmulatorHandle

# Small enough to sync in a second, big enough to page (page_size 25) and to hold every special case.
SMALL_DATASET = dict(lists=3, messages_per_list=6, recipients=40, subscribers_per_list=60, page_size=25)
# The REST emulator's small account: the same data knobs (page sizes are the client's count there).
SMALL_REST_DATASET = dict(lists=3, messages_per_list=6, recipients=40, subscribers_per_list=60)


def internal_errors_report(handles: Iterable[EmulatorHandle]) -> str | None:
    """The emulators' own failures, tracebacks included, as one text; None when there were none.

    The emulator answers a failure of its own code with a soap:Server fault, which the tap retries:
    without this, a bug of the emulator could hide behind a retry and a test still pass."""
    errors = [(handle.url, text) for handle in handles for text in handle.internal_errors()]
    if not errors:
        return None
    return f"the emulator failed internally {len(errors)} time(s) during the test:\n" + "\n".join(
        f"--- {url}\n{text}" for url, text in errors)


@pytest.fixture
def emulator_factory():
    """emulator_factory(**knobs) -> EmulatorHandle; knobs are DatasetSpec/ServerSpec field names.

    Every emulator it started is stopped at teardown, and the test fails there if any of them failed
    internally (an exception in the emulator's code; injected faults are not failures)."""
    started: list[EmulatorHandle] = []

    def start(**knobs) -> EmulatorHandle:
        handle = EmulatorHandle(**knobs)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.stop()
    report = internal_errors_report(started)
    if report:
        pytest.fail(report, pytrace=False)


@pytest.fixture
def emulator(emulator_factory) -> EmulatorHandle:
    """An emulator with the small default dataset (3 lists, 6 messages each, 40 recipients, page size 25)."""
    return emulator_factory(**SMALL_DATASET)


@pytest.fixture
def rest_emulator_factory():
    """rest_emulator_factory(**knobs) -> RestEmulatorHandle; knobs are DatasetSpec/RestServerSpec field names
    (tests/rest_emulator/README.md).

    Every REST emulator it started is stopped at teardown, and the test fails there if any of them failed
    internally (an exception in the emulator's code, answered as a 500; injected faults are not failures)."""
    started: list[RestEmulatorHandle] = []

    def start(**knobs) -> RestEmulatorHandle:
        handle = RestEmulatorHandle(**knobs)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.stop()
    report = internal_errors_report(started)
    if report:
        pytest.fail(report, pytrace=False)


@pytest.fixture
def rest_emulator(rest_emulator_factory) -> RestEmulatorHandle:
    """A REST emulator with the small account (3 lists, 6 messages each, 40 recipients, 60 subscribers)."""
    return rest_emulator_factory(**SMALL_REST_DATASET)
