"""The requests in flight: a throttle halves the limit once per burst, successes raise it again."""
import threading
import time

from tap_listrak.slots import Slots


def test_a_throttle_halves_the_limit_once_per_burst_and_never_below_one():
    slots = Slots(12, raise_after=3)
    tickets = [slots.acquire() for _ in range(12)]
    for ticket in tickets:  # twelve requests sent at one limit, all throttled: one halving
        slots.throttled(ticket)
    for _ in tickets:
        slots.release()
    assert slots.limit == 6 and slots.throttles == 12
    for _ in range(5):
        slots.throttled(slots.acquire())
        slots.release()
    assert slots.limit == 1 and slots.lowest == 1


def test_successes_raise_the_limit_one_at_a_time_up_to_the_maximum():
    slots = Slots(4, raise_after=3)
    slots.throttled(slots.acquire())
    slots.release()
    assert slots.limit == 2
    for expected in (3, 4):
        for _ in range(3):
            slots.succeeded()
        assert slots.limit == expected
    for _ in range(10):
        slots.succeeded()
    assert slots.limit == 4
    assert "lowered to 2" in slots.summary() and "max_workers 4" in slots.summary()


def test_no_summary_without_a_throttle():
    assert Slots(3).summary() is None


def test_requests_wait_for_a_slot_under_the_lowered_limit():
    slots = Slots(4, raise_after=1000)
    slots.throttled(slots.acquire())  # limit 2; one slot still held
    second = slots.acquire()
    entered = threading.Event()

    def third():
        with slots.held():
            entered.set()

    worker = threading.Thread(target=third)
    worker.start()
    assert not entered.wait(0.2)  # two in flight, limit two: the third waits
    slots.release()
    assert entered.wait(2)
    worker.join()
    slots.release()
    assert slots.most_in_use == 2 and second == 1
