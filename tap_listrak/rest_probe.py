"""`tap-listrak --probe` for the Email REST API v1: which of the REST API's undocumented behaviours
hold on this account (docs/listrak-rest-api.md §9), in the SOAP probe's report format (`"api": "rest"`).

The REST client is built to be right under every answer (docs/architecture.md, "Decisions on what
Listrak leaves open", the REST rows); where it still relies on an assumption, this measures it:
read-only (GETs and token grants only), at most MAX_REQUESTS requests counting every token grant,
and a report that names the setting to change, or the issue to open, when an assumption does not hold.

What is measured, each by comparing Listrak with itself (there is no ground truth on an account):
- the token: expires_in as issued; whether every token was accepted until the client renewed it;
  whether an older token stays accepted after a newer grant (two runs on one integration);
- the page size: count=5000 (what the client asks) on the largest first page that has a next one:
  the length of that full page, and whether a count above the one honoured is clamped or refused;
- the cursor: its form (length and characters only, never its text), whether it or its page repeats,
  and whether the next page follows the other parameters sent with the cursor;
- the date form of returned dates (fraction, offset) and whether dates known to lie in the past,
  read in listrak_timezone, do;
- the empty result (data [] with nextPageCursor null, or a 404) and the last page (nextPageCursor
  null, or a cursor to a trailing empty page);
- the range ends of the message collection's startDate/endDate, at a known message's sendDate;
- HTTP 429 and Retry-After, if any came (never provoked), and latency.

Redacted by construction: the report is built from counts, durations, route templates, status and
error codes, and the raw text of date fields only (a value that does not look like a date is shown
by its length). No address, name, subject, link, id, cursor, client_id, client_secret or token.
"""
from __future__ import annotations

import datetime as dt
import re
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

from tap_listrak import __version__
from tap_listrak.config import Config
from tap_listrak.errors import (AuthenticationError, Cancelled, IPNotAuthorizedError, ListrakError, NotFoundError,
                                RetryableError, TapError)
from tap_listrak.plan import REQUEST_MARGIN
from tap_listrak.probe import (EARLIEST, MAX_REQUESTS, OPEN_AN_ISSUE, BudgetSpent, NothingToProbe, NotTested,
                               _duration, completed, observation, parse_reply_date, probe_config,
                               range_ends_verdict, readable, run_steps, safe_sample)
from tap_listrak.rest_client import PAGE_SIZE, RestClient
from tap_listrak.transform import DateReader

# Lists whose first page of subscribed contacts and of messages is read (the first ones by listId).
PROBED_LISTS = 4
# The most recent messages whose first page of activity is read.
ACTIVITY_MESSAGES = 3
DATE_SAMPLES = 3
# Small pages for the cursor's form: page 1, page 2, and page 2 asked with another count.
CURSOR_COUNT = 2
# The worst case of one call: each of its attempts sent, refused with 401, a token granted and sent
# again, plus a grant before the first (a new client, or a token renewed on time).
CALL_RESERVE = 2 * 3 + 1
# A date known to lie in the past that, read in listrak_timezone, is later than the probe's clock by
# more than this says the zone is wrong; one earlier by at most ZONE_RECENT bounds it from the west.
FUTURE_TOLERANCE = dt.timedelta(minutes=10)
ZONE_RECENT = dt.timedelta(hours=1)

LISTS = "List"
CONTACTS = "List/{listId}/Contact"
MESSAGES = "List/{listId}/Message"
ACTIVITY = "List/{listId}/Message/{messageId}/Activity"
# Date fields known to lie in the past when read (a scheduled message's sendDate may not).
PAST_FIELDS = {LISTS: ("createDate",), CONTACTS: ("subscribeDate", "resubscribeDate", "unsubscribeDate"),
               ACTIVITY: ("activityDate", "sendDate")}
DATE_FIELDS = {**PAST_FIELDS, MESSAGES: ("sendDate",)}

# The decisions of docs/architecture.md each assumption checks (the REST rows of "Decisions on what
# Listrak leaves open").
DECISIONS = {
    "token_lifetime": "REST API: token lifetime",
    "page_size": "REST API: page size (count)",
    "cursor": "REST API: cursor paging",
    "date_forms": "REST API: date form of replies",
    "listrak_timezone": "REST API: zone of its offset-less dates (docs/listrak-rest-api.md §3.3, §9.5)",
    "empty_result": "REST API: empty collection and last page",
    "range_ends": "range ends inclusive or exclusive; request zone",
    "rate_limit": "REST API: throttling (HTTP 429)",
}
OBSERVATIONS = ("token_lifetime", "page_size", "count_over_max", "cursor", "date_format", "timezone",
                "empty_result", "last_page", "range_end", "range_start", "rate_limit", "latency_ms")
