"""`tap-listrak --probe`: which of Listrak's undocumented behaviours hold on this account.

Listrak leaves open its page size, whether a range's ends are inclusive, how dates are written,
how an empty result looks and whether the message index is capped (docs/listrak-api.md §13). The
tap is built to be right under every answer (docs/architecture.md, "Decisions on what Listrak leaves
open"), and where it still relies on an assumption, this measures it: read-only, at most
MAX_REQUESTS requests, and a report that names the setting to change when an assumption does not
hold.

The report is redacted by construction: it is built from counts, durations, operation and field
names, and the raw text of date fields only (a value that does not look like a date is replaced by
its length). No address, contact ID, list or message name, subject, link or credential is ever put
into it.

Each measurement is a small function over the client's public API (`request`, `items`); what it
cannot test on this account it reports as null, with the reason.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Callable

from tap_listrak import __version__
from tap_listrak.client import ListrakClient
from tap_listrak.config import Config
from tap_listrak.errors import AuthenticationError, Cancelled, ListrakError, NotFoundError, TapError
from tap_listrak.parents import WINDOW_SPLIT_AT
from tap_listrak.plan import REQUEST_MARGIN
from tap_listrak.transform import DateReader

MAX_REQUESTS = 60
# Attempts per request: a flaky account should not make the probe take minutes.
PROBE_TRIES = 2
PROBE_RETRY_SECONDS = 30.0
# Lists whose subscribed contacts and message index are read (the first ones by ListID).
PROBED_LISTS = 8
# Messages tried, most recent first, until one has opens (for the string-typed dates).
MESSAGES_FOR_DATES = 3
DATE_SAMPLES = 3
# Nothing in Listrak's SOAP API is dated before this: windows ending before it are empty.
EARLIEST = dt.datetime(2000, 1, 1)
# A date in a reply later than the probe's clock by more than this says listrak_timezone is wrong.
FUTURE_TOLERANCE = dt.timedelta(minutes=10)

SUBSCRIBED = "ReportRangeSubscribedContacts"
INDEX = "ReportListMessageActivity"
OPENS = "ReportRangeMessageContactOpen"
LISTS = "GetContactListCollection"

# The decisions of docs/architecture.md each assumption checks (the rows of "Decisions on what
# Listrak leaves open").
DECISIONS = {
    "page_size": "page size, same for all operations?",
    "empty_result": "empty page as <XResult/> or left out",
    "range_ends": "range ends inclusive or exclusive; request zone",
    "date_forms": "date zone and form of replies",
    "listrak_timezone": "date zone and form of replies",
    "message_index_cap": "ReportListMessageActivity caps",
    "test_messages": "test sends",
}
# The report's observations, in this order (latency_ms is filled in last, from every call).
OBSERVATIONS = ("page_size", "range_end", "date_format", "empty_result", "message_index_cap", "test_messages",
                "latency_ms", "range_start", "timezone")
OPEN_AN_ISSUE = "none: open an issue and attach this report"


class NothingToProbe(TapError):
    """The user sees no list to probe."""


class BudgetSpent(Exception):
    """The next request would pass MAX_REQUESTS."""


class NotTested(Exception):
    """A measurement that cannot be made on this account; its text says why."""


# -- the requests ----------------------------------------------------------------------------------
class Session:
    """The client, the request budget, and how long each call took. Thread-safe."""

    def __init__(self, client: ListrakClient, budget: int = MAX_REQUESTS, tries: int = PROBE_TRIES):
        self.client = client
        self.budget = budget
        self.tries = tries
        self.latencies: list[float] = []
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def requests(self) -> int:
        return sum(self.client.requests_by_operation.values())

    def call(self, send: Callable[[], object]):
        """Runs one request (and its retries) if the budget still holds all of its attempts."""
        with self._lock:
            if self.requests + (self._in_flight + 1) * self.tries > self.budget:
                raise BudgetSpent(f"not measured: the probe's budget of {self.budget} requests was spent first")
            self._in_flight += 1
        started = time.monotonic()
        try:
            return send()
        finally:
            took = time.monotonic() - started
            with self._lock:
                self._in_flight -= 1
                self.latencies.append(took)

    def request(self, operation: str, **params):
        return self.call(lambda: self.client.request(operation, **params))

    def items(self, operation: str, **params) -> list[dict]:
        return self.call(lambda: self.client.items(operation, **params))

    def fan_out(self, send: Callable, arguments: list, workers: int) -> list:
        """send(argument) for each argument, `workers` at a time → results in order. The first error
        that is not a cancellation it caused is raised once every call has ended."""
        if not arguments:
            return []
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(arguments)))) as pool:
            futures = [pool.submit(send, argument) for argument in arguments]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])
        return [f.result() for f in futures]


def probe_config(config: Config) -> Config:
    """The user's settings with fewer retries: a probe reports a flaky account rather than waiting it out."""
    return replace(config, backoff_max_tries=min(config.backoff_max_tries, PROBE_TRIES),
                   backoff_max_seconds=min(config.backoff_max_seconds, PROBE_RETRY_SECONDS))


