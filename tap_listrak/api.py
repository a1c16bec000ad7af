"""What the SOAP and the REST clients share: one run's cancellation, retries and exchange (slots,
parse lock, counters), and the rule that a failure which ends a request's retries ends the run.

Each client adds its own requests (client.py: envelopes and numbered pages; rest_client.py: routes,
tokens and cursors) and calls `_run` with one attempt of a request.
"""
from __future__ import annotations

from typing import Callable, TypeVar

from tap_listrak.config import Config
from tap_listrak.errors import Cancelled, ListrakError, NotFoundError
from tap_listrak.exchange import Exchange
from tap_listrak.retry import Cancellation, Retries

T = TypeVar("T")


class ApiClient:
    """Thread-safe. The first failure that ends the run (refused credentials or IP, a reply outside the
    contract, retries given up) cancels it: no request starts after it, and a retry waiting for its
    turn gives up at once."""

    def __init__(self, config: Config, exchange: Callable[[Cancellation], Exchange]):
        self.config = config
        self._cancellation = Cancellation()
        self.retries = Retries(config.backoff_max_tries, config.backoff_max_seconds, config.backoff_base_seconds,
                               self._cancellation, config.secrets)
        self.exchange = exchange(self._cancellation)

    # -- what the run reads -------------------------------------------------------------------------
    @property
    def cpu(self):
        """The parse lock: one reply is read at a time (exchange.py)."""
        return self.exchange.cpu

    @property
    def slots(self):
        """The requests in flight, their limit and the throttles met (slots.Slots)."""
        return self.exchange.slots

    @property
    def requests_by_operation(self):
        return self.exchange.metrics.requests_by_operation

    @property
    def statuses(self):
        return self.exchange.metrics.statuses

    # -- one request, with retries --------------------------------------------------------------------
    def _run(self, attempt: Callable[[], T]) -> T:
        try:
            return self.retries.run(attempt)
        except (NotFoundError, Cancelled):
            raise  # a vanished object ends only its unit; a cancelled request, nothing more
        except ListrakError as exc:
            raise self._fail(exc)

    # -- cancellation -----------------------------------------------------------------------------
    def cancel(self, failure: ListrakError) -> None:
        """Ends the run: no request starts after this, and waiting retries give up."""
        self._cancellation.cancel(failure)

    @property
    def cancelled(self) -> bool:
        return self._cancellation.cancelled

    @property
    def failure(self) -> ListrakError | None:
        return self._cancellation.failure

    def _fail(self, exc: ListrakError) -> ListrakError:
        self.cancel(exc)
        return exc