_HTTP = re.compile(r"HTTP (\d{3})(?: ([A-Z][A-Z_]+))?")


# -- pure helpers ----------------------------------------------------------------------------------
def fraction_form(texts: list[str]) -> str | None:
    """How the dates' seconds end: 'seconds' (never a fraction), 'trimmed' (Json.NET: 1–7 digits,
    trailing zeros dropped), 'fixed-N' (always N digits, zeros kept), 'mixed'; None: no date."""
    fractions = []
    for text in texts:
        match = re.search(r"T\d{2}:\d{2}:\d{2}(?:\.(\d+))?", text)
        if match is None:
            continue
        fractions.append(match.group(1) or "")
    if not fractions:
        return None
    present = [f for f in fractions if f]
    if not present:
        return "seconds"
    lengths = {len(f) for f in present}
    if len(present) == len(fractions) and len(lengths) == 1 and any(f.endswith("0") for f in present):
        return f"fixed-{lengths.pop()}"
    if not any(f.endswith("0") for f in present):
        return "trimmed"
    return "mixed"


def offsets_of(texts: list[str]) -> list[str]:
    """The offsets dates carry ('Z', '-05:00'...), each once; [] when none does."""
    found = (re.search(r"T[\d:.]+(Z|[+-]\d{2}:?\d{2})\s*$", text) for text in texts)
    return sorted({match.group(1) for match in found if match})


def cursor_form(cursor: str) -> dict:
    """What a nextPageCursor looks like, never what it says: its length and kind of characters."""
    if re.fullmatch(r"https?://\S+", cursor):
        kind = "uri"
    elif cursor.isdigit():
        kind = "number"
    elif re.fullmatch(r"[A-Za-z0-9_\-.~=]+", cursor):
        kind = "url-safe token"
    else:
        kind = "token needing URL encoding"
    return {"length": len(cursor), "characters": kind}


def error_code(exc: Exception) -> str:
    """'HTTP 400 ERROR_INVALID_PARAMETER' from one of the tap's errors (the status and Listrak's code
    only: the message may quote the request)."""
    match = _HTTP.search(str(exc))
    if match is None:
        return exc.__class__.__name__
    return f"HTTP {match.group(1)}" + (f" {match.group(2)}" if match.group(2) else "")


def zone_verdict(latest_ahead: dt.timedelta) -> bool | None:
    """Whether the latest date known to be past, read in listrak_timezone, says the zone holds:
    False in the future, True within ZONE_RECENT before now, None earlier (too old to tell)."""
    if latest_ahead > FUTURE_TOLERANCE:
        return False
    return True if latest_ahead >= -ZONE_RECENT else None


def assumption(name: str, holds: bool | None, setting: str, advice: str) -> dict:
    return {"name": name, "decision": DECISIONS[name], "holds": holds, "setting": setting, "advice": advice}


# -- the requests ----------------------------------------------------------------------------------
class Recorder:
    """Wraps a client's transport: the status and Retry-After of every reply (throttling, token refusals)."""

    def __init__(self, transport, seen: list):
        self._transport, self._seen = transport, seen

    def get(self, *args, **kwargs):
        reply = self._transport.get(*args, **kwargs)
        self._seen.append((reply.status, (reply.headers.get("retry-after") or "").strip() or None))
        return reply

    def __getattr__(self, name):
        return getattr(self._transport, name)


class Session:
    """The clients (a refusal ends a client: the next request gets a new one), the request budget over
    all of them, and how long each call took. The probe sends one request at a time."""

    def __init__(self, make_client: Callable[[], RestClient], budget: int = MAX_REQUESTS):
        self.make_client, self.budget = make_client, budget
        self.replies: list = []  # (status, Retry-After) of every reply
        self.latencies: list[float] = []
        self.clients: list[RestClient] = []
        self.ended_by_refusal: RestClient | None = None  # its 401s were an access area's, not a token's
        self.new_client()

    def new_client(self) -> RestClient:
        client = self.make_client()
        client.transport = Recorder(client.transport, self.replies)
        self.clients.append(client)
        return client

    @property
    def client(self) -> RestClient:
        return self.clients[-1]

    @property
    def requests(self) -> int:
        return sum(sum(c.requests_by_operation.values()) for c in self.clients)

    def status_count(self, status: int) -> int:
        return sum(c.statuses[status] for c in self.clients if c is not self.ended_by_refusal)

    def call(self, operation: str, client: RestClient | None = None, **params):
        """One request (a Page) if the budget still holds its worst case."""
        if self.requests + CALL_RESERVE > self.budget:
            raise BudgetSpent(f"not measured: the probe's budget of {self.budget} requests was spent first")
        started = time.monotonic()
        try:
            return (client or self.client).request(operation, **{k: v for k, v in params.items() if v is not None})
        finally:
            self.latencies.append(time.monotonic() - started)

    def refusable(self, operation: str, **params):
        """A request Listrak may refuse: → its Page, or the refusal (the client it ended is replaced).
        Refused credentials, IP or access area, and failures that retries did not get past (throttling,
        5xx), are raised: they are no answer to the request's parameters."""
        try:
            return self.call(operation, **params)
        except (AuthenticationError, IPNotAuthorizedError, RetryableError, Cancelled, BudgetSpent):
            raise
        except NotFoundError as exc:
            return exc
        except ListrakError as exc:
            if self.client.cancelled:
                self.new_client()
            return exc


