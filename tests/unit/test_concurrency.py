"""ordered_pages: pages come out in unit order whatever order the units finish in, with bounded
concurrency, and a failure surfaces at its own unit and stops the workers."""
import itertools
import threading
import time

import pytest

from tap_listrak import concurrency
from tap_listrak.concurrency import ordered_pages

WAIT = 5  # seconds; only reached when something is wrong


class Boom(Exception):
    pass


def consume(walk) -> list[tuple[int, list]]:
    return [(unit, list(pages)) for unit, pages in walk]


def pages_of(unit: int, count: int = 3) -> list[list]:
    return [[(unit, page, row) for row in range(2)] for page in range(count)]


# -- order ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [1, 4])
def test_order_is_unit_order(workers):
    def fetch(unit):
        time.sleep(0.002 * (unit % 3))
        yield from pages_of(unit)

    assert consume(ordered_pages(range(10), fetch, workers)) == [(u, pages_of(u)) for u in range(10)]


def test_order_holds_when_later_units_finish_first():
    units = list(range(4))
    finished = {unit: threading.Event() for unit in units}
    finish_order = []

    def fetch(unit):
        if unit + 1 in finished:   # each unit waits for the next one to finish its work: 3, 2, 1, 0
            assert finished[unit + 1].wait(WAIT)
        finish_order.append(unit)
        finished[unit].set()
        yield [("only page", unit)]

    out = consume(ordered_pages(units, fetch, workers=4))
    assert finish_order == [3, 2, 1, 0]
    assert out == [(u, [[("only page", u)]]) for u in units]


def test_order_holds_with_more_units_than_workers_finishing_in_reverse():
    def fetch(unit):
        time.sleep(0.004 * (11 - unit))   # within each batch the last unit is the quickest
        yield [unit]
        yield [unit * 100]

    out = consume(ordered_pages(range(12), fetch, workers=4))
    assert out == [(u, [[u], [u * 100]]) for u in range(12)]


def test_one_worker_is_sequential_and_lazy():
    log = []

    def fetch(unit):
        log.append(("start", unit))
        yield [unit]
        log.append(("end", unit))

    for unit, pages in ordered_pages(range(3), fetch, workers=1):
        log.append(("got", unit))
        assert list(pages) == [[unit]]
    assert log == [("got", 0), ("start", 0), ("end", 0), ("got", 1), ("start", 1), ("end", 1),
                   ("got", 2), ("start", 2), ("end", 2)]


def test_units_can_be_a_generator_and_empty():
    assert consume(ordered_pages(iter([]), lambda unit: iter([[unit]]), workers=3)) == []
    assert consume(ordered_pages((u for u in "abc"), lambda unit: iter([[unit]]), workers=3)) == \
        [("a", [["a"]]), ("b", [["b"]]), ("c", [["c"]])]
    assert consume(ordered_pages(range(3), lambda unit: iter([]), workers=2)) == [(0, []), (1, []), (2, [])]


def test_units_already_started_are_written_while_the_next_unit_is_being_made():
    """Making a unit may take long (the message index is read before its children's units exist):
    the units before it come out meanwhile instead of waiting with their pages held."""
    index_read = threading.Event()
    written_before_index = []

    def units():
        yield 0
        yield 1
        assert index_read.wait(WAIT)   # a slow step between units
        yield 2

    walk = ordered_pages(units(), lambda unit: iter(pages_of(unit)), workers=3)
    for _ in range(2):
        unit, pages = next(walk)
        written_before_index.append((unit, list(pages)))
    index_read.set()
    assert written_before_index == [(0, pages_of(0)), (1, pages_of(1))]
    assert consume(walk) == [(2, pages_of(2))]


def test_a_failure_making_the_units_comes_after_the_units_before_it():
    def units():
        yield 0
        yield 1
        raise Boom("the index read failed")

    walk = ordered_pages(units(), lambda unit: iter(pages_of(unit)), workers=3)
    got = [(unit, list(pages)) for unit, pages in itertools.islice(walk, 2)]
    assert got == [(0, pages_of(0)), (1, pages_of(1))]
    with pytest.raises(Boom, match="the index read failed"):
        next(walk)
    assert not [t for t in threading.enumerate() if t.name.startswith("listrak")]


def test_giving_up_does_not_wait_for_a_slow_step_between_units():
    """A failure or Ctrl-C while the next unit is being made (a long index read) ends the walk at
    once; the sync cancels the client, which ends that read."""
    slow_step = threading.Event()

    def units():
        yield 0
        slow_step.wait(WAIT)
        yield 1

    walk = ordered_pages(units(), lambda unit: iter(pages_of(unit)), workers=2)
    unit, pages = next(walk)
    list(pages)
    started = time.monotonic()
    walk.close()
    assert time.monotonic() - started < WAIT / 2
    slow_step.set()


# -- bounds -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [1, 2, 3, 5])
def test_at_most_workers_units_run_at_once(workers):
    lock = threading.Lock()
    running, peak = 0, 0

    def fetch(unit):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            time.sleep(0.01)
            yield [unit]
            time.sleep(0.005)
            yield [unit]
        finally:
            with lock:
                running -= 1

    out = consume(ordered_pages(range(15), fetch, workers))
    assert [unit for unit, _ in out] == list(range(15))
    assert peak <= workers
    assert peak >= min(workers, 2)   # it does run units side by side
    assert running == 0