# -- pure helpers ----------------------------------------------------------------------------------
_ISO = re.compile(r"^\s*\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?\s*$")
_US = re.compile(r"^\s*\d{1,2}/\d{1,2}/\d{4}(\s+\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(\s*[AaPp][Mm])?)?\s*$")
_DATE_LIKE = re.compile(r"^[0-9TZ:+\-./ APMapm]{1,40}$")
_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})\s*$")


def date_form(text: str) -> str:
    """'iso', 'us' or 'other': the lexical form of one date as Listrak wrote it."""
    if _ISO.match(text):
        return "iso"
    if _US.match(text):
        return "us"
    return "other"


def safe_sample(text: str | None) -> str:
    """The text of a date field as it came, if it looks like a date; else only its length (a field
    that should hold a date and does not may hold anything)."""
    if text is None:
        return "<null>"
    return text if _DATE_LIKE.match(text) else f"<not a date: {len(text)} characters>"


def parse_reply_date(text: str | None) -> dt.datetime | None:
    """A dateTime field's text → datetime (naive or with its offset); None when empty, unreadable or
    .NET's "no date"."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return None if value.year in (1, 9999) else value


def exact(text: str) -> bool:
    """Whether a reply date survives a round trip through a request: at most six fractional digits
    that are not zero (a Python datetime holds microseconds; .NET writes up to seven)."""
    match = re.search(r"\.(\d+)", text)
    return match is None or len(match.group(1).rstrip("0")) <= 6


def split_point(dates: list[dt.datetime]) -> dt.datetime | None:
    """An instant between two consecutive distinct dates, nearest the middle: each side of it holds
    some of the dates and none sits on it, so inclusive or exclusive bounds there count the same."""
    ordered = sorted(dates)
    middle = len(ordered) // 2
    gaps = [i for i in range(1, len(ordered)) if ordered[i] > ordered[i - 1]]
    if not gaps:
        return None
    i = min(gaps, key=lambda g: abs(g - middle))
    return ordered[i - 1] + (ordered[i] - ordered[i - 1]) / 2


def densest_window(dates: list[dt.datetime], span: dt.timedelta) -> tuple[dt.datetime, dt.datetime, int] | None:
    """The window of `span` holding the most dates, starting halfway between a date and the one
    before it → (start, end, dates inside)."""
    ordered = sorted(dates)
    if not ordered:
        return None
    best, high = None, 0
    for low in range(len(ordered)):
        while high < len(ordered) and ordered[high] < ordered[low] + span:
            high += 1
        if best is None or high - low > best[2]:
            start = ordered[low] - (ordered[low] - ordered[low - 1]) / 2 if low and ordered[low] > ordered[low - 1] \
                else ordered[low] - dt.timedelta(seconds=1)
            best = (start, start + span, high - low)
    return best


def cap_verdict(whole: int, halves: tuple[int, int]) -> int | None:
    """The cap a window shows (its count, when its halves together hold more), or None."""
    return whole if sum(halves) > whole else None


def localize(value: dt.datetime, zone) -> dt.datetime:
    """A reply date as an aware instant: its own offset, else listrak_timezone (as the tap reads it)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def observation(value, evidence: str, **more) -> dict:
    return {"value": value, "evidence": evidence, **more}


def assumption(name: str, holds: bool | None, setting: str, advice: str) -> dict:
    return {"name": name, "decision": DECISIONS[name], "holds": holds, "setting": setting, "advice": advice}