# -- the account, as read ------------------------------------------------------------------------------
@dataclass
class Read:
    """One reply read: the route, the parameters sent (path ones included) and its page, or the 404."""
    operation: str
    params: dict
    page: object = None
    not_found: bool = False

    @property
    def items(self) -> list:
        return [] if self.page is None else self.page.items

    @property
    def cursor(self) -> str | None:
        return None if self.page is None else self.page.cursor


@dataclass
class Account:
    lists_visible: int
    lists: list[dict]
    reads: list[Read] = field(default_factory=list)
    count: int | None = PAGE_SIZE      # the count sent (None: Listrak refused 5000, so none is sent)
    count_refused: str | None = None   # Listrak's answer to count=5000, when it refused it
    followed: tuple | None = None      # (the largest first page with a cursor as read, its page 2)

    def firsts(self, *operations: str) -> list[Read]:
        return [r for r in self.reads if r.operation in operations and r.params.get("cursor") == "Start"]


class RestProbe:
    def __init__(self, make_client: Callable[[], RestClient], config: Config, now: dt.datetime | None = None,
                 budget: int = MAX_REQUESTS):
        self.session = Session(make_client, budget)
        self.config = config
        self.zone = config.listrak_timezone
        self.dates = DateReader(self.zone)
        self.now = now or dt.datetime.now(dt.timezone.utc)
        self.failure: TapError | None = None        # what ended the probe
        self.refusal: ListrakError | None = None    # a route refused for its access area (the probe goes on)
        self.refused_route: str | None = None
        self.cut: str | None = None

    # -- orchestration ------------------------------------------------------------------------------
    def run(self) -> dict:
        started = time.monotonic()
        lists = [item for item in self.session.call(LISTS).items if item.get("listId") is not None]  # refusals raise
        visible = len(lists)
        if self.config.list_ids is not None:
            lists = [item for item in lists if item["listId"] in self.config.list_ids]
        lists.sort(key=lambda item: item["listId"])
        account = Account(visible, lists[:PROBED_LISTS])
        account.reads.append(Read(LISTS, {}, _Listed(lists)))
        if not account.lists:
            self.failure = NothingToProbe(
                "the integration can see no list" + (" of list_ids" if self.config.list_ids is not None else "")
                + ": give it access to the lists to extract (and check list_ids), then probe again")
        else:
            self.guarded(lambda: self.read_account(account))
        observations, assumptions = self.measure(account)
        latencies = [s * 1000 for s in self.session.latencies]
        observations["latency_ms"] = observation(
            {"median": round(statistics.median(latencies), 1), "max": round(max(latencies), 1)} if latencies else None,
            f"{len(latencies)} calls, each timed from sending to the end of its reply, retries and token grants "
            "included")
        return {
            "api": "rest", "tap_version": __version__,
            "probed_at": self.now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "requests": self.session.requests, "seconds": round(time.monotonic() - started, 2),
            "access": {"credentials": "accepted", "lists_visible": visible, "lists_probed": len(account.lists),
                       "refused_route": self.refused_route},
            "observations": observations, "assumptions": assumptions,
            "error": None if self.ending is None else self.ending.__class__.__name__,
        }

    @property
    def ending(self) -> TapError | None:
        """What makes the probe exit 2: a failure, else a route refused for its access area."""
        return self.failure or self.refusal

    def guarded(self, step: Callable[[], None]) -> None:
        try:
            step()
        except BudgetSpent as exc:
            self.cut = str(exc)
        except ListrakError as exc:
            self.failure = exc

    def read_account(self, account: Account) -> None:
        """Page 1 (count 5000) of each probed list's subscribed contacts and messages, then of the most
        recent messages' activity. The first request tells whether Listrak takes count=5000 at all."""
        for index, listed in enumerate(account.lists):
            params = dict(listId=listed["listId"], subscriptionState="Subscribed", cursor="Start")
            if index == 0:
                got = self.session.refusable(CONTACTS, count=account.count, **params)
                if isinstance(got, ListrakError) and not isinstance(got, NotFoundError):
                    account.count_refused, account.count = error_code(got), None
                    got = self.session.refusable(CONTACTS, **params)
                account.reads.append(self.as_read(CONTACTS, dict(params, count=account.count), got))
            else:
                account.reads.append(self.read(CONTACTS, dict(params, count=account.count)))
            account.reads.append(self.read(MESSAGES, dict(listId=listed["listId"], cursor="Start",
                                                          count=account.count)))
        for list_id, message in self.recent_messages(account)[:ACTIVITY_MESSAGES]:
            account.reads.append(self.read(ACTIVITY, dict(listId=list_id, messageId=message["messageId"],
                                                          cursor="Start", count=account.count)))

    def read(self, operation: str, params: dict) -> Read:
        """A route refused for the integration's access areas is noted and not asked again; the probe goes
        on with a new client without it (and exits 2 with the refusal, as a sync of that route would fail)."""
        if operation == self.refused_route:
            return Read(operation, params)
        try:
            return Read(operation, params, self.session.call(operation, **params))
        except NotFoundError:
            return Read(operation, params, not_found=True)
        except (AuthenticationError, IPNotAuthorizedError) as exc:
            if self.refusal is not None or not (isinstance(exc, IPNotAuthorizedError) or operation in str(exc)):
                raise  # the credentials themselves, refused at the token endpoint
            self.refusal, self.refused_route = exc, operation
            self.session.ended_by_refusal = self.session.client
            self.session.new_client()
            return Read(operation, params)

    @staticmethod
    def as_read(operation: str, params: dict, got) -> Read:
        if isinstance(got, NotFoundError):
            return Read(operation, params, not_found=True)
        if isinstance(got, ListrakError):
            raise got
        return Read(operation, params, got)

    @staticmethod
    def recent_messages(account: Account) -> list[tuple[int, dict]]:
        """(listId, message) of every message read with a sendDate, most recent first."""
        found = [(sent, r.params["listId"], item) for r in account.firsts(MESSAGES) for item in r.items
                 if item.get("messageId") is not None and (sent := parse_reply_date(item.get("sendDate")))]
        found.sort(key=lambda f: (f[0].replace(tzinfo=None), f[1]), reverse=True)
        return [(list_id, item) for _, list_id, item in found]

    def measure(self, account: Account) -> tuple[dict, list]:
        steps = ((("page_size", "count_over_max"), self.page_size), (("cursor",), self.cursor),
                 (("date_format",), self.date_format), (("timezone",), self.timezone),
                 (("empty_result", "last_page"), self.empty_result), (("range_end", "range_start"), self.range_ends),
                 (("token_lifetime",), self.token_lifetime))
        def blocked() -> str | None:
            if not account.lists:
                return "the integration sees no list" + (" of list_ids" if self.config.list_ids else "")
            if self.failure is not None:
                return f"not measured: an earlier request failed ({self.failure.__class__.__name__})"
            return self.cut

        observations, assumptions = run_steps(steps, account, blocked, self._failed)
        found, checks = self.rate_limit()
        observations.update(found)
        return completed(observations, assumptions + checks, OBSERVATIONS, DECISIONS, assumption)

    def _failed(self, exc: ListrakError) -> None:
        self.failure = self.failure or exc

    # -- the page size ----------------------------------------------------------------------------------
    def page_size(self, account: Account) -> tuple[dict, list]:
        """The largest first page with a next one: its page 2 says whether it was full."""
        asked = f"count={PAGE_SIZE}" if account.count else "no count (Listrak refused count=5000)"
        paged = [r for r in account.firsts(CONTACTS, ACTIVITY) if r.items and r.cursor is not None]
        found: dict = {}
        if paged:
            largest = max(paged, key=lambda r: len(r.items))
            second = self.session.call(largest.operation, **dict(largest.params, cursor=largest.cursor))
            account.reads.append(Read(largest.operation, dict(largest.params, cursor="next"), second))
            account.followed = (largest, second)
            if second.items:
                size = len(largest.items)
                found["page_size"] = observation(size, f"{_route(largest)} asked with {asked}: page 1 held {size} "
                                                       f"items and page 2 {len(second.items)}, so page 1 was full",
                                                 second_page=len(second.items))
            else:
                found["page_size"] = observation(None, f"{_route(largest)} asked with {asked}: page 1 held all "
                                                       f"{len(largest.items)} items (its cursor led to an empty "
                                                       "page): a page size above that cannot be seen")
        else:
            biggest = max((len(r.items) for r in account.firsts(CONTACTS, ACTIVITY)), default=0)
            found["page_size"] = observation(None, f"no collection read has a second page (the largest first page, "
                                                   f"asked with {asked}, held {biggest} items): a page size above "
                                                   "that cannot be seen")
        size = found["page_size"]["value"]
        found["count_over_max"] = self.count_over_max(account, size)
        if account.count_refused:
            return found, [assumption(
                "page_size", False, OPEN_AN_ISSUE,
                f"Listrak refused count={PAGE_SIZE} ({account.count_refused}), the count the tap sends on every "
                "paged route: every paged stream would fail. Open an issue and attach this report.")]
        note = f"; Listrak serves {size} per page, so a stream costs one request per {size} items" \
            if size is not None and size < PAGE_SIZE else ""
        return found, [assumption("page_size", True, "", f"the tap asks count={PAGE_SIZE} and follows "
                                                         f"nextPageCursor to null; it assumes no page size{note}.")]

    def count_over_max(self, account: Account, size: int | None) -> dict:
        if account.count_refused:
            return observation("refused", f"count={PAGE_SIZE} answered {account.count_refused}: Listrak refuses a "
                                          "count above the largest it honours")
        if size is not None and size < PAGE_SIZE:
            return observation("clamped", f"count={PAGE_SIZE} was served {size} items per page: Listrak clamps a "
                                          "count above the largest it honours")
        target = (account.followed or (None,))[0] or max(
            account.firsts(CONTACTS, ACTIVITY), key=lambda r: len(r.items), default=None)
        if target is None:
            raise NotTested("no collection read")
        above = PAGE_SIZE + 1
        got = self.session.refusable(target.operation, **dict(target.params, count=above))
        if isinstance(got, NotFoundError):
            return observation(None, f"{_route(target)} with count={above} answered 404")
        if isinstance(got, ListrakError):
            return observation("refused", f"{_route(target)} with count={above} answered {error_code(got)}")
        if size is not None:
            verdict = "clamped" if len(got.items) == size else None
            return observation(verdict, f"{_route(target)} with count={above}: page 1 held {len(got.items)} items, "
                                        f"as with count={size}" if verdict else
                                        f"{_route(target)} with count={above}: page 1 held {len(got.items)} items")
        return observation(None, f"{_route(target)} with count={above} was answered ({len(got.items)} items): "
                                 "clamped or honoured cannot be told on a collection of one page")

    # -- the cursor --------------------------------------------------------------------------------------
    def cursor(self, account: Account) -> tuple[dict, list]:
        """Pages of CURSOR_COUNT on the largest collection read: page 1, page 2, and page 2 again with
        another count (is the cursor a position, a query of its own, or bound to its query?)."""
        reads = [r for r in account.firsts(CONTACTS, ACTIVITY) if len(r.items) > CURSOR_COUNT]
        if not reads:
            raise NotTested(f"no collection read holds more than {CURSOR_COUNT} items")
        target = max(reads, key=lambda r: len(r.items))
        params = dict(target.params, count=CURSOR_COUNT)
        first = self.session.call(target.operation, **params)
        if first.cursor is None:
            return ({"cursor": observation(None, f"{_route(target)} with count={CURSOR_COUNT}: page 1 held "
                                                 f"{len(first.items)} items and no nextPageCursor")},
                    [assumption("cursor", False, OPEN_AN_ISSUE,
                                f"a page of {CURSOR_COUNT} of a collection of more came without nextPageCursor: "
                                "the tap would stop after page 1. Open an issue and attach this report.")])
        second = self.session.call(target.operation, **dict(params, cursor=first.cursor))
        shifted = self.session.refusable(target.operation, **dict(params, cursor=first.cursor, count=1))
        form = cursor_form(first.cursor)
        repeated = second.cursor is not None and second.cursor == first.cursor
        same_page = bool(second.items) and second.items == first.items
        if isinstance(shifted, ListrakError):
            follows = f"bound to its query (another count with it answered {error_code(shifted)})"
        elif shifted.items and shifted.items == second.items:
            follows = "a query of its own (the count sent with it is ignored)"
        elif shifted.items and second.items and shifted.items[0] == second.items[0] and len(shifted.items) == 1:
            follows = "a position (the next page follows the parameters sent with it)"
        else:
            follows = f"unclear (another count with it gave {len(shifted.items)} items)"
        value = dict(form, repeated=repeated or same_page, next_page=follows.split(" (")[0])
        evidence = (f"{_route(target)} with count={CURSOR_COUNT}: page 1 ({len(first.items)} items) and page 2 "
                    f"({len(second.items)} items) by its nextPageCursor, a {form['characters']} of {form['length']} "
                    f"characters; page 2 " + ("repeats page 1" if same_page else "differs from page 1")
                    + "; page 2's cursor " + ("repeats page 1's" if repeated else "is another")
                    + f"; the cursor is {follows}")
        found = {"cursor": observation(value, evidence)}
        if repeated or same_page:
            return found, [assumption("cursor", False, OPEN_AN_ISSUE,
                                      "a cursor or a page came back again: the tap stops such a unit with an error "
                                      "instead of reading forever. Open an issue and attach this report.")]
        return found, [assumption("cursor", True, "", "the cursor, sent back verbatim with the same parameters, "
                                                      "led to the next page, and neither it nor its page repeated: "
                                                      f"the tap reads pages so, whatever the cursor encodes (here "
                                                      f"{follows.split(' (')[0]}).")]

    # -- dates ------------------------------------------------------------------------------------------
    def date_texts(self, account: Account, fields: dict) -> list[str]:
        texts = []
        for read in account.reads:
            for name in fields.get(read.operation, ()):
                texts += [item.get(name) for item in read.items if isinstance(item.get(name), str)]
        return [t for t in texts if not _is_no_date(t)]

    def date_format(self, account: Account) -> tuple[dict, list]:
        texts = self.date_texts(account, DATE_FIELDS)
        if not texts:
            raise NotTested("no date in the replies read")
        fraction, offsets = fraction_form(texts), offsets_of(texts)
        shown = list(dict.fromkeys(safe_sample(t) for t in sorted(texts, key=_has_fraction, reverse=True)))
        found = {"date_format": observation(
            fraction, f"{len(texts)} dates of createDate, subscribeDate, sendDate and activityDate: "
                      f"fraction {fraction}, " + (f"offsets {', '.join(offsets)}" if offsets else "no offset"),
            offset=offsets or None, samples=shown[:DATE_SAMPLES])}
        unreadable = [t for t in texts if not readable(self.dates, t)]
        if unreadable:
            return found, [assumption("date_forms", False, OPEN_AN_ISSUE,
                                      f"{len(unreadable)} of {len(texts)} dates are in no form the tap reads: a sync "
                                      "would stop at the first. Open an issue and attach this report.")]
        return found, [assumption("date_forms", True, "", f"every date sampled is read ({fraction} fraction, "
                                                          + ("with an offset" if offsets else "no offset") + ").")]


    def timezone(self, account: Account) -> tuple[dict, list]:
        """Dates known to lie in the past (contacts' subscribe dates, activity, the lists' creation): the
        latest, read in listrak_timezone, must not lie after the probe's clock; within ZONE_RECENT
        before it, it bounds the zone from the west too."""
        dates = [d for d in map(parse_reply_date, self.date_texts(account, PAST_FIELDS)) if d is not None]
        if not dates:
            raise NotTested("no date known to lie in the past in the replies read")
        latest = max(d if d.tzinfo else d.replace(tzinfo=self.zone) for d in dates)
        ahead = latest - self.now
        zone = str(self.zone)
        when = f"{_duration(ahead)} after the probe ran" if ahead > dt.timedelta(0) else \
            f"{_duration(-ahead)} before the probe ran"
        found = {"timezone": observation(
            zone, f"{len(dates)} dates known to lie in the past (createDate, subscribeDate, activityDate...): the "
                  f"latest, read in listrak_timezone {zone}, is {when}", latest_ahead_minutes=round(
                      ahead.total_seconds() / 60))}
        verdict = zone_verdict(ahead)
        if verdict is False:
            return found, [assumption("listrak_timezone", False, "listrak_timezone",
                                      f"a date that lies in the past reads {_duration(ahead)} in the future in "
                                      f"{zone}: Listrak writes the wall time of a zone east of it. Set "
                                      "listrak_timezone to the account's zone (its offset from UTC is at least "
                                      f"{_duration(ahead)} more).")]
        if verdict:
            return found, [assumption("listrak_timezone", True, "listrak_timezone",
                                      f"the latest date lies {_duration(-ahead)} before the probe ran in {zone}: no "
                                      "zone east of it by more than its real age, nor west of it by more than "
                                      f"{_duration(-ahead)}, fits.")]
        return found, [assumption("listrak_timezone", None, "listrak_timezone",
                                  f"not in the future in {zone}, but the latest date is {_duration(-ahead)} old: too "
                                  "old to tell a zone west of it. Probe again right after a send, or set "
                                  "listrak_timezone if the account's zone is another.")]

    # -- the empty result and the last page ----------------------------------------------------------------
    def empty_result(self, account: Account) -> tuple[dict, list]:
        """Subscribed contacts of the day before 2000 (the documented, inclusive contact filter): no
        contact can be there. The last page: from the first pages already read."""
        listed = account.lists[0]
        end = EARLIEST
        params = dict(listId=listed["listId"], subscriptionState="Subscribed", cursor="Start", count=account.count,
                      startDate=end - dt.timedelta(days=1), endDate=end)
        got = self.session.refusable(CONTACTS, **params)
        how = "subscribed contacts of a day before 2000"
        found = {"last_page": self.last_page(account)}
        if isinstance(got, NotFoundError):
            found["empty_result"] = observation("not-found", f"{how}: HTTP 404 ERROR_UNABLE_TO_LOCATE_RESOURCE")
            return found, [assumption(
                "empty_result", False, OPEN_AN_ISSUE,
                "an empty collection answers 404, which the tap reads as an object gone: nothing is lost (there is "
                "nothing to read), but every empty unit is counted as skipped, with a WARNING. Open an issue and "
                "attach this report.")]
        if isinstance(got, ListrakError):
            found["empty_result"] = observation(None, f"{how}: answered {error_code(got)}")
            return found, []
        if got.items:
            found["empty_result"] = observation(None, f"{how}: {len(got.items)} items, no empty window found")
            return found, []
        if got.cursor is not None:
            after = self.session.call(CONTACTS, **dict(params, cursor=got.cursor))
            found["empty_result"] = observation("empty with a cursor", f"{how}: data [] with a nextPageCursor, "
                                                                       f"whose page held {len(after.items)} items")
            holds = not after.items and after.cursor is None
            return found, [assumption("empty_result", holds or None, "",
                                      "an empty page still carried a cursor: the tap follows it to the page with "
                                      "nextPageCursor null." if holds else "not tested: an empty page led on.")]
        found["empty_result"] = observation("empty", f"{how}: data [] with nextPageCursor null")
        trailing = found["last_page"]["value"] == "trailing empty page"
        return found, [assumption("empty_result", True, "", "an empty collection is data [] with nextPageCursor null"
                                  + ("; the last page of items still carries a cursor, to an empty page: the tap "
                                     "reads it, one request more per unit." if trailing else
                                     ", and the last page's cursor is null: the tap stops there."))]

    def last_page(self, account: Account) -> dict:
        followed = account.followed
        if followed is not None and followed[1].items:  # page 2 of the largest: a short first page may end
            short = [r for r in account.firsts(CONTACTS, MESSAGES, ACTIVITY) if r.items and r.cursor is not None
                     and len(r.items) < len(followed[0].items)]
            if short:
                followed = (short[0], self.session.call(short[0].operation,
                                                        **dict(short[0].params, cursor=short[0].cursor)))
        if followed is not None and not followed[1].items and followed[1].cursor is None:
            return observation("trailing empty page", f"{_route(followed[0])}: a page of {len(followed[0].items)} "
                                                      "items with a nextPageCursor, to an empty page with "
                                                      "nextPageCursor null")
        ended = [r for r in account.firsts(CONTACTS, MESSAGES, ACTIVITY) if r.items and r.cursor is None]
        if ended:
            return observation("cursor null", f"{len(ended)} first pages held items and nextPageCursor null")
        return observation(None, "no page of items without a next one was read")

    # -- range ends ------------------------------------------------------------------------------------------
    def range_ends(self, account: Account) -> tuple[dict, list]:
        """The message collection asked for the day ending, and the day starting, at a known message's
        sendDate (its text sent back verbatim), then the two seconds around it."""
        known = next(((list_id, item) for list_id, item in self.recent_messages(account)), None)
        if known is None:
            raise NotTested("no message with a sendDate in the lists probed")
        list_id, message = known
        text = message["sendDate"]
        sent = parse_reply_date(text).replace(tzinfo=None)
        day, second = dt.timedelta(days=1), dt.timedelta(seconds=1)

        def holds(low, high) -> bool:
            got = self.session.refusable(MESSAGES, listId=list_id, cursor="Start", count=account.count,
                                         startDate=low, endDate=high)
            if isinstance(got, NotFoundError):
                return False
            if isinstance(got, ListrakError):
                raise NotTested(f"the message collection with startDate and endDate answered {error_code(got)}")
            return any(item.get("messageId") == message["messageId"] for item in got.items)

        whole = sent.replace(microsecond=0)
        at_end, at_start = holds(sent - day, text), holds(text, sent + day)
        around = holds(whole - second, whole + second)
        return range_ends_verdict(f"{MESSAGES} asked for the day ending, and the day starting, exactly at a "
                                  "message's sendDate", "sendDate", at_end, at_start, around,
                                  lambda: holds(whole - REQUEST_MARGIN, whole + REQUEST_MARGIN), assumption)

    # -- the token --------------------------------------------------------------------------------------
    def token_lifetime(self, account: Account) -> tuple[dict, list]:
        """expires_in as issued; every token accepted until renewed (no 401); and the first client's token
        still accepted after a second grant (a second run on the same integration)."""
        first = self.session.client
        issued, granted_at = first.tokens.issued_expires_in, first.tokens.granted_at
        refused_before = first.statuses[401]
        second = self.session.new_client()
        self.session.call(LISTS, client=second)
        self.session.call(LISTS, client=first)
        after_grant = "refused" if first.statuses[401] > refused_before else "accepted"
        refusals = self.session.status_count(401)
        grants = sum(c.tokens.grants for c in self.session.clients)
        age = time.monotonic() - granted_at if granted_at is not None else 0.0
        lifetime = issued if isinstance(issued, (int, float)) and not isinstance(issued, bool) else None
        value = {"expires_in": issued if lifetime is not None else None, "older_token_after_new_grant": after_grant}
        evidence = (f"expires_in {issued if lifetime is not None else 'missing'} as issued; {grants} tokens granted; "
                    f"{refusals} requests refused with 401; the first token was accepted {age:.1f} s after its grant, "
                    f"and {after_grant} after a second grant")
        found = {"token_lifetime": observation(value, evidence)}
        if refusals or after_grant == "refused":
            why = ("the first token was refused once a second one was granted: two runs on one integration (shards) "
                   "would refuse each other's tokens, each renewing once, and a run refused twice in a row ends"
                   if after_grant == "refused" else
                   f"{refusals} requests were refused with a token inside its expires_in")
            return found, [assumption("token_lifetime", False, OPEN_AN_ISSUE,
                                      f"{why}. Run one tap at a time per integration, and open an issue attaching "
                                      "this report.")]
        if lifetime is None:
            return found, [assumption("token_lifetime", None, "",
                                      "the grant has no numeric expires_in: the tap reads it as 3599 s and renews a "
                                      "refused token once.")]
        short = lifetime < 120
        return found, [assumption("token_lifetime", True, "", f"every token was accepted until renewed; the tap "
                                                              f"renews {'halfway through' if short else '60 s before'} "
                                                              f"the {lifetime} s Listrak issues.")]

    # -- throttling ------------------------------------------------------------------------------------
    def rate_limit(self) -> tuple[dict, list]:
        throttled = [after for status, after in self.session.replies if status == 429]
        if not throttled:
            return ({"rate_limit": observation(None, f"no HTTP 429 in {len(self.session.replies)} replies (never "
                                                     "provoked)")},
                    [assumption("rate_limit", None, "max_workers", "not tested: no reply was throttled.")])
        waits = sorted({after for after in throttled if after is not None})
        found = {"rate_limit": observation(
            {"throttled": len(throttled), "retry_after": waits or None},
            f"{len(throttled)} of {len(self.session.replies)} replies were HTTP 429, "
            + (f"with Retry-After {', '.join(waits)}" if waits else "without Retry-After"))}
        return found, [assumption("rate_limit", True, "max_workers",
                                  "the tap lowers the requests in flight at each 429 and waits Retry-After when sent; "
                                  "if a sync is throttled often, lower max_workers.")]


class _Listed:
    """The lists' reply as a page (for their createDate)."""

    def __init__(self, items: list):
        self.items, self.cursor = items, None


def _route(read: Read) -> str:
    return read.operation + (f" ({read.params['subscriptionState'].lower()})" if "subscriptionState" in read.params
                             else "")


def _is_no_date(text: str) -> bool:
    return text.startswith(("0001-01-01", "9999-12-31"))


def _has_fraction(text: str) -> bool:
    return "." in text


def make_clients(config: Config, watch: Callable[[str], None] | None = None) -> Callable[[], RestClient]:
    """A factory of REST clients with the probe's retries; each token granted is handed to `watch`."""
    def make() -> RestClient:
        client = RestClient(probe_config(config))
        if watch is not None:
            client.watch_secrets(watch)
        return client
    return make


def probe(make_client: Callable[[], RestClient], config: Config, now: dt.datetime | None = None,
          budget: int = MAX_REQUESTS) -> tuple[dict, TapError | None]:
    """→ (the report, the failure that kept the probe from running, if any). Refused credentials, IP or
    lists on the first request are raised, as discovery raises them."""
    runner = RestProbe(make_client, config, now, budget)
    report = runner.run()
    return report, runner.ending
