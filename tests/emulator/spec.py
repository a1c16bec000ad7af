"""Knobs of the emulator: what data it holds (DatasetSpec) and how it behaves (ServerSpec)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Optional

from .times import rfc3339, to_utc_instant

_RANGE = "MsgID StartDate EndDate Page"
# Operation -> (item element of its array, its parameters, whether its response has the WSException sibling).
OPERATIONS = {
    "GetContactListCollection": ("WSContactList", "", False),
    "ReportListMessageActivity": ("WSMessageActivity", "ListID StartDate EndDate IncludeTestMessages", True),
    "ReportMessageContactSent": ("WSMessageRecipient", "MsgID Page", True),
    "ReportRangeMessageContactOpen": ("WSContactOpen", _RANGE, False),
    "ReportRangeMessageContactClick": ("WSContactClick", _RANGE, False),
    "ReportRangeMessageContactRead": ("WSContactRead", _RANGE, False),
    "ReportRangeMessageContactRemoval": ("WSContactRemovalInfo", _RANGE, False),
    "ReportRangeMessageContactBounces": ("WSContactBounce", _RANGE, False),
    "ReportRangeSubscribedContacts": ("WSContactSubscriptionInfo", "ListID StartDate EndDate Page", False),
    "ReportRangeListContactRemoval": ("WSContactRemovalInfo", "ListID StartDate EndDate Page", False),
    "ReportRangeListContactHygiene": ("WSContactHygieneInfo", "ListID StartDate EndDate Page", False),
    "ReportMessageLinkClick": ("WSMessageLink", "MsgID Page", True),
    "GetCampaignCollection": ("WSCampaign", "ListID", False),
    "GetMessageAnalyticsInformation": ("WSMessageAnalyticsInformation", "MsgIDs", False),
    "ReportListMessageDelivery": ("WSMessageDelivery", "ListID StartDate EndDate IncludeTestMessages", True),
    "ReportListConversationActivity": ("WSConversationActivity", "ListID IncludeTerminated", True),
    "GetProfileHeaderCollection": ("WSProfileHeader", "ListID", True),
    "ReportAdminContactFeedbackLoop": ("WSFeedbackLoopListing", "StartDate EndDate Page", True),
}
# GetMessageAnalyticsInformation's documented limit of MsgIDs per call (docs/listrak-api.md §8).
ANALYTICS_LIMIT = 2500
# The operations that take a Page (GetContactListCollection and ReportListMessageActivity answer in one reply).
PAGED_OPERATIONS = tuple(op for op, (_item, params, _exception) in OPERATIONS.items() if "Page" in params)

FAULT_KINDS = ("fault500", "html503", "drop", "truncate", "stall", "throttle", "deadlock404", "auth", "locked")
# Left out of the default mix: stall costs a client its whole timeout on every hit; deadlock404 carries
# "404" (which a client may take for a vanished message); auth and locked are fatal, not transient.
DEFAULT_FAULT_KINDS = ("fault500", "html503", "drop", "truncate", "throttle")
RANGE_ENDS = ("inclusive", "exclusive", "start-exclusive", "end-exclusive")
EVENT_DATE_FORMATS = ("iso", "iso-fraction", "us")
EMPTY_RESULT_FORMS = ("element", "omitted")
ELEMENT_ORDERS = ("wsdl", "reversed")
BODY_FRAMINGS = ("length", "chunked", "gzip", "gzip-chunked")
# --segmentation-fields: fields per profile header, and the most a list can have (header ids are 50 apart per list).
FIELDS_PER_HEADER = 20
MAX_PROFILE_FIELDS = 49 * FIELDS_PER_HEADER


def knob(default, help: str, **cli):  # noqa: A002 - argparse's word
    """A field with its --help text; cli may name its flag, choices, metavar, or repeat=True (a repeatable flag)."""
    return field(default=default, metadata={"help": help, **cli})


@dataclass(frozen=True)
class DatasetSpec:
    """What the emulated account contains. Everything is derived from (seed, id), lazily.

    timezone and vanish_msg_ids live here, not in ServerSpec, because they shape the data itself:
    generated wall-clock times are local to the account's zone (and avoid its DST gaps and folds,
    so that every rendered local time names exactly one instant), and a vanished message is one
    deleted from the account after it was listed.
    """

    seed: int = knob(1, "seed of all generated data")
    lists: int = knob(3, "contact lists")
    empty_lists: int = knob(1, "the last N lists have subscribers but no messages; at least one list keeps its messages")
    messages_per_list: int = knob(8, "messages per non-empty list, test messages included")
    recipients: int = knob(120, "recipients per message; test messages go to at most 10")
    open_rate: float = knob(0.35, "share of recipients who open")
    click_rate: float = knob(0.12, "share of recipients who click, at most --open-rate (clickers are openers)")
    read_rate: float = knob(0.2, "share of recipients who read, at most --open-rate (readers are openers)")
    unsub_rate: float = knob(0.03, "share who unsubscribe")
    bounce_rate: float = knob(0.04, "share who bounce")
    subscribers_per_list: int = knob(150, "subscribed contacts per list")
    first_date: date = knob(date(2022, 1, 1), "first local send date, YYYY-MM-DD")
    last_date: date = knob(date(2025, 12, 31), "last local send date; events run up to ~45 days later")
    test_message_rate: float = knob(0.1, "share of messages that are test messages")
    timezone: str = knob("UTC", "IANA zone of the account: naive request dates are read as its wall time and "
                                "returned dates are its wall time without offset")
    vanish_msg_ids: tuple[int, ...] = knob((), "messages listed by ReportListMessageActivity whose per-message "
                                               "calls answer the 404 fault", metavar="ID,ID")
    nil_items: bool = knob(True, "do not put xsi:nil items into arrays (by default a few arrays end with one)",
                           flag="--no-nil-items")
    burst_messages: int = knob(0, "N extra non-test messages in list 0, all sent at the same instant (09:00 local on "
                                  "the middle day of the send dates), numbered after every other message", metavar="N")
    segmentation_fields: Optional[int] = knob(None, "profile (segmentation) fields on every list, in groups of up to "
                                                    f"{FIELDS_PER_HEADER} (at most {MAX_PROFILE_FIELDS}); none = as "
                                                    "generated: 4, 0 and 2 fields on lists 0, 1 and 2, and so on",
                                              metavar="N")

    def __post_init__(self) -> None:
        _settle(self)
        if self.click_rate > self.open_rate or self.read_rate > self.open_rate:
            raise ValueError("click_rate and read_rate must not exceed open_rate (clickers and readers are openers)")
        if self.open_rate + self.bounce_rate > 1.0:
            raise ValueError("open_rate + bounce_rate must not exceed 1 (bounced mail is never opened)")
        if self.last_date < self.first_date:
            raise ValueError("last_date is before first_date")
        if self.segmentation_fields is not None and not 0 <= self.segmentation_fields <= MAX_PROFILE_FIELDS:
            raise ValueError(f"segmentation_fields must be within [0, {MAX_PROFILE_FIELDS}]")


@dataclass(frozen=True)
class ServerSpec:
    """How the emulated service behaves on the wire."""

    username: str = knob("demo-user", "accepted WSUser/UserName")
    password: str = knob("demo-pass", "accepted WSUser/Password")
    lockout_after: int = knob(0, "after N bad logins the account locks: every call answers [LoginAttemptsExceeded] "
                                 "until POST /_reset (0 = never)")
    prohibited_ip: bool = knob(False, "every call answers the [ProhibitedIPAddress] fault")
    no_analytics_access: bool = knob(False, "the user lacks Analytics Access: every call but "
                                            "GetContactListCollection answers the [InvalidLogonAttempt] fault")
    page_size: int = knob(2500, "items per page of the paged operations")
    page_sizes: tuple[str, ...] = knob((), f"page size N for paged operation OP instead of --page-size; "
                                           f"repeatable (OP among {', '.join(PAGED_OPERATIONS)})",
                                       flag="--page-size-for", metavar="OP=N", repeat=True)
    page_size_per_unit: bool = knob(False, "each unit (operation + MsgID/ListID + date range) gets its own page size, "
                                           "drawn from the seed between half the configured size and the full size")
    page_jitter: int = knob(0, "each page holds between size - N and size slots (at least 1), drawn from the seed, "
                               "the unit and the page number; 0 = every page but the last is full", metavar="N")
    nil_slot_rate: float = knob(0.0, "share of page slots, in [0, 1), that hold an xsi:nil item instead of a real one: "
                                     "a page of N slots may then hold fewer than N items, none at all, and still not "
                                     "be the last", metavar="R")
    nil_only_page: int = knob(0, "page N of every paged result with data after it holds only nil slots (0 = never)",
                              metavar="N")
    ignore_page: bool = knob(False, "every page of a paged operation is page 1, whatever Page says (an endpoint "
                                    "that ignores Page)")
    range_ends: str = knob("inclusive", "which StartDate/EndDate bounds are inclusive", choices=RANGE_ENDS)
    event_date_format: str = knob("iso-fraction", "form of OpenDate/ClickDate/ReadDate/BounceDate: iso "
                                                  "2024-01-05T13:04:05, iso-fraction 2024-01-05T13:04:05.12, us "
                                                  "1/5/2024 1:04:05 PM", choices=EVENT_DATE_FORMATS)
    empty_result: str = knob("element", "an empty result as <OpResult /> (element) or left out (omitted)",
                             choices=EMPTY_RESULT_FORMS)
    element_order: str = knob("wsdl", "children of the item types whose order no source gives (WSCampaign, "
                                      "WSMessageLink, WSMessageDelivery, WSConversationActivity, WSProfileHeader, "
                                      "WSProfileAttribute, WSFeedbackLoopListing) in the bundled WSDL's order or "
                                      "reversed", choices=ELEMENT_ORDERS)
    body_framing: str = knob("length", "how a reply's body goes on the wire: as it is with a Content-Length (length), "
                                       "in 8 KB chunks (chunked), gzip-compressed when the request accepts gzip, "
                                       "with a Content-Length (gzip) or chunked (gzip-chunked)", choices=BODY_FRAMINGS)
    latency_ms: float = knob(0.0, "time from a SOAP request's arrival to its reply, the emulator's own work included")
    cache_units: int = knob(192, "rendered units (operation and list or message) kept in memory; the benchmark "
                                 "keeps a whole account, so that generating data does not take the machine's "
                                 "CPU from the tap under test", metavar="N")
    fault_rate: float = knob(0.0, "share of authenticated data calls that get an injected fault")
    fault_kinds: tuple[str, ...] = knob(DEFAULT_FAULT_KINDS, f"kinds drawn by --fault-rate, among "
                                                             f"{', '.join(FAULT_KINDS)}", choices=FAULT_KINDS,
                                        metavar="KIND,KIND")
    fault_on: tuple[str, ...] = knob((), "the Nth (1-based) authenticated data call of operation OP gets fault KIND; "
                                         "OP * counts the data calls of every operation in arrival order; repeatable",
                                     metavar="OP:N:KIND", repeat=True)
    stall_seconds: float = knob(30.0, "how long a stall fault holds its reply")
    activity_cap: int = knob(0, "ReportListMessageActivity silently returns only the earliest N messages (by "
                                "SendDate, then MsgID) of the requested range; 0 = no cap", metavar="N")
    flood_bytes: int = knob(0, "every authenticated data call answers HTTP 200 with a reply whose first item holds N "
                               "bytes of text in one element, streamed in 1 MiB chunks with a matching "
                               "Content-Length (no faults are drawn); 0 = off", metavar="N")
    # The clock: the only knobs that change at run time (POST /_clock); the service reads them per call.
    as_of: Optional[datetime] = knob(None, "serve the account as of this instant (ISO 8601, naive = UTC): messages "
                                           "sent, contacts added and events dated after it do not exist yet, and "
                                           "the message counters count only reported events; none = everything "
                                           "exists", metavar="INSTANT")
    reporting_delay_hours: float = knob(0.0, "with --as-of, events of the last H hours before it exist but are not "
                                             "yet in the event reports nor in the counters", metavar="H")

    def __post_init__(self) -> None:
        _settle(self)
        if self.page_size < 1:
            raise ValueError("page_size must be >= 1")
        if self.nil_slot_rate == 1.0:
            raise ValueError("nil_slot_rate must be below 1 (for a page of nil slots only use nil_only_page)")
        if self.fault_rate > 0 and not self.fault_kinds:
            raise ValueError("fault_rate > 0 needs at least one fault kind")
        object.__setattr__(self, "reporting_delay_hours", float(self.reporting_delay_hours))
        if not 0 <= self.reporting_delay_hours < math.inf:
            raise ValueError(f"reporting_delay_hours must be finite and >= 0, got {self.reporting_delay_hours}")
        self.page_size_overrides()
        self.fault_rules()

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

    def clock(self) -> dict:
        """The clock knobs as JSON values (what /_clock answers)."""
        return {"as_of": rfc3339(self.as_of), "reporting_delay_hours": self.reporting_delay_hours}


def _settle(spec) -> None:
    """Lists become tuples, ISO texts dates or naive UTC instants; counts are >= 0 (seed aside), rates in [0, 1],
    choices kept to."""
    for f in fields(spec):
        value = getattr(spec, f.name)
        if isinstance(value, list) or (f.type == "date" and isinstance(value, str)):
            value = tuple(value) if isinstance(value, list) else date.fromisoformat(value)
            object.__setattr__(spec, f.name, value)
        if f.type == "Optional[datetime]" and value is not None:
            if not isinstance(value, (str, datetime)):  # e.g. a number in a POST /_clock body
                raise TypeError(f"{f.name} must be an ISO 8601 instant, got {value!r}")
            value = to_utc_instant(value)
            object.__setattr__(spec, f.name, value)
        if f.type == "int" and f.name != "seed" and value < 0:
            raise ValueError(f"{f.name} must be >= 0, got {value}")
        if f.name.endswith("_rate") and not 0.0 <= value <= 1.0:
            raise ValueError(f"{f.name} must be within [0, 1], got {value}")
        for item in (value if isinstance(value, tuple) else (value,)) if "choices" in f.metadata else ():
            _check_choice(f.name, item, f.metadata["choices"])


def parse_fault_on(rule: str) -> tuple[str, int, str]:
    try:
        op, n, kind = rule.split(":")
        n_int = int(n)
    except ValueError:
        raise ValueError(f"fault rule {rule!r} is not OP:N:KIND") from None
    _check_choice("operation", op, (*OPERATIONS, "*"))
    _check_choice("fault kind", kind, FAULT_KINDS)
    if n_int < 1:
        raise ValueError(f"fault rule {rule!r}: N is 1-based")
    return op, n_int, kind


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose from {', '.join(choices)}")


DATASET_FIELDS = frozenset(f.name for f in fields(DatasetSpec))
SERVER_FIELDS = frozenset(f.name for f in fields(ServerSpec))


def split_knobs(knobs: dict) -> tuple[DatasetSpec, ServerSpec]:
    """Build both specs from one flat mapping of field names (as the pytest factory takes them)."""
    unknown = set(knobs) - DATASET_FIELDS - SERVER_FIELDS
    if unknown:
        raise TypeError(f"unknown emulator knob(s): {', '.join(sorted(unknown))}")
    dataset = DatasetSpec(**{k: v for k, v in knobs.items() if k in DATASET_FIELDS})
    server = ServerSpec(**{k: v for k, v in knobs.items() if k in SERVER_FIELDS})
    return dataset, server
