"""What the service accepts and refuses: client variations it tolerates, malformed requests it faults."""
from __future__ import annotations

import gzip
import socket
from urllib.parse import urlsplit

import pytest
import zeep
from lxml import etree

from tests.emulator import rawsoap
from tests.emulator.spec import BODY_FRAMINGS

NS = {"l": rawsoap.NS}


def _fault(body: bytes) -> tuple[str, str]:
    root = etree.fromstring(body)
    return root.findtext(".//faultcode"), root.findtext(".//faultstring")


def test_tolerates_old_clients(emulator):
    """Default namespace, children reversed, WSException and IncludeTestMessages omitted, date-only bounds."""
    list_id = emulator.data.list_ids()[0]
    status, _h, body = rawsoap.call(emulator.url, "ReportListMessageActivity",
                                    {"EndDate": "2100-01-01", "StartDate": "2000-01-01", "ListID": list_id})
    assert status == 200
    ids = etree.fromstring(body).xpath("//l:WSMessageActivity/l:MsgID/text()", namespaces=NS)
    tests = {m.MsgID for m in emulator.data.messages(0) if m.is_test}
    assert ids and tests and not tests & {int(i) for i in ids}  # IncludeTestMessages defaults to false


@pytest.mark.parametrize("flag, expect_tests", [("true", True), ("1", True), ("false", False), ("0", False)])
def test_include_test_messages(emulator, flag, expect_tests):
    list_id = emulator.data.list_ids()[0]
    _s, _h, body = rawsoap.call(emulator.url, "ReportListMessageActivity", {
        "ListID": list_id, "StartDate": "2000-01-01", "EndDate": "2100-01-01", "IncludeTestMessages": flag,
    })
    ids = {int(i) for i in etree.fromstring(body).xpath("//l:WSMessageActivity/l:MsgID/text()", namespaces=NS)}
    tests = {m.MsgID for m in emulator.data.messages(0) if m.is_test}
    assert bool(ids & tests) is expect_tests
    assert ids - tests == {m.MsgID for m in emulator.data.messages(0) if not m.is_test}


def test_prefixed_elements_and_nil_wsexception_as_zeep_sends_them(emulator):
    body = ('<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
            '<soap-env:Header><ns0:WSUser xmlns:ns0="http://webservices.listrak.com/v31/">'
            '<ns0:UserName>demo-user</ns0:UserName><ns0:Password>demo-pass</ns0:Password></ns0:WSUser>'
            '</soap-env:Header><soap-env:Body><ns0:ReportMessageContactSent '
            'xmlns:ns0="http://webservices.listrak.com/v31/"><ns0:MsgID>%d</ns0:MsgID><ns0:Page>1</ns0:Page>'
            '<ns0:WSException xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>'
            '</ns0:ReportMessageContactSent></soap-env:Body></soap-env:Envelope>') % emulator.data.msg_id(0, 0)
    status, headers, reply = rawsoap.post(emulator.url, body, "ReportMessageContactSent")
    assert status == 200 and headers["Content-Type"] == "text/xml; charset=utf-8"
    assert reply.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    assert reply.count(b"<WSMessageRecipient>") == 25


@pytest.mark.parametrize("action, body_op, expected", [
    ("NoSuchOperation", "NoSuchOperation", "did not recognize the value of HTTP Header SOAPAction"),
    ("ReportRangeMessageContactOpen", "ReportRangeMessageContactClick", "was not expected"),
    (None, "GetContactListCollection", "valid soap action"),
])
def test_unknown_or_mismatched_action(emulator, action, body_op, expected):
    status, _h, body = rawsoap.post(emulator.url, rawsoap.envelope(body_op), action)
    code, message = _fault(body)
    assert status == 500 and code == "soap:Client" and expected in message


def test_unquoted_soapaction_is_accepted(emulator):
    status, _h, _b = rawsoap.post(emulator.url, rawsoap.envelope("GetContactListCollection"), None,
                                  extra_headers={"SOAPAction": rawsoap.NS + "GetContactListCollection"})
    assert status == 200


@pytest.mark.parametrize("body, code, expected", [
    (b"", "soap:Client", "Root element is missing"),
    (b"<not xml", "soap:Client", "There is an error in XML document"),
    (b"\xff\xfe\x00garbage\x00", "soap:Client", "There is an error in XML document"),
    (b"<Envelope><Body/></Envelope>", "soap:VersionMismatch", "Possible SOAP version mismatch"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
     b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&e;</soap:Body>'
     b"</soap:Envelope>", "soap:Client", "error in XML document"),
])
def test_malformed_requests_are_faults(emulator, body, code, expected):
    status, _h, reply = rawsoap.post(emulator.url, body, "GetContactListCollection")
    got_code, message = _fault(reply)
    assert status == 500 and got_code == code and expected in message
    assert b"root:" not in reply


@pytest.mark.parametrize("params, missing", [
    ({"MsgID": "{msg}", "StartDate": "2000-01-01", "EndDate": "2100-01-01"}, "Page"),
    ({"Page": 1, "StartDate": "2000-01-01", "EndDate": "2100-01-01"}, "MsgID"),
    ({"MsgID": "{msg}", "StartDate": "2000-01-01", "Page": 1}, "EndDate"),
])
def test_missing_required_element_names_it(emulator, params, missing):
    params = {k: (str(v).format(msg=emulator.data.msg_id(0, 0))) for k, v in params.items()}
    status, _h, body = rawsoap.call(emulator.url, "ReportRangeMessageContactBounces", params)
    code, message = _fault(body)
    assert status == 500 and code == "soap:Client" and f"Missing required element {missing}" in message


