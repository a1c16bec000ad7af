"""Progress you can watch: an INFO line every few seconds while a stream syncs (stream, units
done of total, records, records/s, ETA), or a one-line bar when stderr is a terminal."""
from __future__ import annotations

import logging
import sys
import time

LOGGER = logging.getLogger(__name__)


class Progress:
    def __init__(self, interval: float = 5.0, terminal: bool | None = None, clock=time.monotonic):
        self.interval = interval
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self.clock = clock
        self.stream = ""
        self.unit = ""
        self.total = 0
        self.done = 0
        self.records = 0
        self.started = self.last = 0.0

    def start(self, stream: str, total: int, unit: str) -> None:
        self.stream, self.total, self.unit = stream, total, unit
        self.done = self.records = 0
        self.started = self.last = self.clock()

    def advance(self, records: int, units: int = 1) -> None:
        self.done += units
        self.records += records
        now = self.clock()
        if now - self.last >= self.interval or (self.terminal and self.done == self.total):
            self.last = now
            self.report(now)

    def finish(self) -> None:
        if self.terminal and self.total:
            sys.stderr.write("\n")
            sys.stderr.flush()

    def report(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = self.records / elapsed
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        if self.terminal:
            filled = int(30 * self.done / self.total) if self.total else 30
            sys.stderr.write(f"\r{self.stream:<20} [{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} "
                             f"{self.unit}, {self.records:,} records, {rate:,.0f}/s, ETA {_clock(eta)} ")
            sys.stderr.flush()
        else:
            LOGGER.info("progress: %s %d/%d %s done, %d records, %.0f records/s, ETA %s", self.stream, self.done,
                        self.total, self.unit, self.records, rate, _clock(eta))


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
