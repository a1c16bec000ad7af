"""Request bodies as the tap sends them: for every operation, a SOAP 1.1 envelope whose header is the
WSUser and whose body is valid against the bundled WSDL's schema (elements in its sequence order,
every required one present, WSException as xsi:nil), with values in their XSD forms."""
import copy
import datetime as dt
import threading
import zoneinfo

import pytest
from lxml import etree
from zeep.exceptions import ValidationError

from tap_listrak.client import WSDL_PATH, load_wsdl
from tap_listrak.envelopes import NS, Envelopes
from tap_listrak.plan import RunWindow, request_params
from tap_listrak.streams import BATCH, STREAMS

BINDING = f"{{{NS}}}IntegrationServiceSoap"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
USER, PASSWORD = "user & <co>", "p\"w'd é"
UTC = dt.timezone.utc
# A run as the tap plans it, in a zone an hour off UTC: its requests carry naive local times.
ZONE = zoneinfo.ZoneInfo("Europe/Paris")
RUN = RunWindow(dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 3, 1, 12, 30, 15, 250000, tzinfo=UTC),
                dt.timedelta(days=30), lambda value: value.astimezone(ZONE).replace(tzinfo=None))
OPERATIONS = sorted({stream.operation for stream in STREAMS})


@pytest.fixture(scope="module")
def envelopes():
    client = load_wsdl()
    service = client.create_service(BINDING, "http://127.0.0.1/x.asmx")
    header = client.get_element(f"{{{NS}}}WSUser")(UserName=USER, Password=PASSWORD)
    return Envelopes(client, service, header)


@pytest.fixture(scope="module")
def wsdl_schema():
    """The WSDL's types as an XML Schema (read with lxml, independently of zeep), and its element
    declarations by name."""
    wsdl = etree.parse(str(WSDL_PATH))
    types = wsdl.find(f".//{{{XSD}}}schema")
    # The QNames in attribute values (type="tns:…") need the definitions' namespace declarations.
    root = etree.Element(types.tag, attrib=dict(types.attrib), nsmap=wsdl.getroot().nsmap)
    root.extend(copy.deepcopy(child) for child in types)
    declared = {element.get("name"): element for element in root.findall(f"{{{XSD}}}element")}
    return etree.XMLSchema(root), declared


def params_as_the_tap_sends(stream) -> dict:
    """The parameters the plan gives a request of the stream's first unit (page 1, for a paged one)."""
    if stream.unit == BATCH:
        return {stream.batch_param: {"int": [300007, 300014, 300021]}, **dict(stream.constants)}
    parent = {stream.parent_field: 5001 if stream.parent == "lists" else 300007} if stream.parent else None
    window = (RUN.start, RUN.end) if stream.unit == "window" else None
    params = request_params(stream, parent, RUN, include_test_messages=False, window=window)
    return {**params, "Page": 1} if stream.paged else params


def _sequence(declared: dict, operation: str) -> list[tuple[str, bool]]:
    """The request element's children as the WSDL declares them: (name, nillable), in order."""
    return [(child.get("name"), child.get("nillable") == "true")
            for child in declared[operation].iter(f"{{{XSD}}}element") if child is not declared[operation]]


def _parts(body: bytes):
    envelope = etree.fromstring(body)
    assert envelope.tag == f"{{{SOAP_ENV}}}Envelope"
    header, soap_body = list(envelope)
    assert header.tag == f"{{{SOAP_ENV}}}Header" and soap_body.tag == f"{{{SOAP_ENV}}}Body"
    (user,) = list(header)
    (request,) = list(soap_body)
    return user, request


def _valid(schema, element) -> None:
    assert schema.validate(etree.ElementTree(copy.deepcopy(element))), schema.error_log


def test_every_operation_of_the_table_is_covered():
    assert len(OPERATIONS) == 18


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_each_request_is_valid_against_the_wsdl(envelopes, wsdl_schema, stream):
    schema, declared = wsdl_schema
    params = params_as_the_tap_sends(stream)
    body = envelopes.body(stream.operation, params)
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    user, request = _parts(body)
    _valid(schema, user)
    assert user.tag == f"{{{NS}}}WSUser"
    assert (user.findtext(f"{{{NS}}}UserName"), user.findtext(f"{{{NS}}}Password")) == (USER, PASSWORD)
    _valid(schema, request)
    assert request.tag == f"{{{NS}}}{stream.operation}"
    sequence = _sequence(declared, stream.operation)
    assert [etree.QName(child).localname for child in request] == [name for name, _ in sequence]
    for child, (name, nillable) in zip(request, sequence):
        if name in params:
            assert child.get(XSI_NIL) is None, name
        else:  # only WSException is left to zeep: the required, nillable exception slot
            assert (name, nillable, child.get(XSI_NIL), len(child), child.text) == ("WSException", True, "true", 0, None)


def test_values_in_their_xsd_forms(envelopes):
    stream = next(s for s in STREAMS if s.operation == "ReportListMessageActivity")
    _, request = _parts(envelopes.body(stream.operation, params_as_the_tap_sends(stream)))
    values = {etree.QName(child).localname: child.text for child in request}
    # Widened by a day, in the account's zone, naive; the fraction only where there is one.
    assert values == {"ListID": "5001", "StartDate": "2023-12-31T01:00:00", "EndDate": "2024-03-02T13:30:15.250000",
                      "IncludeTestMessages": "false", "WSException": None}
    _, request = _parts(envelopes.body("ReportListConversationActivity", {"ListID": 7, "IncludeTerminated": True}))
    assert request.findtext(f"{{{NS}}}IncludeTerminated") == "true"


def test_an_array_parameter_is_one_element_per_value(envelopes, wsdl_schema):
    schema, _ = wsdl_schema
    ids = list(range(300007, 300007 + 7 * 2500, 7))  # a whole batch: Listrak's documented limit
    _, request = _parts(envelopes.body("GetMessageAnalyticsInformation", {"MsgIDs": {"int": ids}}))
    _valid(schema, request)
    (array,) = list(request)
    assert etree.QName(array).localname == "MsgIDs"
    assert [(etree.QName(item).localname, item.text) for item in array] == [("int", str(i)) for i in ids]


def test_the_order_of_the_parameters_given_does_not_matter(envelopes):
    params = {"Page": 3, "EndDate": dt.datetime(2024, 2, 1), "StartDate": dt.datetime(2024, 1, 1), "MsgID": 9}
    reversed_params = dict(reversed(list(params.items())))
    assert envelopes.body("ReportRangeMessageContactOpen", params) == \
        envelopes.body("ReportRangeMessageContactOpen", reversed_params)


def test_a_missing_or_unknown_parameter_is_refused_before_sending(envelopes):
    with pytest.raises(ValidationError, match="EndDate"):
        envelopes.body("ReportRangeMessageContactOpen", {"MsgID": 1, "Page": 1, "StartDate": dt.datetime(2024, 1, 1)})
    with pytest.raises(TypeError):
        envelopes.body("ReportMessageContactSent", {"MsgID": 1, "Page": 1, "ListID": 2})


def test_bodies_rendered_on_many_threads_are_the_sequential_ones(envelopes):
    cases = [(s.operation, params_as_the_tap_sends(s)) for s in STREAMS]
    expected = [envelopes.body(operation, params) for operation, params in cases]
    results: dict[int, list[bytes]] = {}

    def render(worker: int) -> None:
        results[worker] = [envelopes.body(operation, params) for _ in range(5) for operation, params in cases]

    threads = [threading.Thread(target=render, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(results[worker] == expected * 5 for worker in range(8))
