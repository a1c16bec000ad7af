"""Injected faults (by rate and by rule), latency, statistics and reset."""
from __future__ import annotations

import http.client
import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import zeep
from lxml import etree

from tests.emulator import rawsoap
from tests.emulator.conftest import EVERYTHING

OP = "ReportRangeMessageContactOpen"
EVERYTHING_TEXT = {"StartDate": "1990-01-01T00:00:00", "EndDate": "2100-01-01T00:00:00"}


def _open_params(handle) -> dict:
    return {"MsgID": handle.data.msg_id(0, 0), "StartDate": "2000-01-01", "EndDate": "2100-01-01", "Page": 1}


def _session_post(handle, timeout=5.0):
    body = rawsoap.envelope(OP, _open_params(handle))
    return requests.post(handle.url, data=body.encode(), timeout=timeout,
                         headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{rawsoap.NS}{OP}"'})


def test_fault500_and_throttle(emulator_factory, listrak):
    handle = emulator_factory(lists=1, fault_on=(f"{OP}:1:fault500", f"{OP}:2:throttle"))
    client = listrak(handle)
    with pytest.raises(zeep.exceptions.Fault) as first:
        client.ReportRangeMessageContactOpen(MsgID=handle.data.msg_id(0, 0), Page=1, **EVERYTHING)
    assert first.value.code == "soap:Server" and "Timeout expired" in first.value.message
    with pytest.raises(zeep.exceptions.Fault, match=r"\[RequestLimitExceeded\]"):
        client.ReportRangeMessageContactOpen(MsgID=handle.data.msg_id(0, 0), Page=1, **EVERYTHING)
    assert client.ReportRangeMessageContactOpen(MsgID=handle.data.msg_id(0, 0), Page=1, **EVERYTHING)
    assert handle.stats()["injected_faults"] == {"fault500": 1, "throttle": 1}


def test_html503(emulator_factory):
    handle = emulator_factory(lists=1, fault_on=(f"{OP}:1:html503",))
    reply = _session_post(handle)
    assert reply.status_code == 503 and reply.headers["Content-Type"].startswith("text/html")
    assert b"Service Unavailable" in reply.content
    assert _session_post(handle).status_code == 200


def test_drop_closes_mid_body(emulator_factory):
    handle = emulator_factory(lists=1, fault_on=(f"{OP}:1:drop",))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        _session_post(handle)
    status, headers, body = rawsoap.call(handle.url, OP, _open_params(handle))
    assert status == 200 and int(headers["Content-Length"]) == len(body)
    # The declared length is the full body's: the client sees a short read.
    handle.reset()
    with pytest.raises(http.client.IncompleteRead) as info:
        rawsoap.call(handle.url, OP, _open_params(handle))
    assert len(info.value.partial) < len(body) and info.value.partial.startswith(body[:100])


def test_truncate_is_well_framed_but_cut_xml(emulator_factory):
    handle = emulator_factory(lists=1, fault_on=(f"{OP}:1:truncate",))
    status, headers, body = rawsoap.call(handle.url, OP, _open_params(handle))
    assert status == 200 and int(headers["Content-Length"]) == len(body)
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(body)
    full = rawsoap.call(handle.url, OP, _open_params(handle))[2]
    assert full.startswith(body) and len(body) < len(full)


def test_stall_outlasts_the_client_timeout_without_blocking_others(emulator_factory):
    handle = emulator_factory(lists=1, stall_seconds=1.5, fault_on=(f"{OP}:1:stall",))
    with ThreadPoolExecutor(2) as pool:
        started = time.monotonic()
        stalled = pool.submit(_session_post, handle, 0.5)
        time.sleep(0.1)
        quick = pool.submit(_session_post, handle, 5.0)
        assert quick.result().status_code == 200
        assert time.monotonic() - started < 0.5
        with pytest.raises(requests.exceptions.Timeout):
            stalled.result()
    assert handle.stats()["injected_faults"] == {"stall": 1}


def test_fault_rate_is_reproducible_and_retries_draw_again(emulator_factory):
    def pattern(seed):
        handle = emulator_factory(lists=1, seed=seed, fault_rate=0.5, fault_kinds=("fault500", "throttle"))
        outcome = []
        for page in range(1, 41):
            status, _h, body = rawsoap.call(handle.url, OP, {**_open_params(handle), "Page": page})
            outcome.append(status)
        return outcome, handle

    first, handle = pattern(7)
    second, _ = pattern(7)
    other, _ = pattern(8)
    assert first == second and first != other
    assert 5 < first.count(500) < 35
    assert handle.stats()["injected_faults_total"] == first.count(500)
    # Retrying the same call draws again: it gets through within a few attempts.
    statuses = [rawsoap.call(handle.url, OP, _open_params(handle))[0] for _ in range(12)]
    assert 200 in statuses and 500 in statuses + first


@pytest.mark.parametrize("kind", ["fault500", "html503", "truncate", "throttle", "drop", "deadlock404", "auth",
                                  "locked"])
def test_every_kind_by_rate(emulator_factory, kind):
    handle = emulator_factory(lists=1, fault_rate=1.0, fault_kinds=(kind,))
    try:
        status, _h, _b = rawsoap.call(handle.url, OP, _open_params(handle))
    except http.client.IncompleteRead:
        status = "dropped"
    expected = {"html503": 503, "truncate": 200, "drop": "dropped"}.get(kind, 500)
    assert status == expected
    with urllib.request.urlopen(handle.wsdl_url, timeout=5) as reply:  # not a data call: never faulted
        assert reply.status == 200
    assert handle.stats()["injected_faults"] == {kind: 1}


def test_latency(emulator_factory):
    handle = emulator_factory(lists=1, latency_ms=200)
    started = time.monotonic()
    assert rawsoap.call(handle.url, "GetContactListCollection")[0] == 200
    assert time.monotonic() - started >= 0.2
    with ThreadPoolExecutor(8) as pool:  # latency is per request, not serialised
        started = time.monotonic()
        list(pool.map(lambda _: rawsoap.call(handle.url, "GetContactListCollection"), range(8)))
    assert time.monotonic() - started < 1.0
    assert handle.stats()["max_in_flight"] >= 4


def test_stats_and_reset_over_http(emulator_factory):
    handle = emulator_factory(lists=2, fault_on=("GetContactListCollection:2:throttle",))
    for _ in range(3):
        rawsoap.call(handle.url, "GetContactListCollection")
    rawsoap.call(handle.url, "GetContactListCollection", password="bad")
    stats = handle.http_stats()
    assert stats["requests"] == {"GetContactListCollection": 4}
    assert stats["total_requests"] == 4 and stats["records_served"] == {"GetContactListCollection": 4}
    assert stats["injected_faults"] == {"throttle": 1} and stats["injected_faults_total"] == 1
    assert stats["soap_faults"] == {"Injected": 1, "InvalidLogonAttempt": 1}
    request = urllib.request.Request(handle.base_url + "/_reset", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=5) as reply:
        assert json.load(reply) == {"reset": True}
    assert handle.http_stats()["total_requests"] == 0
    # Rules count again from the start after a reset.
    rawsoap.call(handle.url, "GetContactListCollection")
    assert rawsoap.call(handle.url, "GetContactListCollection")[0] == 500


DEADLOCK = ("Server was unable to process request. ---> Transaction (Process ID 404) was deadlocked on lock resources "
            "with another process and has been chosen as the deadlock victim. Rerun the transaction.")


def test_deadlock404_is_a_transient_server_fault_holding_404(emulator_factory, listrak):
    handle = emulator_factory(lists=1, fault_on=(f"{OP}:2:deadlock404",))
    client = listrak(handle)
    assert client.ReportRangeMessageContactOpen(MsgID=handle.data.msg_id(0, 0), Page=1, **EVERYTHING)
    status, _h, body = rawsoap.call(handle.url, OP, _open_params(handle))
    assert status == 500
    fault = etree.fromstring(body).find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
    assert [fault.findtext(name) for name in ("faultcode", "faultstring", "detail")] == ["soap:Server", DEADLOCK,
                                                                                        DEADLOCK]
    assert rawsoap.call(handle.url, OP, _open_params(handle))[0] == 200  # the retry gets through
    assert "deadlock404" not in handle.server.fault_kinds  # opt-in: not in the default mix
    # By rate, a retry draws anew like any injected fault.
    handle = emulator_factory(lists=1, fault_rate=0.5, fault_kinds=("deadlock404",))
    statuses = {rawsoap.call(handle.url, OP, _open_params(handle))[0] for _ in range(20)}
    assert statuses == {200, 500}


@pytest.mark.parametrize("kind, token", [("auth", "[InvalidLogonAttempt]"), ("locked", "[LoginAttemptsExceeded]")])
def test_auth_fault_on_the_nth_call_of_any_operation(emulator_factory, kind, token):
    handle = emulator_factory(lists=2, fault_on=(f"*:3:{kind}",))
    list_id = handle.data.list_ids()[0]
    calls = [("GetContactListCollection", {}),
             ("ReportRangeSubscribedContacts", {"ListID": list_id, **EVERYTHING_TEXT, "Page": 1}),
             (OP, _open_params(handle)),
             ("GetContactListCollection", {})]
    rawsoap.call(handle.url, "GetContactListCollection", password="wrong")  # not a data call: not counted
    assert handle.http_stats()["first_fatal_fault_at"] is None
    replies = [rawsoap.call(handle.url, op, params) for op, params in calls]
    assert [status for status, _h, _b in replies] == [200, 200, 500, 200]
    assert token.encode() in replies[2][2] and b"soap:Server" in replies[2][2]
    stats = handle.http_stats()
    assert stats["first_fatal_fault_at"] == 3 and stats["requests_after_first_fatal_fault"] == 1
    assert stats["first_injected_fault_at"] == 3 and stats["requests_after_first_injected_fault"] == 1
    assert stats["injected_faults"] == {kind: 1} and stats["soap_faults"]["Injected"] == 1
    rawsoap.call(handle.url, "GetContactListCollection", password="wrong")  # any SOAP call counts as one after
    assert handle.http_stats()["requests_after_first_fatal_fault"] == 2
    handle.reset()
    stats = handle.http_stats()
    assert stats["first_fatal_fault_at"] is None and stats["requests_after_first_fatal_fault"] is None


def test_first_fault_statistics_by_kind(emulator_factory):
    handle = emulator_factory(lists=1, fault_on=(f"{OP}:1:throttle", f"{OP}:2:locked"))
    rawsoap.call(handle.url, OP, _open_params(handle))
    stats = handle.http_stats()
    assert stats["first_injected_fault_at"] == 1 and stats["requests_after_first_injected_fault"] == 0
    assert stats["first_fatal_fault_at"] is None  # a throttle is not fatal
    rawsoap.call(handle.url, OP, _open_params(handle))
    stats = handle.http_stats()
    assert stats["first_fatal_fault_at"] == 2 and stats["requests_after_first_fatal_fault"] == 0
    assert stats["requests_after_first_injected_fault"] == 1


def test_fault_rules_are_checked():
    from tests.emulator.spec import ServerSpec
    assert ServerSpec(fault_on=("*:1:auth",)).fault_rules() == {("*", 1): "auth"}
    for rule in ("*:0:auth", "Nope:1:auth", "*:1:nope"):
        with pytest.raises(ValueError):
            ServerSpec(fault_on=(rule,))
