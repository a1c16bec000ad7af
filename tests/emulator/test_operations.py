"""A plain zeep client built from the bundled WSDL reads every operation; the WSDL endpoint serves it."""
from __future__ import annotations

import urllib.error
import urllib.request
from datetime import datetime
from decimal import Decimal

import pytest
from lxml import etree

from tests.emulator import rawsoap
from tests.emulator.conftest import EVERYTHING, RANGE_OPS


def test_wsdl_endpoint_rewrites_both_addresses(emulator):
    for query in ("WSDL", "wsdl"):
        with urllib.request.urlopen(emulator.url + "?" + query, timeout=5) as reply:
            assert reply.status == 200
            assert reply.headers["Content-Type"].startswith("text/xml")
            root = etree.fromstring(reply.read())
    locations = root.xpath("//*[local-name()='address']/@location")
    assert locations == [emulator.url, emulator.url]
    assert emulator.stats()["requests"]["_wsdl"] == 2


def test_help_page_and_unknown_path(emulator):
    with urllib.request.urlopen(emulator.url, timeout=5) as reply:
        assert b"ReportRangeMessageContactBounces" in reply.read()
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(emulator.base_url + "/nothing-here", timeout=5)
    assert info.value.code == 404


def test_zeep_from_wsdl_endpoint_reads_every_operation(emulator, listrak):
    client = listrak(emulator, from_endpoint=True)
    lists = client.lists()
    assert [cl.ListID for cl in lists] == emulator.data.list_ids()
    first = lists[0]
    assert isinstance(first.CreateDate, datetime) and isinstance(first.EnableRSS, bool)
    messages = client.activity(first.ListID, **EVERYTHING)
    assert messages and all(isinstance(m.OpenPercent, Decimal) for m in messages)
    msg_id = messages[0].MsgID
    sent = client.ReportMessageContactSent(MsgID=msg_id, Page=1, WSException=None)
    assert sent.ReportMessageContactSentResult.WSMessageRecipient[0].EmailAddress
    assert sent.WSException.Description is None  # sent as xsi:nil
    for op in RANGE_OPS:
        items = getattr(client, op)(MsgID=msg_id, Page=1, **EVERYTHING)
        assert items, op
        assert items[0].EmailAddress and items[0].ContactID
    contacts = client.ReportRangeSubscribedContacts(ListID=first.ListID, Page=1, **EVERYTHING)
    assert isinstance(contacts[0].AdditionDate, datetime)
    counts = emulator.stats()["requests"]
    assert all(counts.get(op) for op in RANGE_OPS)


def test_nasty_values_survive_the_round_trip(emulator, listrak):
    client = listrak(emulator)
    by_id = {cl.ListID: cl for cl in client.lists()}
    truth = {r["ListID"]: r for r in emulator.truth("1990-01-01")["lists"]}
    for list_id, record in truth.items():
        got = by_id[list_id]
        for field in ("ListName", "FromName", "FromEmail", "DomainAliasLink", "DomainAliasEmail"):
            # zeep reads an empty element as None: "" and absent differ only on the wire (next test).
            assert getattr(got, field) == (record[field] or None), field
        assert list(got.GoogleTrackingDomains) == record["GoogleTrackingDomains"]
        assert (got.Vmta is None) == (record["Vmta"] is None)
    assert any("&" in r["ListName"] and "<" in r["ListName"] for r in truth.values())
    assert any(r["CreateDate"] is None for r in truth.values())
    nil_min = [cl for cl in by_id.values() if cl.CreateDate == datetime(1, 1, 1)]
    assert nil_min, ".NET minimum date is sent where the list has no date"


def test_empty_strings_are_empty_elements_and_nulls_are_left_out(emulator):
    status, _headers, body = rawsoap.call(emulator.url, "GetContactListCollection")
    assert status == 200
    ns = {"l": rawsoap.NS}
    items = etree.fromstring(body).xpath("//l:WSContactList[l:ListID]", namespaces=ns)
    records = {r["ListID"]: r for r in emulator.truth("1990-01-01")["lists"]}
    seen = set()
    for item in items:
        record = records[int(item.findtext(f"{{{rawsoap.NS}}}ListID"))]
        for field in ("FromName", "FromEmail", "DomainAliasLink", "DomainAliasEmail"):
            element = item.find(f"{{{rawsoap.NS}}}{field}")
            if record[field] is None:
                assert element is None
                seen.add("absent")
            else:
                assert (element.text or "") == record[field]
                seen.add("empty" if record[field] == "" else "value")
    assert seen == {"absent", "empty", "value"}
