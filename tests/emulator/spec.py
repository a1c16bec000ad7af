"""Knobs of the emulator: what data it holds (DatasetSpec) and how it behaves (ServerSpec)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

OPERATIONS = (
    "GetContactListCollection",
    "ReportListMessageActivity",
    "ReportMessageContactSent",
    "ReportRangeMessageContactOpen",
    "ReportRangeMessageContactClick",
    "ReportRangeMessageContactRead",
    "ReportRangeMessageContactRemoval",
    "ReportRangeMessageContactBounces",
    "ReportRangeSubscribedContacts",
)
# The operations that take a Page (GetContactListCollection and ReportListMessageActivity answer in one reply).
PAGED_OPERATIONS = OPERATIONS[2:]

FAULT_KINDS = ("fault500", "html503", "drop", "truncate", "stall", "throttle", "deadlock404", "auth", "locked")
# Left out of the default mix: stall costs a client its whole timeout on every hit; deadlock404 carries
# "404" (which a client may take for a vanished message); auth and locked are fatal, not transient.
DEFAULT_FAULT_KINDS = ("fault500", "html503", "drop", "truncate", "throttle")
RANGE_ENDS = ("inclusive", "exclusive", "start-exclusive", "end-exclusive")
EVENT_DATE_FORMATS = ("iso", "iso-fraction", "us")
EMPTY_RESULT_FORMS = ("element", "omitted")


@dataclass(frozen=True)
class DatasetSpec:
    """What the emulated account contains. Everything is derived from (seed, id), lazily.

    timezone and vanish_msg_ids live here, not in ServerSpec, because they shape the data itself:
    generated wall-clock times are local to the account's zone (and avoid its DST gaps and folds,
    so that every rendered local time names exactly one instant), and a vanished message is one
    deleted from the account after it was listed.
    """

    seed: int = 1
    lists: int = 3
    empty_lists: int = 1  # the last N lists have subscribers but no messages (at least one list keeps them)
    messages_per_list: int = 8
    recipients: int = 120  # per (non-test) message; test messages go to at most 10 seed addresses
    open_rate: float = 0.35
    click_rate: float = 0.12  # share of recipients who click (a subset of openers)
    read_rate: float = 0.2  # share of recipients who read (a subset of openers)
    unsub_rate: float = 0.03
    bounce_rate: float = 0.04
    subscribers_per_list: int = 150
    first_date: date = date(2022, 1, 1)
    last_date: date = date(2025, 12, 31)
    test_message_rate: float = 0.1
    timezone: str = "UTC"
    vanish_msg_ids: tuple[int, ...] = ()
    nil_items: bool = True  # sprinkle xsi:nil items into some arrays (the WSDL allows them)
    burst_messages: int = 0  # extra non-test messages of list 0, all sent at one instant (see data.py)

    def __post_init__(self) -> None:
        counts = (self.lists, self.messages_per_list, self.recipients, self.subscribers_per_list, self.burst_messages)
        if min(counts) < 0:
            raise ValueError("counts must be >= 0")
        for name in ("open_rate", "click_rate", "read_rate", "unsub_rate", "bounce_rate", "test_message_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
        if self.click_rate > self.open_rate or self.read_rate > self.open_rate:
            raise ValueError("click_rate and read_rate must not exceed open_rate (clickers and readers are openers)")
        if self.open_rate + self.bounce_rate > 1.0:
            raise ValueError("open_rate + bounce_rate must not exceed 1 (bounced mail is never opened)")
        for name in ("first_date", "last_date"):
            if isinstance(getattr(self, name), str):
                object.__setattr__(self, name, date.fromisoformat(getattr(self, name)))
        if self.last_date < self.first_date:
            raise ValueError("last_date is before first_date")
        object.__setattr__(self, "vanish_msg_ids", tuple(int(v) for v in self.vanish_msg_ids))


@dataclass(frozen=True)
class ServerSpec:
    """How the emulated service behaves on the wire."""

    username: str = "demo-user"
    password: str = "demo-pass"
    lockout_after: int = 0  # 0: never lock; N: the (N+1)th bad login locks the account
    prohibited_ip: bool = False
    page_size: int = 2500
    page_sizes: tuple[str, ...] = ()  # "OP=N": page size N for operation OP instead of page_size
    page_size_per_unit: bool = False  # each unit (MsgID/ListID + range) draws its size in [size/2, size]
    page_jitter: int = 0  # each page holds between size - N and size slots
    nil_slot_rate: float = 0.0  # share of page slots that hold an xsi:nil item instead of an entry
    nil_only_page: int = 0  # page N of a unit is nil slots only when data follows (0: never)
    range_ends: str = "inclusive"
    event_date_format: str = "iso-fraction"
    empty_result: str = "element"
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = DEFAULT_FAULT_KINDS
    fault_on: tuple[str, ...] = ()  # "OP:N:KIND": the Nth data call of OP (of any operation for *) gets KIND
    stall_seconds: float = 30.0
    activity_cap: int = 0  # ReportListMessageActivity returns at most N messages, the earliest (0: no cap)
    flood_bytes: int = 0  # every authenticated data call answers 200 with N bytes of text in one element

    def __post_init__(self) -> None:
        if self.page_size < 1:
            raise ValueError("page_size must be >= 1")
        object.__setattr__(self, "page_sizes", tuple(self.page_sizes))
        self.page_size_overrides()
        if min(self.page_jitter, self.nil_only_page, self.activity_cap, self.flood_bytes) < 0:
            raise ValueError("page_jitter, nil_only_page, activity_cap and flood_bytes must be >= 0")
        if not 0.0 <= self.nil_slot_rate < 1.0:
            raise ValueError("nil_slot_rate must be within [0, 1) (for a page of nil slots only use nil_only_page)")
        _check_choice("range_ends", self.range_ends, RANGE_ENDS)
        _check_choice("event_date_format", self.event_date_format, EVENT_DATE_FORMATS)
        _check_choice("empty_result", self.empty_result, EMPTY_RESULT_FORMS)
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("fault_rate must be within [0, 1]")
        kinds = tuple(self.fault_kinds)
        for kind in kinds:
            _check_choice("fault kind", kind, FAULT_KINDS)
        if self.fault_rate > 0 and not kinds:
            raise ValueError("fault_rate > 0 needs at least one fault kind")
        object.__setattr__(self, "fault_kinds", kinds)
        object.__setattr__(self, "fault_on", tuple(self.fault_on))
        for rule in self.fault_on:
            parse_fault_on(rule)

    def page_size_overrides(self) -> dict[str, int]:
        sizes = {}
        for entry in self.page_sizes:
            op, _, n = entry.partition("=")
            _check_choice("paged operation", op, PAGED_OPERATIONS)
            if not n.isdigit() or int(n) < 1:
                raise ValueError(f"page size entry {entry!r} is not OP=N with N >= 1")
            sizes[op] = int(n)
        return sizes

    def fault_rules(self) -> dict[tuple[str, int], str]:
        return dict(((op, n), kind) for op, n, kind in map(parse_fault_on, self.fault_on))


def parse_fault_on(rule: str) -> tuple[str, int, str]:
    try:
        op, n, kind = rule.split(":")
        n_int = int(n)
    except ValueError:
        raise ValueError(f"fault rule {rule!r} is not OP:N:KIND") from None
    _check_choice("operation", op, OPERATIONS + ("*",))
    _check_choice("fault kind", kind, FAULT_KINDS)
    if n_int < 1:
        raise ValueError(f"fault rule {rule!r}: N is 1-based")
    return op, n_int, kind


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose from {', '.join(choices)}")


DATASET_FIELDS = frozenset(f.name for f in dataclasses.fields(DatasetSpec))
SERVER_FIELDS = frozenset(f.name for f in dataclasses.fields(ServerSpec))


def split_knobs(knobs: dict) -> tuple[DatasetSpec, ServerSpec]:
    """Build both specs from one flat mapping of field names (as the pytest factory takes them)."""
    unknown = set(knobs) - DATASET_FIELDS - SERVER_FIELDS
    if unknown:
        raise TypeError(f"unknown emulator knob(s): {', '.join(sorted(unknown))}")
    dataset = DatasetSpec(**{k: v for k, v in knobs.items() if k in DATASET_FIELDS})
    server = ServerSpec(**{k: v for k, v in knobs.items() if k in SERVER_FIELDS})
    return dataset, server
