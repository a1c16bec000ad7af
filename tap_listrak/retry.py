"""Attempts, the waits between them, and cancellation: what ends a run ends every request in it.

A request is attempted up to `tries` times while its failures are transient (RetryableError), with
exponential, jittered waits in between, for at most `max_seconds` in all. The first failure that
ends the run cancels it: no request starts after that, and a retry waiting for its turn gives up at
once (each retry of a refused login would prolong a lockout).
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Iterator, TypeVar

from tap_listrak.errors import Cancelled, ListrakError, RetryableError
from tap_listrak.redaction import redact

LOGGER = logging.getLogger(__name__)
T = TypeVar("T")


class Cancellation:
    """Thread-safe; the first failure given to cancel() is the one the run reports."""

    def __init__(self):
        self.failure: ListrakError | None = None
        self._event = threading.Event()
        self._lock = threading.Lock()

    def cancel(self, failure: ListrakError) -> None:
        with self._lock:
            if self.failure is None:
                self.failure = failure
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raises Cancelled once the run is cancelled."""
        if self._event.is_set():
            raise Cancelled(str(self.failure) if self.failure else "the run was stopped")

    def wait(self, seconds: float) -> None:
        """Sleeps `seconds`, or raises Cancelled as soon as the run is cancelled."""
        if self._event.wait(seconds):
            self.check()


class Retries:
    def __init__(self, tries: int, max_seconds: float, base_seconds: float, cancellation: Cancellation,
                 secrets: tuple[str, ...] = ()):
        self.tries, self.max_seconds, self.base_seconds = tries, max_seconds, base_seconds
        self.cancellation, self.secrets = cancellation, secrets

    def run(self, attempt: Callable[[], T]) -> T:
        """attempt() until it returns, raises anything but RetryableError, or the attempts run out."""
        delays = None  # made on the first retry (see _delays)
        started = time.monotonic()
        for number in range(1, self.tries + 1):
            try:
                return attempt()
            except RetryableError as exc:
                remaining = self.max_seconds - (time.monotonic() - started)
                if number == self.tries or remaining <= 0:
                    raise RetryableError(
                        f"{exc} (gave up: backoff_max_tries={self.tries}, backoff_max_seconds={self.max_seconds:g}; "
                        "the service or the network is failing, try again later)") from None
                delays = delays or _delays(self.base_seconds)
                # The server's Retry-After, when it sent one, else the next jittered delay.
                wait = min(exc.retry_after if exc.retry_after is not None else next(delays), remaining)
                LOGGER.warning("Retrying in %.1fs (attempt %d of %d): %s", wait, number, self.tries,
                               redact(str(exc), self.secrets))
                self.cancellation.wait(wait)
        raise AssertionError("unreachable")


def _delays(base_seconds: float) -> Iterator[float]:
    """Exponential waits with full jitter, from backoff. Imported on the first retry only: backoff
    imports asyncio, which would lengthen every run's start-up."""
    import backoff

    delays = backoff.expo(factor=base_seconds)
    next(delays)  # a backoff wait generator yields once before its first delay
    return (backoff.full_jitter(delay) for delay in delays)
