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
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

Unit = TypeVar("Unit")
PAGES_BUFFERED_PER_UNIT = 2
# Pages waiting their turn spill to disk past a few KB (output.SpooledPage), so a deep lookahead costs
# little memory; it keeps the pool busy while the unit at the head is a long sequential walk (every
# page of a large list's subscribed contacts).
LOOKAHEAD = 8
# Threads beyond the request slots, per slot. A request's slot is given back once its reply is in,
# and replies are parsed after, one at a time (client.cpu): while a thread holds a reply waiting to
# be parsed, a spare one carries the next request. Each spare thread holds a reply and a unit's
# pages, so more of them cost memory (docs/architecture.md, "Memory").
SPARE_THREADS_PER_SLOT = 1 / 6
_DONE = object()


def threads_for(slots: int) -> int:
    """Threads to run units on with `slots` requests allowed on the wire (1: sequential, one thread)."""
    return slots if slots <= 1 else slots + max(1, round(slots * SPARE_THREADS_PER_SLOT))


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def ordered_pages(units: Iterable[Unit], fetch: Callable[[Unit], Iterator[list]],
                  workers: int) -> Iterator[tuple[Unit, Iterator[list]]]:
    """Yields (unit, pages) in unit order; `pages` must be consumed before the next item is taken.

    `units` is read on a thread of its own: making the next unit may take a while (the message
    index is read before its children's units exist), and meanwhile the consumer goes on writing
    the units already started instead of leaving their pages to pile up."""
    if workers <= 1:
        for unit in units:
            yield unit, fetch(unit)
        return
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="listrak")
    # Units started and not yet written: the one being written, the queue's, and one in the feeder's hand.
    started: queue.Queue = queue.Queue(maxsize=max(workers * LOOKAHEAD - 2, 1))
    feeder = threading.Thread(target=_feed, args=(units, pool, fetch, stop, started), name="listrak-feeder",
                              daemon=True)
    feeder.start()
    try:
        while True:
            item = started.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):  # making the units failed: raised after every unit before it
                raise item.exc
            unit, pages = item
            yield unit, _pages_of(pages)
    finally:
        # A failed or abandoned walk: no unit is made after this, queued units never start, running
        # ones stop at their next page.
        stop.set()
        # The feeder may be inside `units` (reading the message index): not waited for past a
        # moment, so that a failure or Ctrl-C ends the run now; the sync cancels the client, which
        # ends that read, and whatever the feeder still tries to start is refused by the pool.
        feeder.join(timeout=1.0)
        pool.shutdown(wait=True, cancel_futures=True)


def _feed(units: Iterable[Unit], pool: ThreadPoolExecutor, fetch, stop: threading.Event, started: queue.Queue):
    """Starts the units in order, at most the queue's size ahead of the one being consumed."""
    try:
        for unit in units:
            if stop.is_set() or not _put(started, (unit, _start(pool, fetch, unit, stop)), stop):
                return
        _put(started, _DONE, stop)
    except BaseException as exc:  # handed to the consumer, raised there in order
        _put(started, _Failure(exc), stop)


def _put(target: queue.Queue, item, stop: threading.Event) -> bool:
    """Puts `item` once there is room, unless the walk stops first."""
    while not stop.is_set():
        try:
            target.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _start(pool, fetch, unit, stop) -> queue.Queue:
    # One slot more for the end marker: a finished unit gives its thread back without waiting its turn.
    pages: queue.Queue = queue.Queue(maxsize=PAGES_BUFFERED_PER_UNIT + 1)

    def run():
        if stop.is_set():
            return
        try:
            for page in fetch(unit):
                if not _put(pages, page, stop):
                    return
            _put(pages, _DONE, stop)
        except BaseException as exc:  # handed to the consumer, raised there in order
            _put(pages, _Failure(exc), stop)

    pool.submit(run)
    return pages


def _pages_of(pages: queue.Queue) -> Iterator[list]:
    while True:
        item = pages.get()
        if item is _DONE:
            return
        if isinstance(item, _Failure):
            raise item.exc
        yield item