def range_ends_verdict(how: str, field: str, at_end: bool, at_start: bool, around: bool,
                       within_margin: Callable[[], bool], assume: Callable[..., dict] | None = None
                       ) -> tuple[dict, list]:
    """The range ends seen when a known item was asked for by the day ending, and the day starting, at its
    own date (`field`), and in the two seconds around it; `within_margin()` asks the day around it when
    even those seconds missed it. `assume` makes the assumption entry (each API names its own decision)."""
    assume = assume or assumption
    if around:
        end = observation("inclusive" if at_end else "exclusive", f"{how}: the message "
                          + ("came back" if at_end else "did not come back") + " in the day ending there")
        start = observation("inclusive" if at_start else "exclusive", f"{how}: the message "
                            + ("came back" if at_start else "did not come back") + " in the day starting there")
        return {"range_end": end, "range_start": start}, [assume(
            "range_ends", True, "", f"end {end['value']}, start {start['value']}: the tap widens every range by "
                                    "a day and keeps records by their own date, right under either answer.")]
    reason = (f"the message did not come back in the two seconds around its own {field}: Listrak reads request "
              "dates shifted from the dates it writes (or filters on another date)")
    unsure = {"range_end": observation(None, reason), "range_start": observation(None, reason)}
    if within_margin():
        return unsure, [assume("range_ends", True, "", reason + "; within a day, which the tap's one-day "
                                                                    "widening of every range covers.")]
    return unsure, [assume("range_ends", False, OPEN_AN_ISSUE,
                               reason + ", by more than the day the tap widens every range by: records near a "
                                        "run's start or end may be missed. Open an issue and attach this report.")]


def run_steps(steps, account, blocked: Callable[[], str | None], failed: Callable[[ListrakError], None],
              quiet: tuple[type[Exception], ...] = (NotTested, BudgetSpent)) -> tuple[dict, list]:
    """Each measurement (its observations' names, the step) → what it found and its assumptions. A step
    that cannot run, because `blocked()` says why or it raises one of `quiet`, is null with the reason;
    a failed request is null too, and `failed(exc)` keeps it (each API ends its probe its own way)."""
    observations, assumptions = {}, []
    for names, step in steps:
        try:
            reason = blocked()
            if reason is not None:
                raise NotTested(reason)
            found, checks = step(account)
        except quiet as exc:
            found, checks = {name: observation(None, _reason(exc)) for name in names}, []
        except ListrakError as exc:
            failed(exc)
            found, checks = {name: observation(None, f"a request failed ({exc.__class__.__name__})")
                             for name in names}, []
        observations.update(found)
        assumptions += checks
    return observations, assumptions


def completed(observations: dict, assumptions: list, names, decisions, assume: Callable[..., dict]
              ) -> tuple[dict, list]:
    """Every observation of the report, and every decision's assumption, each null where not measured."""
    observations = {name: observations.get(name, observation(None, "not measured")) for name in names}
    tested = {a["name"] for a in assumptions}
    return observations, assumptions + [assume(name, None, "", "not tested: see the observations")
                                        for name in decisions if name not in tested]


def readable(dates: DateReader, text: str) -> bool:
    """Whether the tap reads this date text (a sync would stop at the first it does not)."""
    try:
        dates.to_rfc3339(text)
        return True
    except ListrakError:
        return False


# -- the account, as read ------------------------------------------------------------------------------
@dataclass
class Account:
    """What the first requests returned: the lists probed, each one's first page of subscribed contacts
    and its whole message index."""
    lists_visible: int
    lists: list[dict]
    first_pages: list = field(default_factory=list)    # Page per probed list
    indexes: list = field(default_factory=list)        # items of ReportListMessageActivity per probed list
    end: dt.datetime = EARLIEST                        # the requests' EndDate (tomorrow, in listrak_timezone)


