"""Reading the REST API's JSON replies: the envelope checked, the items handed on in batches, and
every other status as the tap's errors.

A reply is in whole before it is read (exchange.py), and the standard library's json reads it;
numbers with a fraction become Decimal (`parse_float=Decimal`), so money is written digit for digit.
The envelope is Listrak's: `{"status": <the HTTP status>, "data": [...] or {...}}`, with
`nextPageCursor` on a paged route (null on its last page). An error reply is
`{"status", "error", "message"}`; what each status means is the REST fact sheet's
(docs/listrak-rest-api.md §2, §3.5):
- 401: the token was refused (expired, or the integration lost access): renewed once by the client;
- 403: never declared by Listrak; read as a refused IP or access area;
- 404 ERROR_UNABLE_TO_LOCATE_RESOURCE: the object is gone (ends only its unit); any other 404 is a
  wrong address;
- 408, 429, 5xx: later (retried), a Retry-After kept by exchange.py;
- any other status, or a 200 that is not the envelope: a reply outside the contract.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Callable, Iterable

from tap_listrak.errors import (IPNotAuthorizedError, NotFoundError, ProtocolError, RetryableError,
                                TokenRejected)
from tap_listrak.redaction import redact
from tap_listrak.replies import Page

BATCH = 256  # items handed to collect() at a time
ENVELOPE = ("status", "data")


class JsonReader:
    """Reads one route's replies (the route's template names it in errors)."""

    def __init__(self, operation: str):
        self.operation = operation

    def read(self, chunks: Iterable[bytes], status: int, secrets: tuple[str, ...] = (),
             collect: Callable[[], object] = list) -> Page:
        body = b"".join(chunks)
        if status != 200:
            raise error_for(status, body, secrets)
        try:
            envelope = json.loads(body, parse_float=Decimal)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            # Cut off or garbled on the way: worth another attempt, as truncated XML is.
            raise RetryableError(f"the reply is not whole JSON ({exc.__class__.__name__} at byte "
                                 f"{getattr(exc, 'pos', '?')} of {len(body)})") from None
        if not isinstance(envelope, dict) or any(key not in envelope for key in ENVELOPE):
            raise ProtocolError("the reply is not Listrak's envelope {status, data}: check rest_base_url")
        data, cursor = envelope["data"], envelope.get("nextPageCursor")
        if envelope["status"] != status:
            raise ProtocolError(f"the envelope's status {envelope['status']!r} is not the HTTP status {status}")
        if cursor is not None and not isinstance(cursor, str):
            raise ProtocolError(f"nextPageCursor is {type(cursor).__name__}, not a string or null")
        items = data if isinstance(data, list) else [] if data is None else [data]
        if not all(isinstance(item, dict) for item in items):
            raise ProtocolError("the reply's data holds something other than objects")
        first = repr(items[0]) if items else None
        last = repr(items[-1]) if items else None
        collected = collect()
        for start in range(0, len(items), BATCH):
            collected.extend(items[start:start + BATCH])
        return Page(len(items), collected, first, last, result_present=True, cursor=cursor)


def error_for(status: int, body: bytes, secrets: tuple[str, ...]) -> Exception:
    """An error reply as the tap's error, with Listrak's code and message (redacted) when it sent them."""
    code, message = _error_fields(body)
    said = redact(f"HTTP {status} {code or ''}{': ' + message if message else ''}".strip(), secrets)
    if status == 401:
        return TokenRejected(f"{said}: the access token was refused")
    if status == 403:
        return IPNotAuthorizedError(
            f"Listrak refused access ({said}): check that this machine's IP address is on the integration's "
            "allowlist and that the integration has the access areas the selected streams need (Contact, Event, "
            "List, Message, Reporting, Segmentation) in Listrak's Integrations Manager")
    if status == 404 and code == "ERROR_UNABLE_TO_LOCATE_RESOURCE":
        return NotFoundError(said)
    if status == 404:
        return ProtocolError(f"{said}: no such route; check rest_base_url")
    if status in (408, 429) or status >= 500:
        return RetryableError(said)
    return ProtocolError(f"{said}: the request was refused (a reply outside the contract)")


def _error_fields(body: bytes) -> tuple[str | None, str | None]:
    try:
        error = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, None
    if not isinstance(error, dict):
        return None, None
    code, message = error.get("error"), error.get("message") or error.get("error_description")
    return (code if isinstance(code, str) else None), (str(message)[:300] if message else None)
