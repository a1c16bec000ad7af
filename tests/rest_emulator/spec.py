"""Knobs of the REST emulator: the data knobs are the SOAP emulator's DatasetSpec (one account for both);
RestServerSpec holds how the REST service behaves on the wire."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Optional

from tests.emulator.spec import RANGE_ENDS, DatasetSpec, _check_choice, _settle, knob
from tests.emulator.times import rfc3339

# The account zone of the REST emulator unless --timezone says otherwise: Listrak's REST dates are US Eastern.
DEFAULT_TIMEZONE = "America/New_York"
SCOPES = ("Contact", "Event", "List", "Message", "Report", "Segmentation")
FAULT_KINDS = ("500", "502", "503", "429", "429-retry-after", "reset", "truncate", "stall", "token-expired")
DEFAULT_FAULT_KINDS = ("500", "503", "429", "429-retry-after", "reset", "truncate")
DATE_FORMS = ("trimmed", "seconds", "milliseconds")
EMPTY_COLLECTIONS = ("empty", "not-found")
COUNT_OVER_MAX = ("clamp", "error")
TOKEN_ERROR_FORMS = ("observed", "documented")
DENIED_STATUSES = (401, 403)
REQUEST_ZONES = ("account", "utc")
ACTIVITY_DATE_FILTERS = ("first", "any")
ENVELOPES = ("schema", "paged", "collection")


@dataclass(frozen=True)
class RestServerSpec:
    """How the emulated REST service behaves on the wire."""

    client_id: str = knob("demo-client", "accepted client_id of the token endpoint")
    client_secret: str = knob("demo-secret", "accepted client_secret of the token endpoint")
    token_ttl_seconds: float = knob(3599.0, "lifetime of an access token; expires_in says it (rounded down)",
                                    metavar="S")
    token_error_form: str = knob("observed", "bad credentials answer 400 {\"error\":\"Invalid Credentials\"} as "
                                             "recorded in 2018 (observed) or the documented error body with "
                                             "ERROR_INVALID_CREDENTIALS (documented)", choices=TOKEN_ERROR_FORMS)
    ip_not_allowed: bool = knob(False, "the client's IP is not on the integration's allowlist: the token endpoint "
                                       "refuses the credentials and every API call is denied")
    scopes: tuple[str, ...] = knob(SCOPES, f"access areas of the integration, among {', '.join(SCOPES)}; a route "
                                           "needing another one is denied", metavar="SCOPE,SCOPE")
    denied_status: int = knob(401, "HTTP status of a denied call (missing access area or IP not allowed); the body "
                                   "is ERROR_UNAUTHORIZED either way (401 inferred from the docs, 403 never declared)",
                              choices=DENIED_STATUSES)
    max_count: int = knob(5000, "largest page the server honours (the documented maximum is 5000)", metavar="N")
    count_over_max: str = knob("clamp", "a count above --max-count is clamped to it (clamp) or answers 400 "
                                        "ERROR_INVALID_PARAMETER (error)", choices=COUNT_OVER_MAX)
    trailing_empty_page: bool = knob(False, "the last page with items still carries a nextPageCursor, whose page "
                                            "is empty with nextPageCursor null")
    empty_collection: str = knob("empty", "a paged route with no items at all answers data [] with nextPageCursor "
                                          "null (empty) or 404 ERROR_UNABLE_TO_LOCATE_RESOURCE (not-found)",
                                 choices=EMPTY_COLLECTIONS)
    cursor_checks_params: bool = knob(False, "a cursor is bound to the query parameters of its first page: sent with "
                                             "other filters or another count it answers 400 for cursor")
    saved_audience_envelope: str = knob("schema", "GET …/SavedAudience: CollectionPaged as its schema says, "
                                                  "nextPageCursor null, everything in one reply (schema or paged), "
                                                  "or a Collection without nextPageCursor (collection)",
                                        choices=ENVELOPES)
    list_import_envelope: str = knob("schema", "GET …/ListImport: a Collection without nextPageCursor holding "
                                               "everything, cursor and count ignored (schema or collection), or "
                                               "paged by cursor and count (paged)", choices=ENVELOPES)
    date_form: str = knob("trimmed", "returned dates: Json.NET's trimmed fraction 2019-01-14T12:44:40.65 "
                                     "(trimmed), whole seconds (seconds) or always three digits (milliseconds); "
                                     "never an offset", choices=DATE_FORMS)
    request_zone: str = knob("account", "zone of a startDate/endDate sent without offset: the account's "
                                        "(account) or UTC (utc)", choices=REQUEST_ZONES)
    range_ends: str = knob("inclusive", "which startDate/endDate bounds are inclusive on every route but Contact "
                                        "(Contact follows its documentation)", choices=RANGE_ENDS)
    activity_date_filter: str = knob("first", "dateType=Activity selects rows whose first activity (activityDate) "
                                              "is in range (first) or that have any activity in range (any)",
                                     choices=ACTIVITY_DATE_FILTERS)
    latency_ms: float = knob(0.0, "time from a request's arrival to its reply, the emulator's own work included")
    max_concurrent: int = knob(0, "a request arriving while N others are in flight answers 429 (0 = no limit)",
                               metavar="N")
    rate_limit: str = knob("", "leaky bucket N/S: a bucket of N requests that leaks N every S seconds; a request "
                               "that finds it full answers 429 (empty = no limit)", metavar="N/S")
    throttle_retry_after: float = knob(0.0, "Retry-After seconds on a throttled 429 (0 = no header, as observed)",
                                       metavar="S")
    fault_rate: float = knob(0.0, "share of authenticated API calls that get an injected fault")
    fault_kinds: tuple[str, ...] = knob(DEFAULT_FAULT_KINDS, f"kinds drawn by --fault-rate, among "
                                                             f"{', '.join(FAULT_KINDS)}", choices=FAULT_KINDS,
                                        metavar="KIND,KIND")
    fault_on: tuple[str, ...] = knob((), "the Nth (1-based) authenticated call of operationId OP gets fault KIND; "
                                         "OP * counts every API call in arrival order; repeatable",
                                     metavar="OP:N:KIND", repeat=True)
    retry_after_seconds: float = knob(1.0, "Retry-After of the 429-retry-after fault", metavar="S")
    stall_seconds: float = knob(30.0, "how long a stall fault holds its reply")
    as_of: Optional[datetime] = knob(None, "serve the account as of this instant (ISO 8601, naive = UTC): messages "
                                           "sent, contacts added or unsubscribed, events and imports dated after it "
                                           "do not exist yet; none = everything exists", metavar="INSTANT")

    def __post_init__(self) -> None:
        _settle(self)
        for scope in self.scopes:
            _check_choice("scope", scope, SCOPES)
        if self.token_ttl_seconds <= 0 or not math.isfinite(self.token_ttl_seconds):
            raise ValueError("token_ttl_seconds must be > 0")
        if not 1 <= self.max_count:
            raise ValueError("max_count must be >= 1")
        if self.fault_rate > 0 and not self.fault_kinds:
            raise ValueError("fault_rate > 0 needs at least one fault kind")
        self.bucket()
        self.fault_rules()

    def bucket(self) -> Optional[tuple[int, float]]:
        if not self.rate_limit:
            return None
        try:
            n, s = self.rate_limit.split("/")
            size, period = int(n), float(s)
        except ValueError:
            raise ValueError(f"rate_limit {self.rate_limit!r} is not N/S") from None
        if size < 1 or period <= 0:
            raise ValueError("rate_limit needs N >= 1 and S > 0")
        return size, period

    def fault_rules(self) -> dict[tuple[str, int], str]:
        rules = {}
        for rule in self.fault_on:
            try:
                op, n, kind = rule.rsplit(":", 2)
                nth = int(n)
            except ValueError:
                raise ValueError(f"fault rule {rule!r} is not OP:N:KIND") from None
            _check_choice("fault kind", kind, FAULT_KINDS)
            if nth < 1:
                raise ValueError(f"fault rule {rule!r}: N is 1-based")
            rules[(op, nth)] = kind
        return rules

    def clock(self) -> dict:
        return {"as_of": rfc3339(self.as_of)}


DATASET_FIELDS = frozenset(f.name for f in fields(DatasetSpec))
SERVER_FIELDS = frozenset(f.name for f in fields(RestServerSpec))


def split_knobs(knobs: dict) -> tuple[DatasetSpec, RestServerSpec]:
    """Both specs from one flat mapping of field names; the account zone defaults to US Eastern."""
    unknown = set(knobs) - DATASET_FIELDS - SERVER_FIELDS
    if unknown:
        raise TypeError(f"unknown REST emulator knob(s): {', '.join(sorted(unknown))}")
    data = {"timezone": DEFAULT_TIMEZONE, **{k: v for k, v in knobs.items() if k in DATASET_FIELDS}}
    return DatasetSpec(**data), RestServerSpec(**{k: v for k, v in knobs.items() if k in SERVER_FIELDS})
