"""Command-line knobs, shared by the server CLI and the ground-truth CLI, and their inverse (cli_args)."""
from __future__ import annotations

import argparse
from datetime import date

from .spec import (DEFAULT_FAULT_KINDS, EMPTY_RESULT_FORMS, EVENT_DATE_FORMATS, FAULT_KINDS, PAGED_OPERATIONS,
                   RANGE_ENDS, DatasetSpec, ServerSpec)

_D, _S = DatasetSpec(), ServerSpec()


def _id_list(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def _kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(part.strip() for part in text.split(",") if part.strip())
    for kind in kinds:
        if kind not in FAULT_KINDS:
            raise argparse.ArgumentTypeError(f"unknown fault kind {kind!r}; choose from {', '.join(FAULT_KINDS)}")
    return kinds


def add_knobs(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data (deterministic, generated lazily from --seed)")
    data.add_argument("--seed", type=int, default=_D.seed, help="seed of all generated data (default %(default)s)")
    data.add_argument("--lists", type=int, default=_D.lists, help="contact lists (default %(default)s)")
    data.add_argument("--empty-lists", type=int, default=_D.empty_lists,
                      help="the last N lists have no messages; at least one list keeps its messages (default %(default)s)")
    data.add_argument("--messages-per-list", type=int, default=_D.messages_per_list,
                      help="messages per non-empty list, test messages included (default %(default)s)")
    data.add_argument("--recipients", type=int, default=_D.recipients,
                      help="recipients per message; test messages go to at most 10 (default %(default)s)")
    data.add_argument("--open-rate", type=float, default=_D.open_rate, help="share of recipients who open (default %(default)s)")
    data.add_argument("--click-rate", type=float, default=_D.click_rate,
                      help="share of recipients who click, at most --open-rate (default %(default)s)")
    data.add_argument("--read-rate", type=float, default=_D.read_rate,
                      help="share of recipients who read, at most --open-rate (default %(default)s)")
    data.add_argument("--unsub-rate", type=float, default=_D.unsub_rate, help="share who unsubscribe (default %(default)s)")
    data.add_argument("--bounce-rate", type=float, default=_D.bounce_rate, help="share who bounce (default %(default)s)")
    data.add_argument("--subscribers-per-list", type=int, default=_D.subscribers_per_list,
                      help="subscribed contacts per list (default %(default)s)")
    data.add_argument("--first-date", type=date.fromisoformat, default=_D.first_date,
                      help="first local send date, YYYY-MM-DD (default %(default)s)")
    data.add_argument("--last-date", type=date.fromisoformat, default=_D.last_date,
                      help="last local send date; events run up to ~45 days later (default %(default)s)")
    data.add_argument("--test-message-rate", type=float, default=_D.test_message_rate,
                      help="share of messages that are test messages (default %(default)s)")
    data.add_argument("--timezone", default=_D.timezone,
                      help="IANA zone of the account: naive request dates are read as its wall time and returned "
                           "dates are its wall time without offset (default %(default)s)")
    data.add_argument("--vanish-msg-ids", type=_id_list, default=_D.vanish_msg_ids, metavar="ID,ID",
                      help="messages listed by ReportListMessageActivity whose per-message calls answer the 404 fault")
    data.add_argument("--no-nil-items", dest="nil_items", action="store_false",
                      help="do not put xsi:nil items into arrays (by default a few arrays end with one)")
    data.add_argument("--burst-messages", type=int, default=_D.burst_messages, metavar="N",
                      help="N extra non-test messages in list 0, all sent at the same instant (09:00 local on the "
                           "middle day of the send dates), numbered after every other message (default %(default)s)")

    wire = parser.add_argument_group("behaviour")
    wire.add_argument("--username", default=_S.username, help="accepted WSUser/UserName (default %(default)s)")
    wire.add_argument("--password", default=_S.password, help="accepted WSUser/Password (default %(default)s)")
    wire.add_argument("--lockout-after", type=int, default=_S.lockout_after,
                      help="after N bad logins the account locks: every call answers [LoginAttemptsExceeded] until "
                           "POST /_reset (0 = never, default)")
    wire.add_argument("--prohibited-ip", action="store_true", help="every call answers the [ProhibitedIPAddress] fault")
    wire.add_argument("--page-size", type=int, default=_S.page_size,
                      help="items per page of the paged operations (default %(default)s)")
    wire.add_argument("--page-size-for", dest="page_sizes", action="append", default=[], metavar="OP=N",
                      help=f"page size N for paged operation OP instead of --page-size; repeatable "
                           f"(OP among {', '.join(PAGED_OPERATIONS)})")
    wire.add_argument("--page-size-per-unit", action="store_true",
                      help="each unit (operation + MsgID/ListID + date range) gets its own page size, drawn from "
                           "the seed between half the configured size and the full size")
    wire.add_argument("--page-jitter", type=int, default=_S.page_jitter, metavar="N",
                      help="each page holds between size - N and size slots (at least 1), drawn from the seed, "
                           "the unit and the page number; 0 = every page but the last is full (default)")
    wire.add_argument("--nil-slot-rate", type=float, default=_S.nil_slot_rate, metavar="R",
                      help="share of page slots, in [0, 1), that hold an xsi:nil item instead of a real one: a page "
                           "of N slots may then hold fewer than N items, none at all, and still not be the last "
                           "(default %(default)s)")
    wire.add_argument("--nil-only-page", type=int, default=_S.nil_only_page, metavar="N",
                      help="page N of every paged result with data after it holds only nil slots (0 = never, default)")
    wire.add_argument("--range-ends", choices=RANGE_ENDS, default=_S.range_ends,
                      help="which StartDate/EndDate bounds are inclusive (default %(default)s)")
    wire.add_argument("--event-date-format", choices=EVENT_DATE_FORMATS, default=_S.event_date_format,
                      help="form of OpenDate/ClickDate/ReadDate/BounceDate: iso 2024-01-05T13:04:05, "
                           "iso-fraction 2024-01-05T13:04:05.12, us 1/5/2024 1:04:05 PM (default %(default)s)")
    wire.add_argument("--empty-result", choices=EMPTY_RESULT_FORMS, default=_S.empty_result,
                      help="an empty result as <OpResult /> (element) or left out (omitted) (default %(default)s)")
    wire.add_argument("--latency-ms", type=float, default=_S.latency_ms, help="delay added to every SOAP reply")
    wire.add_argument("--fault-rate", type=float, default=_S.fault_rate,
                      help="share of authenticated data calls that get an injected fault (default %(default)s)")
    wire.add_argument("--fault-kinds", type=_kinds, default=DEFAULT_FAULT_KINDS, metavar="KIND,KIND",
                      help=f"kinds drawn by --fault-rate, among {', '.join(FAULT_KINDS)} "
                           f"(default {','.join(DEFAULT_FAULT_KINDS)})")
    wire.add_argument("--fault-on", action="append", default=[], metavar="OP:N:KIND",
                      help="the Nth (1-based) authenticated data call of operation OP gets fault KIND; OP * counts "
                           "the data calls of every operation in arrival order; repeatable")
    wire.add_argument("--activity-cap", type=int, default=_S.activity_cap, metavar="N",
                      help="ReportListMessageActivity silently returns only the earliest N messages (by SendDate, "
                           "then MsgID) of the requested range; 0 = no cap (default)")
    wire.add_argument("--flood-bytes", type=int, default=_S.flood_bytes, metavar="N",
                      help="every authenticated data call answers HTTP 200 with a reply whose first item holds N "
                           "bytes of text in one element, streamed in 1 MiB chunks with a matching Content-Length "
                           "(no faults are drawn); 0 = off (default)")
    wire.add_argument("--stall-seconds", type=float, default=_S.stall_seconds,
                      help="how long a stall fault holds its reply (default %(default)s)")


def specs_from_args(args: argparse.Namespace) -> tuple[DatasetSpec, ServerSpec]:
    values = vars(args)
    dataset = DatasetSpec(**{f: values[f] for f in DatasetSpec.__dataclass_fields__})
    server = ServerSpec(**{f: values[f] for f in ServerSpec.__dataclass_fields__})
    return dataset, server


def cli_args(dataset: DatasetSpec, server: ServerSpec) -> list[str]:
    """The command-line knobs that rebuild the same specs (only those that differ from the defaults)."""
    args: list[str] = []
    for spec, default in ((dataset, _D), (server, _S)):
        for name in spec.__dataclass_fields__:
            value, base = getattr(spec, name), getattr(default, name)
            if value == base:
                continue
            flag = "--" + name.replace("_", "-")
            if name == "nil_items":
                args.append("--no-nil-items")
            elif name in ("prohibited_ip", "page_size_per_unit"):
                args.append(flag)
            elif name == "fault_on":
                for rule in value:
                    args += [flag, rule]
            elif name == "page_sizes":
                for entry in value:
                    args += ["--page-size-for", entry]
            elif name in ("vanish_msg_ids", "fault_kinds"):
                args += [flag, ",".join(str(v) for v in value)]
            else:
                args += [flag, str(value)]
    return args
