"""The WSUser header on every call: bad or missing credentials, lockout, prohibited IP."""
from __future__ import annotations

import pytest
import zeep
from lxml import etree

from tests.emulator import rawsoap


def _fault(body: bytes) -> tuple[str, str]:
    root = etree.fromstring(body)
    return root.findtext(".//faultcode"), root.findtext(".//faultstring")


@pytest.mark.parametrize("creds", [
    {"username": "demo-user", "password": "wrong"},
    {"username": "someone", "password": "demo-pass"},
    {"username": None, "password": None},  # no header at all
    {"username": "", "password": ""},
])
def test_bad_or_missing_credentials(emulator, creds):
    status, headers, body = rawsoap.call(emulator.url, "GetContactListCollection", **creds)
    code, message = _fault(body)
    assert status == 500 and headers["Content-Type"] == "text/xml; charset=utf-8"
    assert code == "soap:Server"
    assert message == "Server was unable to process request. ---> [InvalidLogonAttempt] Invalid login attempt."


def test_zeep_sees_a_fault_carrying_the_token(emulator_factory, listrak):
    handle = emulator_factory(lists=1, password="s3cret & <pass>")
    client = listrak(handle)
    assert client.lists()  # the right (XML-special) password works
    client.headers = {"WSUser": {"UserName": handle.server.username, "Password": "nope"}}
    with pytest.raises(zeep.exceptions.Fault, match=r"\[InvalidLogonAttempt\]"):
        client.lists()


def test_lockout_after_n_bad_logins(emulator_factory):
    handle = emulator_factory(lists=1, lockout_after=2)
    messages = [_fault(rawsoap.call(handle.url, "GetContactListCollection", password="bad")[2])[1] for _ in range(3)]
    assert "[InvalidLogonAttempt]" in messages[0] and "[InvalidLogonAttempt]" in messages[1]
    assert "[LoginAttemptsExceeded]" in messages[2]
    # A locked account stays locked, even for the right password, until reset.
    status, _h, body = rawsoap.call(handle.url, "GetContactListCollection")
    assert status == 500 and "[LoginAttemptsExceeded]" in _fault(body)[1]
    handle.reset()
    assert rawsoap.call(handle.url, "GetContactListCollection")[0] == 200


def test_no_lockout_by_default(emulator):
    for _ in range(10):
        rawsoap.call(emulator.url, "GetContactListCollection", password="bad")
    assert rawsoap.call(emulator.url, "GetContactListCollection")[0] == 200
    assert emulator.stats()["soap_faults"] == {"InvalidLogonAttempt": 10}


def test_prohibited_ip(emulator_factory):
    handle = emulator_factory(lists=1, prohibited_ip=True)
    for op in ("GetContactListCollection", "ReportMessageContactSent"):
        status, _h, body = rawsoap.call(handle.url, op, {"MsgID": 1, "Page": 1})
        code, message = _fault(body)
        assert status == 500 and "[ProhibitedIPAddress]" in message and "127.0.0.1" in message


def test_faults_are_not_injected_into_unauthenticated_calls(emulator_factory):
    handle = emulator_factory(lists=1, fault_rate=1.0, fault_kinds=("html503",))
    status, _h, body = rawsoap.call(handle.url, "GetContactListCollection", password="bad")
    assert status == 500 and "[InvalidLogonAttempt]" in _fault(body)[1]
    assert handle.stats()["injected_faults_total"] == 0
    assert rawsoap.call(handle.url, "GetContactListCollection")[0] == 503