def test_a_unit_runs_only_a_few_pages_ahead():
    produced = {0: 0, 1: 0}
    release = threading.Event()

    def fetch(unit):
        for page in itertools.count():
            if unit == 0 and page == 1:
                assert release.wait(WAIT)   # unit 0 is slow; unit 1 has an endless supply
            if unit == 0 and page == 2:
                return
            produced[unit] += 1
            yield [page]

    walk = ordered_pages([0, 1], fetch, workers=2)
    unit, pages = next(walk)
    assert unit == 0 and next(pages) == [0]
    time.sleep(0.2)   # room for unit 1 to run ahead if it could
    assert produced[1] <= concurrency.PAGES_BUFFERED_PER_UNIT + 2  # the queue and its end slot, and one in hand
    release.set()
    assert list(pages) == [[1]]
    unit, pages = next(walk)
    assert unit == 1 and [next(pages) for _ in range(5)] == [[0], [1], [2], [3], [4]]
    walk.close()


# -- failures ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [1, 3])
def test_a_failure_is_raised_at_its_unit(workers):
    failed = threading.Event()

    def fetch(unit):
        if unit == 3:
            failed.set()
            raise Boom(f"unit {unit}")
        if workers > 1 and unit in (1, 2):
            assert failed.wait(WAIT)   # units 1 and 2 finish only after unit 3 has failed
        yield from pages_of(unit)

    seen = []
    with pytest.raises(Boom, match="unit 3"):
        for unit, pages in ordered_pages(range(8), fetch, workers):
            seen.append(unit)
            for page in pages:
                seen.append(page)
    expected = []
    for unit in range(3):
        expected += [unit] + pages_of(unit)
    assert seen == expected + [3]   # every page of units 0-2, then unit 3 raises when read


def test_a_failure_after_some_pages():
    def fetch(unit):
        yield [unit, "a"]
        if unit == 1:
            raise Boom("half way")
        yield [unit, "b"]

    walk = ordered_pages(range(4), fetch, workers=2)
    assert list(next(walk)[1]) == [[0, "a"], [0, "b"]]
    unit, pages = next(walk)
    assert unit == 1 and next(pages) == [1, "a"]
    with pytest.raises(Boom):
        next(pages)
    walk.close()


def test_a_caught_failure_lets_the_walk_go_on():
    # The sync skips a unit whose message no longer exists, and carries on with the next ones.
    def fetch(unit):
        if unit == 2:
            raise Boom("gone")
        yield [unit]

    out = []
    for unit, pages in ordered_pages(range(6), fetch, workers=3):
        try:
            out.append((unit, list(pages)))
        except Boom:
            out.append((unit, "skipped"))
    assert out == [(0, [[0]]), (1, [[1]]), (2, "skipped"), (3, [[3]]), (4, [[4]]), (5, [[5]])]


def test_workers_stop_after_a_failure():
    lock = threading.Lock()
    produced = {}
    open_fetches = set()
    pulled = []

    def units():
        for unit in itertools.count():   # an endless supply: only what is in flight may be taken
            pulled.append(unit)
            yield unit

    def fetch(unit):
        with lock:
            open_fetches.add(unit)
        try:
            if unit == 2:
                raise Boom("unit 2")
            for page in range(3) if unit < 2 else itertools.count():   # units after 2 would never end
                with lock:
                    produced[unit] = produced.get(unit, 0) + 1
                yield [page]
                time.sleep(0.001)
        finally:
            with lock:
                open_fetches.discard(unit)

    def sync():   # the sync's own pattern: a for loop straight over the walk
        for unit, pages in ordered_pages(units(), fetch, workers=4):
            for _ in pages:
                pass

    outcome = []

    def run():
        try:
            sync()
        except Boom as exc:
            outcome.append(exc)

    consumer = threading.Thread(target=run, daemon=True)   # a hang fails the test instead of hanging it
    consumer.start()
    consumer.join(WAIT)
    assert not consumer.is_alive(), "the walk did not end after the failure"
    assert [str(exc) for exc in outcome] == ["unit 2"]
    assert open_fetches == set()     # every worker's fetch was closed before the error got here
    assert len(pulled) <= 2 + 4 * concurrency.LOOKAHEAD   # no unit beyond the lookahead window was taken
    snapshot = dict(produced)
    assert all(snapshot[unit] <= concurrency.PAGES_BUFFERED_PER_UNIT + 2 for unit in snapshot if unit > 2)
    time.sleep(0.3)
    assert produced == snapshot      # and nothing runs on in the background
    assert not [t for t in threading.enumerate() if t.name.startswith("listrak")]


def test_workers_stop_when_the_consumer_gives_up():
    produced = []

    def fetch(unit):
        for page in itertools.count():
            produced.append(unit)
            yield [page]

    walk = ordered_pages(range(100), fetch, workers=3)
    unit, pages = next(walk)
    assert next(pages) == [0]
    closer = threading.Thread(target=walk.close, daemon=True)
    closer.start()
    closer.join(WAIT)
    assert not closer.is_alive(), "closing the walk did not stop the workers"
    count = len(produced)
    time.sleep(0.3)
    assert len(produced) == count
    assert not [t for t in threading.enumerate() if t.name.startswith("listrak")]


@pytest.mark.parametrize("slots, threads", [(1, 1), (2, 3), (4, 5), (12, 14), (24, 28)])
def test_spare_threads_parse_while_the_slots_carry_requests(slots, threads):
    from tap_listrak.concurrency import threads_for
    assert threads_for(slots) == threads
