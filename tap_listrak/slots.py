"""The requests in flight: at most `limit` at once, a limit that a throttled server lowers and that
successes raise again.

A throttle (HTTP 429) halves the limit (never below one); `raise_after` successes in a row at the
lowered limit raise it by one, up to the configured `max_workers`. Many requests sent at one limit
are often throttled together: only the first throttle of the requests sent at a limit lowers it, so
a burst of 429s halves it once, not once per reply. Shared by the SOAP and the REST clients
(exchange.py holds one).
"""
from __future__ import annotations

import threading

RAISE_AFTER = 20  # successes in a row before one more request may be in flight


class Slots:
    """Thread-safe. `with slots.held() as ticket:` holds one; `throttled(ticket)` and `succeeded()`
    report how the request went."""

    def __init__(self, maximum: int, raise_after: int = RAISE_AFTER):
        self.maximum = max(maximum, 1)
        self.limit = self.lowest = self.maximum
        self.raise_after = raise_after
        self.throttles = 0
        self.in_use = self.most_in_use = 0
        self._successes = 0
        self._generation = 0  # moves on each time the limit is lowered
        self._condition = threading.Condition()

    def acquire(self) -> int:
        """Waits for a slot under the current limit → the ticket to report a throttle with."""
        with self._condition:
            while self.in_use >= self.limit:
                self._condition.wait()
            self.in_use += 1
            self.most_in_use = max(self.most_in_use, self.in_use)
            return self._generation

    def release(self) -> None:
        with self._condition:
            self.in_use -= 1
            self._condition.notify()

    def held(self) -> "_Held":
        return _Held(self)

    def throttled(self, ticket: int) -> None:
        """The server refused a request sent under the limit of `ticket` as too many."""
        with self._condition:
            self.throttles += 1
            self._successes = 0
            if ticket == self._generation:
                self.limit = max(1, self.limit // 2)
                self.lowest = min(self.lowest, self.limit)
                self._generation += 1

    def succeeded(self) -> None:
        with self._condition:
            if self.limit >= self.maximum:
                return
            self._successes += 1
            if self._successes >= self.raise_after:
                self._successes = 0
                self.limit += 1
                self._condition.notify()

    def summary(self) -> str | None:
        """One line for the end of the run, when the server throttled; None when it never did."""
        if not self.throttles:
            return None
        return (f"the server throttled {self.throttles} request{'s' if self.throttles != 1 else ''} (HTTP 429): "
                f"requests in flight lowered to {self.lowest} at the lowest (max_workers {self.maximum}), "
                f"{self.limit} at the end")


class _Held:
    __slots__ = ("slots", "ticket")

    def __init__(self, slots: Slots):
        self.slots = slots

    def __enter__(self) -> int:
        self.ticket = self.slots.acquire()
        return self.ticket

    def __exit__(self, *exc) -> None:
        self.slots.release()