def test_unqualified_children_do_not_count(emulator):
    msg_id = emulator.data.msg_id(0, 0)
    extra = f'<MsgID xmlns="">{msg_id}</MsgID><Page xmlns="">1</Page>'
    status, _h, body = rawsoap.post(emulator.url, rawsoap.envelope("ReportMessageContactSent", extra_body=extra),
                                    "ReportMessageContactSent")
    assert status == 500 and "Missing required element MsgID" in _fault(body)[1]


@pytest.mark.parametrize("value", ["abc", "1.5", "99999999999"])
def test_bad_int_is_a_client_fault(emulator, value):
    status, _h, body = rawsoap.call(emulator.url, "ReportMessageContactSent", {"MsgID": value, "Page": 1})
    code, message = _fault(body)
    assert status == 500 and code == "soap:Client" and "MsgID" in message


def test_unknown_ids_answer_404_faults(emulator, listrak):
    client = listrak(emulator)
    with pytest.raises(zeep.exceptions.Fault, match="404 - File or directory not found."):
        client.ReportRangeMessageContactOpen(MsgID=1, Page=1, StartDate="2000-01-01T00:00:00",
                                             EndDate="2100-01-01T00:00:00")
    with pytest.raises(zeep.exceptions.Fault, match="404 - File or directory not found."):
        client.ReportRangeSubscribedContacts(ListID=999999, Page=1, StartDate="2000-01-01T00:00:00",
                                             EndDate="2100-01-01T00:00:00")
    with pytest.raises(zeep.exceptions.Fault) as info:
        client.ReportListMessageActivity(ListID=42, StartDate="2000-01-01T00:00:00", EndDate="2100-01-01T00:00:00",
                                         IncludeTestMessages=False, WSException=None)
    assert info.value.code == "soap:Server" and "404" in info.value.message
    assert emulator.stats()["soap_faults"]["NotFound"] == 3


def test_vanished_message_is_listed_but_answers_404(emulator_factory, listrak):
    probe = emulator_factory(lists=1, messages_per_list=6)
    gone = probe.data.msg_id(0, 1)
    handle = emulator_factory(lists=1, messages_per_list=6, vanish_msg_ids=(gone,))
    client = listrak(handle)
    listed = [m.MsgID for m in client.activity(handle.data.list_ids()[0], "2000-01-01T00:00:00", "2100-01-01T00:00:00")]
    assert gone in listed
    for op in ("ReportMessageContactSent", "ReportRangeMessageContactOpen", "ReportRangeMessageContactBounces"):
        params = {"WSException": None} if op == "ReportMessageContactSent" else {
            "StartDate": "2000-01-01T00:00:00", "EndDate": "2100-01-01T00:00:00"}
        with pytest.raises(zeep.exceptions.Fault, match="404 - File or directory not found."):
            getattr(client, op)(MsgID=gone, Page=1, **params)
    truth = handle.truth("2000-01-01", "2100-01-01", include_test_messages=True)
    assert gone in {r["MsgID"] for r in truth["messages"]}
    assert gone not in {r["MsgID"] for r in truth["message_sends"]}


def test_chunked_request_body(emulator):
    body = rawsoap.envelope("GetContactListCollection").encode()
    parts = urlsplit(emulator.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 100]), body[i:i + 100]) for i in range(0, len(body), 100))
        sock.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: text/xml\r\n"
                     b'SOAPAction: "http://webservices.listrak.com/v31/GetContactListCollection"\r\n'
                     b"Connection: close\r\n\r\n" % parts.path.encode() + chunks + b"0\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200") and b"<WSContactList>" in reply


def test_garbage_on_the_socket_does_not_hurt_the_server(emulator):
    parts = urlsplit(emulator.url)
    for junk in (b"\x00\x01\x02\r\n\r\n", b"GET\r\n\r\n", b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                 b"POST /v31/IntegrationService.asmx HTTP/1.1\r\nContent-Length: 100\r\n\r\nshort"):
        with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
            sock.sendall(junk)
            sock.shutdown(socket.SHUT_WR)
            try:
                while sock.recv(65536):
                    pass
            except OSError:
                pass
    status, _h, _b = rawsoap.call(emulator.url, "GetContactListCollection")
    assert status == 200


@pytest.mark.parametrize("framing", BODY_FRAMINGS)
def test_replies_are_framed_and_compressed_as_asked(emulator_factory, framing):
    """--body-framing: chunked and gzip as an IIS server may send them; gzip only to a client that
    accepts it."""
    emulator = emulator_factory(lists=1, messages_per_list=1, recipients=5, body_framing=framing)
    status, headers, body = rawsoap.call(emulator.url, "GetContactListCollection",
                                         extra_headers={"Accept-Encoding": "gzip, deflate"})
    assert status == 200
    assert (headers.get("Transfer-Encoding") == "chunked") is framing.endswith("chunked")
    assert ("Content-Length" in headers) is not framing.endswith("chunked")
    assert (headers.get("Content-Encoding") == "gzip") is framing.startswith("gzip")
    _s, plain_headers, plain = rawsoap.call(emulator.url, "GetContactListCollection")
    assert "Content-Encoding" not in plain_headers
    assert (gzip.decompress(body) if framing.startswith("gzip") else body) == plain
    assert b"GetContactListCollectionResult" in plain
