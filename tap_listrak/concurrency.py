"""Ordered concurrency: units of work run on a bounded thread pool, their pages come out in the
order of the units, and a unit's pages come out only after every earlier unit's.

That order is what lets a STATE after unit N promise that units 1..N were written. Memory stays
bounded: `workers` threads run the units, at most LOOKAHEAD × `workers` units are started ahead
of the one being written, and each buffers at most PAGES_BUFFERED_PER_UNIT + 1 pages (the queue's
slot for the end marker may hold a page first) and one in its worker's hand. The lookahead
keeps every thread busy while the unit at the head of the line is a slow, many-page one. The pool
runs units in submission order, so the head always has a thread: no unit can wait on a later one.
"""
from __future__ import annotations

import queue
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

Unit = TypeVar("Unit")
PAGES_BUFFERED_PER_UNIT = 2
# Pages waiting their turn spill to disk past a few KB (output.SpooledPage), so a deep lookahead costs
# little memory; it keeps the pool busy while the unit at the head is a long sequential walk (every
# page of a large list's subscribed contacts).
LOOKAHEAD = 8
_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def ordered_pages(units: Iterable[Unit], fetch: Callable[[Unit], Iterator[list]],
                  workers: int) -> Iterator[tuple[Unit, Iterator[list]]]:
    """Yields (unit, pages) in unit order; `pages` must be consumed before the next item is taken."""
    if workers <= 1:
        for unit in units:
            yield unit, fetch(unit)
        return
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="listrak")
    in_flight: deque[tuple[Unit, queue.Queue]] = deque()
    try:
        for unit in units:
            in_flight.append((unit, _start(pool, fetch, unit, stop)))
            if len(in_flight) >= workers * LOOKAHEAD:
                yield _drain_head(in_flight)
        while in_flight:
            yield _drain_head(in_flight)
    finally:
        # A failed or abandoned walk: queued units never start, running ones stop at their next page.
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


def _start(pool, fetch, unit, stop) -> queue.Queue:
    # One slot more for the end marker: a finished unit gives its thread back without waiting its turn.
    pages: queue.Queue = queue.Queue(maxsize=PAGES_BUFFERED_PER_UNIT + 1)

    def put(item) -> bool:
        while not stop.is_set():
            try:
                pages.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run():
        if stop.is_set():
            return
        try:
            for page in fetch(unit):
                if not put(page):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there in order
            put(_Failure(exc))

    pool.submit(run)
    return pages


def _drain_head(in_flight):
    unit, pages = in_flight.popleft()
    return unit, _pages_of(pages)


def _pages_of(pages: queue.Queue) -> Iterator[list]:
    while True:
        item = pages.get()
        if item is _DONE:
            return
        if isinstance(item, _Failure):
            raise item.exc
        yield item