class Probe:
    def __init__(self, client: ListrakClient, config: Config, now: dt.datetime | None = None,
                 budget: int = MAX_REQUESTS):
        self.session = Session(client, budget)
        self.config = config
        self.zone = config.listrak_timezone
        self.dates = DateReader(self.zone)
        self.now = now or dt.datetime.now(dt.timezone.utc)
        self.workers = min(config.max_workers, 4)
        self.failure: TapError | None = None
        self.cut: str | None = None  # why nothing was measured, when the budget ran out while reading the lists

    # -- orchestration ------------------------------------------------------------------------------
    def run(self) -> dict:
        started = time.monotonic()
        lists = [item for item in self.session.items(LISTS) if item.get("ListID") is not None]  # refusals raise
        visible = len(lists)
        if self.config.list_ids is not None:
            lists = [item for item in lists if item["ListID"] in self.config.list_ids]
        lists.sort(key=lambda item: item["ListID"])
        account = Account(visible, lists[:PROBED_LISTS], end=self.to_request(self.now + REQUEST_MARGIN))
        analytics = None
        if not account.lists:
            self.failure = NothingToProbe(
                "the user can see no list" + (" of list_ids" if self.config.list_ids is not None else "")
                + ": give it access to the lists to extract (and check list_ids), then probe again")
        else:
            try:
                self.read_account(account)
                analytics = True
            except AuthenticationError as exc:  # the login works for lists, not for reports
                self.failure, analytics = exc, False
            except ListrakError as exc:
                self.failure = exc
            except BudgetSpent as exc:
                self.cut = str(exc)
        observations, assumptions = self.measure(account, analytics)
        latencies = [s * 1000 for s in self.session.latencies]
        observations["latency_ms"] = observation(
            {"median": round(statistics.median(latencies), 1), "max": round(max(latencies), 1)} if latencies else None,
            f"{len(latencies)} calls, each timed from sending to the end of its reply, retries included")
        return {
            "api": "soap", "tap_version": __version__,
            "probed_at": self.now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "requests": self.session.requests, "seconds": round(time.monotonic() - started, 2),
            "access": {"credentials": "accepted", "lists_visible": visible, "lists_probed": len(account.lists),
                       "analytics_access": analytics},
            "observations": observations, "assumptions": assumptions,
            "error": None if self.failure is None else self.failure.__class__.__name__,
        }

    def read_account(self, account: Account) -> None:
        """Page 1 of each list's subscribed contacts and its whole message index; a list deleted since it
        was listed is left out."""
        def read(list_id):
            try:
                return (self.session.request(SUBSCRIBED, ListID=list_id, StartDate=EARLIEST, EndDate=account.end,
                                             Page=1),
                        self.session.items(INDEX, ListID=list_id, StartDate=EARLIEST, EndDate=account.end,
                                           IncludeTestMessages=True))
            except NotFoundError:
                return None

        read_lists = self.session.fan_out(read, [item["ListID"] for item in account.lists], self.workers)
        kept = [(listed, found) for listed, found in zip(account.lists, read_lists) if found is not None]
        account.lists = [listed for listed, _ in kept]
        account.first_pages = [found[0] for _, found in kept]
        account.indexes = [found[1] for _, found in kept]

    def measure(self, account: Account, analytics: bool | None) -> tuple[dict, list]:
        """Each measurement → its observation(s) and assumption; one that cannot run is null with why."""
        steps = ((("page_size",), self.page_size), (("range_end", "range_start"), self.range_ends),
                 (("date_format",), self.date_format), (("empty_result",), self.empty_result),
                 (("message_index_cap",), self.message_index_cap), (("test_messages",), self.test_messages),
                 (("timezone",), self.timezone))
        def blocked() -> str | None:
            if not account.lists:
                return "the user sees no list" + (" of list_ids" if self.config.list_ids else "")
            if analytics is False:
                return "the user may read lists but not reports: give it the Analytics Access permission"
            if self.failure is not None:
                return f"not measured: an earlier request failed ({self.failure.__class__.__name__})"
            return self.cut

        observations, assumptions = run_steps(steps, account, blocked, self._failed,
                                              quiet=(NotTested, BudgetSpent, NotFoundError))
        return completed(observations, assumptions, OBSERVATIONS,
                         ("page_size", "empty_result", "range_ends", "date_forms", "listrak_timezone",
                          "message_index_cap", "test_messages"), assumption)

    def _failed(self, exc: ListrakError) -> None:
        self.failure = self.failure or exc

    def to_request(self, instant: dt.datetime) -> dt.datetime:
        return self.dates.to_listrak(instant)

    # -- page size, and the page after the last ----------------------------------------------------
    def page_size(self, account: Account) -> tuple[dict, list]:
        pages = account.first_pages
        largest = max(range(len(pages)), key=lambda i: pages[i].slots)
        first = pages[largest]
        if not first.slots:
            raise NotTested(f"none of the {len(pages)} lists probed has a subscribed contact")
        params = dict(ListID=account.lists[largest]["ListID"], StartDate=EARLIEST, EndDate=account.end)
        second = self.session.request(SUBSCRIBED, Page=2, **params)
        if second.slots and second.items and second.items == first.items:
            return ({"page_size": observation(None, "page 2 of subscribed contacts repeats page 1: Page is ignored")},
                    [assumption("page_size", False, OPEN_AN_ISSUE,
                                "Listrak answered page 2 with page 1 again; the tap stops such a unit with an error "
                                "instead of reading forever.")])
        if second.slots:
            size = observation(first.slots, f"page 1 of {SUBSCRIBED} for the largest of {len(pages)} lists probed "
                                            f"held {first.slots} slots and page 2 held {second.slots}, so page 1 was "
                                            "full", second_page=second.slots)
        else:
            size = observation(None, f"the largest of {len(pages)} lists probed has {first.slots} subscribed "
                                     f"contacts, all on page 1: a page size above {first.slots} cannot be seen")
        sizes = sorted({p.slots for p in pages if p.slots})
        if len(sizes) > 1:
            size["first_pages"] = sizes
        return {"page_size": size}, [self.page_after_last(account, largest, first, second, params)]

    def page_after_last(self, account: Account, largest: int, first, second, params: dict) -> dict:
        """What ends a report for the tap: the page after its last one, asked where the last page is known
        (a short page), else for the seconds around one subscribed contact (a short report)."""
        pages = account.first_pages
        short = [i for i, p in enumerate(pages) if 0 < p.slots < first.slots]
        if not second.slots:
            end_page, number = second, 2
        elif second.slots < first.slots:
            end_page, number = self.session.request(SUBSCRIBED, Page=3, **params), 3
        elif short:
            number = 2
            end_page = self.session.request(SUBSCRIBED, ListID=account.lists[short[0]]["ListID"], StartDate=EARLIEST,
                                            EndDate=account.end, Page=2)
        else:
            texts = (item.get("AdditionDate") or "" for item in first.items)
            added = next((d for d in (parse_reply_date(t) for t in texts if exact(t)) if d is not None), None)
            if added is None:
                return assumption("page_size", None, "", "not tested: every list probed fills its first page, and "
                                                         "no subscribed contact's AdditionDate can be asked back")
            around = dict(params, StartDate=added - dt.timedelta(seconds=1), EndDate=added + dt.timedelta(seconds=1))
            one = self.session.request(SUBSCRIBED, Page=1, **around)
            if not 0 < one.slots < first.slots:
                return assumption("page_size", None, "", "not tested: every list probed fills its first page, and so "
                                                         "do the contacts added in the seconds around one of them")
            end_page, number = self.session.request(SUBSCRIBED, Page=2, **around), 2
        if end_page.slots:
            return assumption(
                "page_size", False, "max_pages",
                f"page {number} of {SUBSCRIBED}, after a short page, held {end_page.slots} slots: Listrak does not "
                "end a report with an empty page here; the tap reads on until max_pages. Open an issue and attach "
                "this report.")
        return assumption("page_size", True, "", f"page {number}, after the last one, came back empty: the tap ends "
                                                 "each report there and assumes no page size.")

    # -- range ends ------------------------------------------------------------------------------------------
    def range_ends(self, account: Account) -> tuple[dict, list]:
        """Ask for the windows that end, and that start, exactly at a known message's SendDate."""
        known = self.known_message(account)
        if known is None:
            raise NotTested("no message with a SendDate of at most six fractional digits in the lists probed")
        list_id, msg_id, sent = known
        day, second = dt.timedelta(days=1), dt.timedelta(seconds=1)

        def holds(low, high) -> bool:
            items = self.session.items(INDEX, ListID=list_id, StartDate=low, EndDate=high, IncludeTestMessages=True)
            return any(item.get("MsgID") == msg_id for item in items)

        at_end, at_start, around = holds(sent - day, sent), holds(sent, sent + day), holds(sent - second, sent + second)
        return range_ends_verdict(f"{INDEX} asked for the day ending, and the day starting, exactly at a message's "
                                  "SendDate", "SendDate", at_end, at_start, around,
                                  lambda: holds(sent - REQUEST_MARGIN, sent + REQUEST_MARGIN))

    def known_message(self, account: Account) -> tuple[int, int, dt.datetime] | None:
        """The most recent message whose SendDate can be sent back exactly → (ListID, MsgID, SendDate)."""
        best = None
        for listed, items in zip(account.lists, account.indexes):
            for item in items:
                text = item.get("SendDate")
                sent = parse_reply_date(text)
                if sent is None or item.get("MsgID") is None or not exact(text):
                    continue
                if best is None or _naive(sent) > _naive(best[2]):
                    best = (listed["ListID"], item["MsgID"], sent)
        return best

    # -- the string-typed dates ----------------------------------------------------------------------------
    def date_format(self, account: Account) -> tuple[dict, list]:
        messages = sorted(((_naive(sent), item["MsgID"]) for items in account.indexes for item in items
                           if item.get("MsgID") is not None
                           and (sent := parse_reply_date(item.get("SendDate"))) is not None), reverse=True)
        samples: list[str] = []
        tried = 0
        for sent, msg_id in messages[:MESSAGES_FOR_DATES]:
            tried += 1
            page = self.session.request(OPENS, MsgID=msg_id, StartDate=sent - dt.timedelta(days=1),
                                        EndDate=sent + dt.timedelta(days=90), Page=1)
            samples = [item.get("OpenDate") for item in page.items if item.get("OpenDate")]
            if samples:
                break
        if not samples:
            raise NotTested(f"none of the {tried} most recent messages has an open in its first 90 days")
        shown = list(dict.fromkeys(safe_sample(s) for s in samples))[:DATE_SAMPLES]
        forms = [date_form(s) for s in samples]
        value = "other" if "other" in forms else forms[0]
        mixed = len(set(forms)) > 1
        found = {"date_format": {"value": value, "samples": shown,
                                 "evidence": f"OpenDate (typed as a string) of {len(samples)} opens of one message"
                                             + (f": forms {', '.join(sorted(set(forms)))}" if mixed else "")}}
        unreadable = [s for s in samples if not readable(self.dates, s)]
        if unreadable:
            return found, [assumption("date_forms", False, OPEN_AN_ISSUE,
                                      f"{len(unreadable)} of {len(samples)} OpenDate values are in no form the tap "
                                      "reads (ISO 8601 or M/D/YYYY h:mm:ss AM/PM); a sync would stop at the first. "
                                      "Open an issue and attach this report.")]
        return found, [assumption("date_forms", True, "", f"every date sampled is read ({value} form).")]


    # -- the empty result -----------------------------------------------------------------------------------
    def empty_result(self, account: Account) -> tuple[dict, list]:
        """A day before the list's CreateDate (and before 2000), where no contact can be subscribed."""
        listed = account.lists[0]
        created = parse_reply_date(listed.get("CreateDate"))
        end = min(_naive(created), EARLIEST) if created is not None else EARLIEST
        params = dict(ListID=listed["ListID"], StartDate=end - dt.timedelta(days=1), EndDate=end, Page=1)
        page = self.session.request(SUBSCRIBED, **params)
        evidence = f"{SUBSCRIBED} for a day before the list was created"
        if page.slots:
            return {"empty_result": observation(None, f"{evidence} held {page.slots} slots: no empty window found")}, []
        form = "element" if page.result_present else "omitted"
        found = {"empty_result": observation(form, f"{evidence}: the Result element was "
                                                   + ("present and empty" if form == "element" else "left out"))}
        return found, [assumption("empty_result", True, "", f"the tap reads the {form} form as the end of a report "
                                                            "(it reads both forms so).")]

    # -- the message index's cap ----------------------------------------------------------------------------
    def message_index_cap(self, account: Account) -> tuple[dict, list]:
        """The busiest list's whole index against its two halves, then its densest interval_days window
        against its halves: halves that together hold more than the whole show a cap."""
        busiest = max(range(len(account.indexes)), key=lambda i: len(account.indexes[i]))
        items = account.indexes[busiest]
        dates = [d for d in (parse_reply_date(item.get("SendDate")) for item in items) if d is not None]
        if len(dates) < 2:
            raise NotTested(f"the busiest of {len(account.lists)} lists probed has {len(dates)} message(s)")
        list_id = account.lists[busiest]["ListID"]
        dates = [_naive(d) for d in dates]

        def count(low, high) -> int:
            return len(self.session.items(INDEX, ListID=list_id, StartDate=low, EndDate=high,
                                          IncludeTestMessages=True))

        def halves(low, high, inside) -> tuple[int, int] | None:
            middle = split_point(inside)
            return None if middle is None else (count(low, middle), count(middle, high))

        whole = len(items)
        tests = []
        wide_halves = halves(EARLIEST, account.end, dates)
        if wide_halves is not None:
            tests.append(("every message of the list", whole, wide_halves))
        span = dt.timedelta(days=self.config.interval_days)
        window = densest_window(dates, span)
        low, high, _ = window
        window_count = count(low, high)
        inside = [d for d in dates if low <= d <= high]
        window_halves = halves(low, high, inside)
        if window_halves is not None:
            tests.append((f"the busiest {self.config.interval_days}-day window", window_count, window_halves))
        if not tests:
            raise NotTested("every message of the busiest list was sent at one instant: no window splits them")
        shown = "; ".join(f"{what}: {n} in one reply, {a} + {b} in its halves" for what, n, (a, b) in tests)
        caps = [cap_verdict(n, h) for _, n, h in tests]
        cap = max((c for c in caps if c is not None), default=None)
        fewer = [what for what, n, (a, b) in tests if a + b < n]
        found = {"message_index_cap": observation(cap, f"{INDEX}, busiest of {len(account.lists)} lists probed: "
                                                       f"{shown}")}
        if cap is not None and cap < WINDOW_SPLIT_AT:
            return found, [assumption(
                "message_index_cap", False, "interval_days",
                f"Listrak returned at most {cap} messages per {INDEX} reply while the halves held more. The tap "
                f"asks again in halves only windows of {WINDOW_SPLIT_AT} or more, so messages would be missed: set "
                f"interval_days so that no window holds {cap} messages (the busiest {self.config.interval_days}-day "
                f"window holds at least {max(sum(h) for _, _, h in tests)}), and open an issue.")]
        if cap is not None:
            return found, [assumption("message_index_cap", True, "interval_days",
                                      f"a cap of {cap} messages per reply: the tap asks windows of {WINDOW_SPLIT_AT} "
                                      "or more again in halves, so it reads around it.")]
        if fewer:
            return found, [assumption("message_index_cap", None, "",
                                      f"the halves held fewer messages than the whole ({'; '.join(fewer)}): the "
                                      "index changed while probed, or its ranges overlap; run the probe again.")]
        return found, [assumption("message_index_cap", True, "interval_days",
                                  f"no cap below {whole} messages per reply, more than any {self.config.interval_days}"
                                  "-day window of the lists probed holds.")]

    # -- test messages -----------------------------------------------------------------------------------
    def test_messages(self, account: Account) -> tuple[dict, list]:
        busiest = max(range(len(account.indexes)), key=lambda i: len(account.indexes[i]))
        with_tests = len(account.indexes[busiest])
        if not with_tests:
            raise NotTested(f"none of the {len(account.lists)} lists probed has a message")
        without = len(self.session.items(INDEX, ListID=account.lists[busiest]["ListID"], StartDate=EARLIEST,
                                         EndDate=account.end, IncludeTestMessages=False))
        evidence = (f"{INDEX} of the busiest list probed: {with_tests} messages with IncludeTestMessages, "
                    f"{without} without")
        if without < with_tests:
            setting = "include_test_messages"
            state = "extracted" if self.config.include_test_messages else "left out"
            return ({"test_messages": observation(True, evidence)},
                    [assumption("test_messages", True, setting,
                                f"{with_tests - without} test sends; IncludeTestMessages tells them apart, and the "
                                f"tap leaves them to it: they are {state} (include_test_messages is "
                                f"{str(self.config.include_test_messages).lower()}).")])
        if without > with_tests:
            return ({"test_messages": observation(None, evidence)},
                    [assumption("test_messages", False, OPEN_AN_ISSUE,
                                "IncludeTestMessages=false returned more messages than true: the tap cannot rely on "
                                "it to leave test sends out. Open an issue and attach this report.")])
        return ({"test_messages": observation(False, evidence + ": no test send in this list, or the flag is "
                                                                "ignored")},
                [assumption("test_messages", None, "include_test_messages",
                            "not tested: no message of the busiest list is a test send.")])

    # -- the zone of the dates ------------------------------------------------------------------------------
    def timezone(self, account: Account) -> tuple[dict, list]:
        """From the replies already read: offsets on dateTime fields, and dates later than the probe's clock
        once read in listrak_timezone."""
        texts = [item.get("CreateDate") for item in account.lists]
        texts += [item.get("SendDate") for items in account.indexes for item in items]
        texts += [item.get("AdditionDate") for page in account.first_pages for item in page.items]
        texts = [t for t in texts if t]
        dates = [d for d in map(parse_reply_date, texts) if d is not None]
        if not dates:
            raise NotTested("no date in the replies read")
        offsets = sorted({m.group(1) for m in (_OFFSET.search(t) for t in texts) if m and "T" in t})
        mismatched = [d for d in dates if d.tzinfo is not None
                      and d.utcoffset() != d.replace(tzinfo=None).replace(tzinfo=self.zone).utcoffset()]
        latest = max(localize(d, self.zone) for d in dates)
        ahead = latest - self.now
        setting = "listrak_timezone"
        zone = str(self.zone)
        where = f"{len(dates)} dates of CreateDate, SendDate and AdditionDate"
        value = offsets[0] if len(offsets) == 1 else (offsets or None)
        found = {"timezone": observation(
            value, f"{where}: " + (f"offsets {', '.join(offsets)}" if offsets else "no offset (naive local times)")
            + f"; the latest, read in listrak_timezone {zone}, is "
            + (f"{_duration(ahead)} after the probe ran" if ahead > dt.timedelta(0) else
               f"{_duration(-ahead)} before the probe ran"))}
        if mismatched:
            return found, [assumption("listrak_timezone", False, setting,
                                      f"Listrak writes offsets ({', '.join(offsets)}) that {zone} does not have at "
                                      "those dates: set listrak_timezone to the account's zone, for the dates it "
                                      "writes without one (the event dates).")]
        if ahead > FUTURE_TOLERANCE:
            return found, [assumption("listrak_timezone", False, setting,
                                      f"a date read in {zone} lies {_duration(ahead)} in the future: Listrak writes "
                                      f"local times of a zone east of {zone}. Set listrak_timezone to the account's "
                                      "zone (e.g. Europe/Berlin).")]
        if offsets:
            return found, [assumption("listrak_timezone", True, setting,
                                      f"the offsets Listrak writes agree with {zone}.")]
        return found, [assumption("listrak_timezone", None, setting,
                                  f"Listrak writes no offset, so its zone cannot be read from its replies; the tap "
                                  f"reads its dates in listrak_timezone ({zone}), a setting. If the account's zone "
                                  "is another, set it.")]


