"""Injected faults, the throttle, latency and statistics."""
from __future__ import annotations

import http.client
import threading
import time

import pytest

from tests.rest_emulator.client import Api, request

LISTS = "List_GetListCollection"


def test_each_fault_kind(rest_emulator_factory):
    kinds = ["500", "502", "503", "429", "429-retry-after", "reset", "truncate", "stall", "token-expired"]
    rules = tuple(f"{LISTS}:{n}:{kind}" for n, kind in enumerate(kinds, 1))
    handle = rest_emulator_factory(lists=1, fault_on=rules, stall_seconds=0.3, retry_after_seconds=7)
    api = Api(handle)
    reply = api.get("/List")
    assert reply.status == 500 and reply.body == {
        "status": 500, "error": "ERROR_UNHANDLED_EXCEPTION",
        "message": "An unexpected error occurred. Our development team has been notified."}
    reply = api.get("/List")
    assert reply.status == 502 and reply.headers["content-type"] == "text/html"
    assert api.get("/List").status == 503
    reply = api.get("/List")
    assert reply.status == 429 and "retry-after" not in reply.headers
    reply = api.get("/List")
    assert reply.status == 429 and reply.headers["retry-after"] == "7"
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        api.get("/List")
    with pytest.raises(http.client.IncompleteRead):
        api.get("/List")
    started = time.monotonic()
    assert api.get("/List").status == 200 and time.monotonic() - started >= 0.3
    assert api.get("/List").status == 401
    assert api.get("/List").status == 401  # that token is gone for good
    assert Api(handle).get("/List").status == 200
    stats = handle.stats()
    assert stats["injected_faults_total"] == len(kinds)
    assert stats["requests"][LISTS] == {"500": 1, "502": 1, "503": 1, "429": 2, "0": 1, "200": 3, "401": 2}
    assert handle.internal_errors() == []


def test_a_fault_rate_is_deterministic(rest_emulator_factory):
    def statuses():
        handle = rest_emulator_factory(lists=1, fault_rate=0.5, fault_kinds=("500", "429"), seed=7)
        api = Api(handle)
        return [api.get("/List/5001/Campaign", n=i).status for i in range(30)]
    first = statuses()
    assert first == statuses() and {200, 500, 429} <= set(first)


def test_max_concurrent_throttles_what_is_in_flight(rest_emulator_factory):
    handle = rest_emulator_factory(lists=1, max_concurrent=2, latency_ms=300)
    api = Api(handle)
    results = []
    threads = [threading.Thread(target=lambda: results.append(api.get("/List").status)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 200, 429, 429, 429]
    stats = handle.stats()
    assert stats["throttled"] == 3 and stats["max_in_flight"] >= 3


def test_a_leaky_bucket(rest_emulator_factory):
    handle = rest_emulator_factory(lists=1, rate_limit="3/0.5", throttle_retry_after=1)
    api = Api(handle)
    statuses = [api.get("/List").status for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    reply = api.get("/List")
    assert reply.headers.get("retry-after") == "1" and reply.body["error"] == "ERROR_TOO_MANY_REQUESTS"
    time.sleep(0.4)
    assert api.get("/List").status == 200


def test_latency_includes_the_emulators_work(rest_emulator_factory):
    api = Api(rest_emulator_factory(lists=1, latency_ms=150))
    started = time.monotonic()
    assert api.get("/List").status == 200
    assert 0.15 <= time.monotonic() - started < 0.5


def test_stats_reset_and_clock_over_http(rest_emulator):
    api = Api(rest_emulator)
    api.get("/List")
    api.get("/List/1")
    stats = rest_emulator.http_stats()
    assert stats["requests"]["List_GetListCollection"] == {"200": 1}
    assert stats["requests"]["List_GetListResourceById"] == {"404": 1}
    assert stats["requests"]["_token"] == {"200": 1} and stats["items_served"]["List_GetListCollection"] == 3
    assert request(rest_emulator.root + "/_reset", "POST").status == 200
    assert rest_emulator.stats()["total_requests"] == 0
    assert request(rest_emulator.root + "/_clock").body == {"as_of": None}
    reply = request(rest_emulator.root + "/_clock", "POST", b'{"as_of": "2023-01-01T00:00:00Z"}')
    assert reply.body == {"as_of": "2023-01-01T00:00:00.000000Z"}
    assert request(rest_emulator.root + "/_clock", "POST", b'{"other": 1}').status == 400
