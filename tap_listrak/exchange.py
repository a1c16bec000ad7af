"""One attempt of one request (SOAP or REST): a slot, the request sent through the door
(transport.py), the reply taken off the socket, then read (replies.py, rest_replies.py).

At most `max_workers` requests are on the wire, whichever pools send them: a request holds one of
the slots from the moment it is sent until the last byte of its reply is in (spool.ReceivedReply),
not while the reply is parsed (the pools run spare threads for that, concurrency.threads_for).
A reply that is not HTTP 200 (a fault: small) is read while its request still holds the slot, so a
fault that ends the run cancels it before any slot is freed, and no request goes out after it.

The slots adapt (slots.Slots): a reply of HTTP 429 lowers the number in flight, successes raise it
again up to `max_workers`. A Retry-After header sent with a 429 or 503 is kept on the error, and the
retry waits that long (retry.py).
"""
from __future__ import annotations

import datetime as dt
import email.utils
import threading
import time
from typing import Callable

from tap_listrak.errors import Cancelled, ListrakError, NotFoundError, ProtocolError, RetryableError
from tap_listrak.metrics import RequestMetrics
from tap_listrak.replies import OperationReader, Page
from tap_listrak.retry import Cancellation
from tap_listrak.slots import Slots
from tap_listrak.spool import ReceivedReply
from tap_listrak.transport import Reply, Transport

READ_CHUNK = 64 * 1024  # bytes taken off the socket, and handed to the parser, at a time
THROTTLED = 429


class Exchange:
    def __init__(self, transport: Transport | None, readers: dict[str, OperationReader],
                 headers: dict[str, dict[str, str]], max_workers: int, max_reply_bytes: int,
                 cancellation: Cancellation, secrets: tuple[str, ...]):
        self.transport, self.readers, self.headers = transport, readers, headers
        self.max_reply_bytes, self.cancellation, self.secrets = max_reply_bytes, cancellation, secrets
        self.metrics = RequestMetrics()
        self.slots = Slots(max_workers)
        # One worker at a time parses and encodes; the others wait on this lock, not on the GIL:
        # under the GIL only one can run Python anyway, and threads contending for the GIL itself
        # cost more CPU per record. Taken once per reply, for its METRIC line and the whole read.
        self.cpu = threading.Lock()

    def send(self, operation: str, body: bytes, collect: Callable[[], object] = list) -> Page:
        """One attempt of a SOAP request: `body` posted to the endpoint."""
        return self.call(operation, lambda: self.transport.post("", self.headers[operation], body), collect)

    def call(self, operation: str, issue: Callable[[], Reply], collect: Callable[[], object] = list) -> Page:
        """One attempt: `issue()` sends the request through the door and returns its reply, read by the
        operation's reader. A failure that ends the run (anything but a RetryableError, a vanished object
        or a cancellation) cancels it while this request still holds its slot."""
        with self.slots.held() as ticket:
            self.cancellation.check()  # once a slot is ours: the run may have ended meanwhile
            try:
                status, headers, reply, took = self._receive(operation, issue)
                if status == THROTTLED:
                    self.slots.throttled(ticket)
                if status != 200:
                    return self._read(operation, status, headers, reply, took, collect)
            except ListrakError as exc:
                if not isinstance(exc, (RetryableError, NotFoundError, Cancelled)):
                    self.cancellation.cancel(exc)
                raise
        page = self._read(operation, status, headers, reply, took, collect)
        self.slots.succeeded()
        return page

    def _read(self, operation: str, status: int, headers, reply: ReceivedReply, took: float, collect) -> Page:
        try:
            with self.cpu:
                self.metrics.line(operation, took, status, received=True)
                return self.readers[operation].read(reply.chunks(READ_CHUNK), status, self.secrets, collect)
        except RetryableError as exc:
            raise type(exc)(f"{operation}: {exc}", retry_after=retry_after(status, headers)) from None
        except ProtocolError as exc:
            raise ProtocolError(f"{operation}: {exc}") from None
        finally:
            reply.close()

    def _receive(self, operation: str, issue: Callable[[], Reply]) -> tuple[int, object, ReceivedReply, float]:
        """Posts the request and takes its whole reply off the socket: its status, the reply and the
        seconds it took (and its headers). A reply that passes max_reply_megabytes is refused as it arrives. A request
        that fails has its METRIC line written here; one that got its reply, by the reader."""
        started, status, response, reply, received = time.monotonic(), None, None, None, False
        try:
            response = issue()
            status = response.status
            reply = ReceivedReply()
            for chunk in response.chunks(READ_CHUNK):
                reply.write(chunk)
                if reply.size > self.max_reply_bytes:
                    raise ProtocolError(f"the reply passed {self.max_reply_bytes // (1 << 20):,} MB without ending "
                                        "and was refused (a Listrak page is a few MB; raise max_reply_megabytes if "
                                        "this is real)")
            received = True
            return status, response.headers, reply, time.monotonic() - started
        except RetryableError as exc:
            raise RetryableError(f"{operation}: {exc}") from None
        except ProtocolError as exc:
            raise ProtocolError(f"{operation}: {exc}") from None
        finally:
            self.metrics.count(operation, 0 if status is None else status)
            if not received:  # failed: what arrived is dropped, and the connection with it
                if reply is not None:
                    reply.close()
                if response is not None:
                    response.close()
                self.metrics.line(operation, time.monotonic() - started, status, received=False)


def retry_after(status: int, headers) -> float | None:
    """Seconds a 429 or 503 reply asks the client to wait (Retry-After: seconds or an HTTP date)."""
    if status not in (THROTTLED, 503) or headers is None:
        return None
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())