def _naive(value: dt.datetime) -> dt.datetime:
    """A reply date compared with others as Listrak wrote it (its wall time)."""
    return value.replace(tzinfo=None)


def _duration(delta: dt.timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    if minutes >= 48 * 60:
        return f"{minutes // (24 * 60)} days"
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _reason(exc: Exception) -> str:
    if isinstance(exc, NotFoundError):
        return "not measured: Listrak says the message or list asked about no longer exists"
    return str(exc)


def probe(client: ListrakClient, config: Config, now: dt.datetime | None = None,
          budget: int = MAX_REQUESTS) -> tuple[dict, TapError | None]:
    """→ (the report, the failure that kept the probe from running, if any). A refused login or IP on
    the first request is raised, as discovery raises it."""
    runner = Probe(client, config, now, budget)
    report = runner.run()
    return report, runner.failure


def exit_code(report: dict, failure: Exception | None) -> int:
    """0: every assumption holds or could not be tested; 1: one is contradicted; 2: the probe could not run."""
    if failure is not None:
        return 2
    return 1 if any(a["holds"] is False for a in report["assumptions"]) else 0


def summary_lines(report: dict) -> list[str]:
    """The report for a person: one line per observation and per assumption."""
    access = report["access"]
    if report.get("api") == "rest":
        lines = [f"Probe of the Listrak account (Email REST API v1): {access['lists_visible']} lists visible"
                 + (f", route refused: {access['refused_route']}" if access.get("refused_route") else "")]
    else:
        lines = [f"Probe of the Listrak account: {access['lists_visible']} lists visible, analytics access: "
                 f"{_word(access['analytics_access'])}"]
    for name, found in report["observations"].items():
        value = found["value"]
        if name == "latency_ms" and value is not None:
            shown = f"median {value['median']} ms, max {value['max']} ms"
        else:
            shown = f"{json.dumps(value)}: {found['evidence']}"
        lines.append(f"  {name:<18} {shown}")
    for item in report["assumptions"]:
        mark = {True: "holds", False: "DOES NOT HOLD", None: "not tested"}[item["holds"]]
        setting = f" [setting: {item['setting']}]" if item["holds"] is False and item["setting"] else ""
        lines.append(f"  {mark:<13} {item['name']}: {item['advice']}{setting}")
    lines.append(f"Requests: {report['requests']} (at most {MAX_REQUESTS}) in {report['seconds']} s")
    return lines


def _word(value) -> str:
    return {True: "yes", False: "no", None: "not tested"}[value]

