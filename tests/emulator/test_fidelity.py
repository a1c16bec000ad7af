"""The emulator's replies against Listrak's documented samples (tests/fixtures/listrak_samples)."""
from __future__ import annotations

from pathlib import Path

import zeep
from lxml import etree

from tests.emulator import rawsoap
from tests.emulator.conftest import BINDING
from tests.emulator.server import WSDL_FILE

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "listrak_samples"
PLACEHOLDERS = {"string": "x", "int": "1", "dateTime": "2024-01-05T13:04:05"}


def shape(element) -> tuple:
    """Names, namespaces, order and nesting; text and attributes ignored."""
    return (element.tag, tuple(shape(child) for child in element.iterchildren(etree.Element)))


def sample(name: str):
    return etree.parse(str(SAMPLES / name), etree.XMLParser(remove_blank_text=True)).getroot()


def bounces_reply(handle) -> bytes:
    msg_id = handle.data.msg_id(0, 0)
    status, headers, body = rawsoap.call(handle.url, "ReportRangeMessageContactBounces", {
        "MsgID": msg_id, "StartDate": "2000-01-01T00:00:00", "EndDate": "2100-01-01T00:00:00", "Page": 1})
    assert status == 200 and headers["Content-Type"] == "text/xml; charset=utf-8"
    return body


def test_bounces_reply_has_the_documented_structure(emulator_factory):
    handle = emulator_factory(lists=1, messages_per_list=1, recipients=400, bounce_rate=0.2, nil_items=False)
    body = bounces_reply(handle)
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:xsi="http://www.w3.org/2001/'
                           b'XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
                           b'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>')
    ours = etree.fromstring(body)
    documented = sample("ReportRangeMessageContactBounces.response.xml")
    assert ours.nsmap == documented.nsmap  # xsi, xsd and soap prefixes, as declared in the sample
    assert list(ours.nsmap) == list(documented.nsmap)
    documented_result = documented[0][0][0]
    result = ours[0][0][0]
    full_item = shape(documented_result[0])
    # Envelope > Body > Response > Result, same names and namespaces.
    assert shape(ours)[0] == shape(documented)[0]
    assert [e.tag for e in ours.iter() if e.tag.endswith("Response") or e.tag.endswith("Result")] == \
           [e.tag for e in documented.iter() if e.tag.endswith("Response") or e.tag.endswith("Result")]
    order = [tag for tag, _ in full_item[1]]
    required = {f"{{{rawsoap.NS}}}BounceCount"}
    complete = 0
    for item in result:
        tags = [child.tag for child in item]
        assert item.tag == documented_result[0].tag
        assert tags == [t for t in order if t in tags], "children in the documented order"
        assert required <= set(tags)
        complete += shape(item) == full_item
    assert complete > 0 and len(result) >= 2


def test_zeep_reads_the_sample_and_our_reply_alike(emulator_factory):
    handle = emulator_factory(lists=1, messages_per_list=1, recipients=400, bounce_rate=0.2, nil_items=False)
    client = zeep.Client(str(WSDL_FILE))
    service = client.create_service(BINDING, handle.url)
    operation = service._binding.get("ReportRangeMessageContactBounces")
    text = (SAMPLES / "ReportRangeMessageContactBounces.response.xml").read_text()
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(f">{placeholder}<", f">{value}<")
    documented = operation.process_reply(etree.fromstring(text.encode()))
    ours = operation.process_reply(etree.fromstring(bounces_reply(handle)))
    assert isinstance(documented, list) and isinstance(ours, list)
    assert type(documented[0]) is type(ours[0])
    fields = list(documented[0].__values__)
    complete = [item for item in ours if all(v is not None for v in item.__values__.values())]
    assert complete and all(list(item.__values__) == fields for item in ours)
    for item in complete:
        assert [type(item[f]) for f in fields] == [type(documented[0][f]) for f in fields]


def test_wrapped_replies_put_result_before_a_nil_wsexception(emulator):
    """ReportMessageLocationClick's page shows the WSException body parameter; asmx returns it after the Result."""
    request = sample("ReportMessageLocationClick.request.xml")
    assert request.find(f".//{{{rawsoap.NS}}}WSException") is not None
    for op, params in (("ReportMessageContactSent", {"MsgID": emulator.data.msg_id(0, 0), "Page": 1}),
                       ("ReportListMessageActivity", {"ListID": emulator.data.list_ids()[0],
                                                      "StartDate": "2000-01-01", "EndDate": "2100-01-01",
                                                      "IncludeTestMessages": "false"})):
        body = rawsoap.call(emulator.url, op, params)[2]
        response = etree.fromstring(body)[0][0]
        assert response.tag == f"{{{rawsoap.NS}}}{op}Response"
        assert [etree.QName(c).localname for c in response] == [f"{op}Result", "WSException"]
        assert response[1].get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true" and len(response[1]) == 0
        assert b'<WSException xsi:nil="true" />' in body


def test_documented_request_shape_is_served(emulator):
    """The documented request, placeholders filled in, is answered as zeep's own request is."""
    text = (SAMPLES / "ReportRangeMessageContactBounces.request.xml").read_text()
    text = (text.replace("<UserName>string<", "<UserName>demo-user<").replace("<Password>string<", "<Password>demo-pass<")
            .replace("<MsgID>int<", f"<MsgID>{emulator.data.msg_id(0, 0)}<").replace("<Page>int<", "<Page>1<")
            .replace(">dateTime<", ">2020-01-01T00:00:00<").replace("<EndDate>2020", "<EndDate>2100"))
    status, _h, body = rawsoap.post(emulator.url, text, "ReportRangeMessageContactBounces")
    assert status == 200 and b"<WSContactBounce>" in body


def test_the_taps_analytics_request_and_the_emulators_reply_have_the_documented_shapes(emulator):
    """GetMessageAnalyticsInformation's page: MsgIDs as <int> items, and the item's children in its order."""
    from tap_listrak.client import ListrakClient
    from tap_listrak.config import parse_config
    msg_ids = [m.MsgID for m in emulator.data.all_messages()[:2]]
    client = ListrakClient(parse_config({"username": "demo-user", "password": "demo-pass", "start_date": "2024-01-01",
                                         "endpoint_url": emulator.url}))
    body = client.envelopes.body("GetMessageAnalyticsInformation", {"MsgIDs": {"int": msg_ids}})
    ours, documented = etree.fromstring(body), sample("GetMessageAnalyticsInformation.request.xml")
    assert shape(ours[-1]) == shape(documented[-1])  # Body > operation > MsgIDs > int, int
    assert [int(e.text) for e in ours.iter(f"{{{rawsoap.NS}}}int")] == msg_ids
    text = (SAMPLES / "GetMessageAnalyticsInformation.response.partial.xml").read_bytes()
    partial = etree.fromstring(text, etree.XMLParser(recover=True, remove_blank_text=True))
    documented_order = [child.tag for child in partial.iter(f"{{{rawsoap.NS}}}WSMessageAnalyticsInformation")
                        .__next__()]
    status, _, reply = rawsoap.post(emulator.url, body, "GetMessageAnalyticsInformation")
    assert status == 200
    items = list(etree.fromstring(reply).iter(f"{{{rawsoap.NS}}}WSMessageAnalyticsInformation"))
    assert len(items) == 2
    for item in items:
        tags = [child.tag for child in item]
        known = [tag for tag in tags if tag in documented_order]
        assert known == [tag for tag in documented_order if tag in known], "children in the documented order"
    assert len(documented_order) >= 10
