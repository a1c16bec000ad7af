"""What the run counts of its requests: per operation and per HTTP status for the summary, and a
Singer METRIC line per request."""
from __future__ import annotations

import json
import logging
import threading
from collections import Counter

METRICS = logging.getLogger("tap_listrak.metrics")


class RequestMetrics:
    """Thread-safe counters."""

    def __init__(self):
        self.requests_by_operation: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()  # 0: no reply at all
        self._lock = threading.Lock()

    def count(self, operation: str, status: int) -> None:
        with self._lock:
            self.requests_by_operation[operation] += 1
            self.statuses[status] += 1

    @staticmethod
    def line(operation: str, seconds: float, status: int | None, received: bool) -> None:
        """A Singer METRIC line with the real HTTP status (null: no reply at all); the request
        succeeded when its whole reply came with HTTP 200."""
        if METRICS.isEnabledFor(logging.INFO):
            METRICS.info("METRIC: %s", json.dumps({
                "type": "timer", "metric": "http_request_duration", "value": round(seconds, 4),
                "tags": {"endpoint": operation, "http_status_code": status,
                         "status": "succeeded" if received and status == 200 else "failed"}}))
