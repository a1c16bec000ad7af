"""The nine secondary operations in the bundled WSDL (docs/listrak-api.md §8, §8a, §9): zeep builds each
request in the documented order, each response and item type has the documented shape, each stream's
schema holds exactly its item type's fields, and the reply reader reads each item type."""
from __future__ import annotations

import copy
import datetime as dt

import pytest
from lxml import etree

from tap_listrak.client import BINDING, WSDL_PATH, load_wsdl
from tap_listrak.errors import ProtocolError
from tap_listrak.replies import NS, ItemReader, OperationReader
from tap_listrak.streams import load_schema

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
START, END = dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 1)


class New:
    def __init__(self, operation, params, order, wrapped, item, added=()):
        self.operation, self.params, self.order = operation, params, order
        self.wrapped, self.item, self.added = wrapped, item, added


# stream → operation, plausible parameters, request children in wire order, wrapped response
# (Result + WSException), item type, fields the stream adds to the item's own.
NEW = {
    "list_removals": New("ReportRangeListContactRemoval", dict(ListID=7, StartDate=START, EndDate=END, Page=1),
                         ("ListID", "StartDate", "EndDate", "Page"), False, "WSContactRemovalInfo", ("ListID",)),
    "list_hygiene": New("ReportRangeListContactHygiene", dict(ListID=7, StartDate=START, EndDate=END, Page=1),
                        ("ListID", "StartDate", "EndDate", "Page"), False, "WSContactHygieneInfo", ("ListID",)),
    "message_links": New("ReportMessageLinkClick", dict(MsgID=11, Page=1), ("MsgID", "Page", "WSException"), True,
                         "WSMessageLink"),
    "campaigns": New("GetCampaignCollection", dict(ListID=7), ("ListID",), False, "WSCampaign"),
    "message_analytics": New("GetMessageAnalyticsInformation", dict(MsgIDs={"int": [11, 12]}), ("MsgIDs",), False,
                             "WSMessageAnalyticsInformation"),
    "message_deliveries": New("ReportListMessageDelivery",
                              dict(ListID=7, StartDate=START, EndDate=END, IncludeTestMessages=False),
                              ("ListID", "StartDate", "EndDate", "IncludeTestMessages", "WSException"), True,
                              "WSMessageDelivery"),
    "conversations": New("ReportListConversationActivity", dict(ListID=7, IncludeTerminated=True),
                         ("ListID", "IncludeTerminated", "WSException"), True, "WSConversationActivity"),
    "profile_fields": New("GetProfileHeaderCollection", dict(ListID=7), ("ListID", "WSException"), True,
                          "WSProfileHeader"),
    "spam_complaints": New("ReportAdminContactFeedbackLoop", dict(StartDate=START, EndDate=END, Page=1),
                           ("StartDate", "EndDate", "Page", "WSException"), True, "WSFeedbackLoopListing"),
}
# profile_fields: one record per WSProfileAttribute, flattened with its WSProfileHeader.
PROFILE_HEADER_FIELDS = {"ListID": "ListID", "HeaderID": "HeaderID", "Name": "HeaderName", "Position": "HeaderPosition"}
DATA_TYPE_SETTINGS = ["RadioButton", "CheckBox", "TextArea", "Numeric", "Text", "Date", "ContentBlock"]
# Item types with a nested repeated type (the sample reply below holds flat items only).
NESTED = {"WSProfileHeader", "WSProfileAttribute"}
CASES = [pytest.param(stream, new, id=stream) for stream, new in NEW.items()]
FLAT = [case for case in CASES if case.values[0] != "profile_fields"]  # the item is the record
READABLE = [case for case in CASES if case.values[1].item not in NESTED]


@pytest.fixture(scope="module")
def zeep_client():
    return load_wsdl()


@pytest.fixture(scope="module")
def service(zeep_client):
    return zeep_client.create_service(BINDING, "https://listrak.invalid/v31/IntegrationService.asmx")


@pytest.fixture(scope="module")
def xml_schema() -> etree.XMLSchema:
    wsdl = etree.parse(str(_wsdl_path())).getroot()
    element = wsdl.find(f".//{{{XSD}}}schema")
    standalone = etree.Element(element.tag, dict(element.attrib), nsmap={"s": XSD, "tns": NS})
    standalone.extend(copy.deepcopy(child) for child in element)
    return etree.XMLSchema(standalone)


def _wsdl_path():
    return WSDL_PATH


def _type(zeep_client, name):
    return zeep_client.get_type(f"{{{NS}}}{name}")


def _names(zeep_type) -> list[str]:
    return [element.name for _, element in zeep_type.elements]


def _request(zeep_client, service, new: New):
    """As the tap builds it (envelopes.Envelopes.body): WSException, left out, goes as xsi:nil where the operation has it."""
    params = dict(new.params)
    header = zeep_client.get_element(f"{{{NS}}}WSUser")(UserName="user", Password="secret")
    return zeep_client.create_message(service, new.operation, _soapheaders=[header], **params)


@pytest.mark.parametrize("stream,new", CASES)
def test_request_children_are_in_the_documented_order(zeep_client, service, stream, new):
    envelope = _request(zeep_client, service, new)
    body = envelope.find(f"{{{SOAP_ENV}}}Body")
    (request,) = list(body)
    assert request.tag == f"{{{NS}}}{new.operation}"
    assert [etree.QName(child).localname for child in request] == list(new.order)
    assert all(etree.QName(child).namespace == NS for child in request)
    user = envelope.find(f"{{{SOAP_ENV}}}Header/{{{NS}}}WSUser")
    assert user is not None and user.findtext(f"{{{NS}}}UserName") == "user"
    exception = request.find(f"{{{NS}}}WSException")
    if exception is not None:
        assert exception.get(XSI_NIL) == "true"


def test_request_values_on_the_wire(zeep_client, service):
    ranged = _request(zeep_client, service, NEW["message_deliveries"]).find(f".//{{{NS}}}ReportListMessageDelivery")
    assert ranged.findtext(f"{{{NS}}}StartDate") == "2024-01-01T00:00:00"
    assert ranged.findtext(f"{{{NS}}}IncludeTestMessages") == "false"
    analytics = _request(zeep_client, service, NEW["message_analytics"]).find(f".//{{{NS}}}MsgIDs")
    assert [(etree.QName(child).localname, child.text) for child in analytics] == [("int", "11"), ("int", "12")]


@pytest.mark.parametrize("stream,new", CASES)
def test_both_bindings_carry_the_operation_with_its_soap_action(zeep_client, stream, new):
    for binding in zeep_client.wsdl.bindings.values():
        operation = binding.get(new.operation)
        assert operation.soapaction == f"{NS}{new.operation}"
        assert operation.style == "document"
        assert [name for name, _ in operation.input.header.type.elements] == ["WSUser"]
        assert operation.output.header.type.elements == []  # no output header: zeep unwraps as §4 says


@pytest.mark.parametrize("stream,new", CASES)
def test_response_wrapper_and_array(zeep_client, stream, new):
    response = zeep_client.get_element(f"{{{NS}}}{new.operation}Response")
    children = [element for _, element in response.type.elements]
    expected = [f"{new.operation}Result"] + (["WSException"] if new.wrapped else [])
    assert [element.name for element in children] == expected
    result = children[0]
    assert (result.min_occurs, result.max_occurs) == (0, 1)
    assert result.type.qname.localname == f"ArrayOf{new.item}"
    (item,) = [element for _, element in result.type.elements]
    assert item.name == new.item and item.type.qname.localname == new.item
    assert (item.min_occurs, item.max_occurs, item.nillable) == (0, "unbounded", True)
    if new.wrapped:
        exception = children[1]
        assert (exception.min_occurs, exception.max_occurs, exception.nillable) == (1, 1, True)


@pytest.mark.parametrize("stream,new", FLAT)
def test_schema_holds_the_item_fields_and_the_added_parent_field(zeep_client, stream, new):
    properties = list(load_schema(stream)["properties"])
    assert properties == list(new.added) + _names(_type(zeep_client, new.item))
    assert not set(new.added) & set(_names(_type(zeep_client, new.item)))


def test_profile_fields_schema_flattens_header_and_attribute(zeep_client):
    header = _type(zeep_client, "WSProfileHeader")
    attribute = _type(zeep_client, "WSProfileAttribute")
    assert _names(header) == ["HeaderID", "ListID", "Position", "Name", "WSProfileAttributes"]
    (attributes,) = [element for _, element in header.elements if element.name == "WSProfileAttributes"]
    assert attributes.type.qname.localname == "WSProfileAttribute"  # repeated directly, no ArrayOf wrapper
    assert (attributes.min_occurs, attributes.max_occurs) == (0, "unbounded")
    expected = set(PROFILE_HEADER_FIELDS.values()) | set(_names(attribute))
    assert set(load_schema("profile_fields")["properties"]) == expected
    assert len(load_schema("profile_fields")["properties"]) == len(expected) == 9


def test_data_type_settings_is_a_string_enum(zeep_client):
    (data_type,) = [element for _, element in _type(zeep_client, "WSProfileAttribute").elements
                    if element.name == "DataType"]
    assert data_type.type.qname.localname == "DataTypeSettings"
    wsdl = etree.parse(str(_wsdl_path())).getroot()
    (simple,) = wsdl.xpath("//s:simpleType[@name='DataTypeSettings']", namespaces={"s": XSD})
    (restriction,) = list(simple)
    assert restriction.get("base") == "s:string"
    assert [value.get("value") for value in restriction] == DATA_TYPE_SETTINGS
    assert data_type.type.pythonvalue("Numeric") == "Numeric"


_JSON_TYPES = {"int": "integer", "boolean": "boolean", "decimal": "number", "dateTime": "string", "string": "string",
               "DataTypeSettings": "string"}


@pytest.mark.parametrize("stream,new", CASES)
def test_schema_types_follow_the_xsd_types(zeep_client, stream, new):
    properties = load_schema(stream)["properties"]
    item = _type(zeep_client, new.item if stream != "profile_fields" else "WSProfileAttribute")
    for _, element in item.elements:
        spec = properties[element.name]
        xsd = element.type.qname.localname
        assert _JSON_TYPES[xsd] in spec["type"], (stream, element.name)
        if xsd == "int":
            assert spec == {"type": "integer", "minimum": -2**31, "maximum": 2**31 - 1}
        if xsd == "dateTime":
            assert spec == {"type": ["null", "string"], "format": "date-time"}
    for name in new.added:
        assert properties[name]["type"] == "integer"


@pytest.mark.parametrize("stream,new", READABLE)
def test_reader_reads_the_item_type(zeep_client, xml_schema, stream, new):
    reader = ItemReader.from_zeep_type(_type(zeep_client, new.item))
    assert list(reader.template) == _names(_type(zeep_client, new.item))
    reply = _reply(zeep_client, new)
    xml_schema.assertValid(etree.ElementTree(copy.deepcopy(reply[0][0])))  # the sample reply is valid
    page = OperationReader(new.operation, reader).read([etree.tostring(reply)], 200)
    assert page.slots == 2 and len(page.items) == 1
    (item,) = page.items
    assert set(item) == set(_names(_type(zeep_client, new.item)))
    assert all(value is not None for value in item.values())


@pytest.mark.parametrize("type_name", sorted(NESTED))
def test_reader_reads_the_profile_types(zeep_client, type_name):
    reader = ItemReader.from_zeep_type(_type(zeep_client, type_name))
    assert reader.type_name == type_name
    assert list(reader.template) == [name for name in _names(_type(zeep_client, type_name))
                                     if name != "WSProfileAttributes"]


def test_reader_reads_a_profile_header_with_its_attributes_and_enum_data_types(zeep_client):
    reader = ItemReader.from_zeep_type(_type(zeep_client, "WSProfileHeader"))
    attributes = "".join(f"<WSProfileAttributes><AttributeID>{n}</AttributeID><HeaderID>9</HeaderID>"
                         f"<DataType>{kind}</DataType><MaxLength>50</MaxLength><Position>{n}</Position>"
                         f"<Name>field {n}</Name></WSProfileAttributes>"
                         for n, kind in enumerate(["Numeric", "ContentBlock", "NotYetDocumented"], 1))
    header = etree.fromstring(f'<WSProfileHeader xmlns="{NS}"><HeaderID>9</HeaderID><ListID>7</ListID>'
                              f"<Position>2</Position><Name>Préférences</Name>{attributes}</WSProfileHeader>")
    item = reader.read(header)  # each attribute is one WSProfileAttributes element, without a wrapper
    assert {key: item[key] for key in ("HeaderID", "ListID", "Position", "Name")} == \
        {"HeaderID": 9, "ListID": 7, "Position": 2, "Name": "Préférences"}
    # An enum value reads as its text; one the WSDL does not list yet is kept as it is.
    assert [attribute["DataType"] for attribute in item["WSProfileAttributes"]] == \
        ["Numeric", "ContentBlock", "NotYetDocumented"]
    assert item["WSProfileAttributes"][0] == {"AttributeID": 1, "HeaderID": 9, "DataType": "Numeric",
                                              "MaxLength": 50, "Position": 1, "Name": "field 1"}
    empty = reader.read(etree.fromstring(f'<WSProfileHeader xmlns="{NS}"><HeaderID>8</HeaderID><ListID>7</ListID>'
                                         "<Position>1</Position></WSProfileHeader>"))
    assert empty["WSProfileAttributes"] == [] and empty["Name"] is None


def test_reader_still_refuses_a_type_it_cannot_read():
    class Unknown:
        qname = None

    class Element:
        name, type, min_occurs, max_occurs = "Odd", Unknown(), 1, 1

    class Complex:
        name, elements = "WSOdd", [("Odd", Element())]

    with pytest.raises(ProtocolError, match="does not know"):
        ItemReader.from_zeep_type(Complex())


_SAMPLES = {"int": "42", "boolean": "true", "decimal": "12.5", "dateTime": "2024-01-02T03:04:05.123",
            "string": "text", "DataTypeSettings": "Numeric"}


def _reply(zeep_client, new: New) -> etree._Element:
    """A SOAP 1.1 reply holding one full item and one nil slot, children in the WSDL's order."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    response = etree.SubElement(body, f"{{{NS}}}{new.operation}Response", nsmap={None: NS})
    result = etree.SubElement(response, f"{{{NS}}}{new.operation}Result")
    item = etree.SubElement(result, f"{{{NS}}}{new.item}")
    for _, element in _type(zeep_client, new.item).elements:
        etree.SubElement(item, f"{{{NS}}}{element.name}").text = _SAMPLES[element.type.qname.localname]
    etree.SubElement(result, f"{{{NS}}}{new.item}").set(XSI_NIL, "true")
    if new.wrapped:
        etree.SubElement(response, f"{{{NS}}}WSException").set(XSI_NIL, "true")
    return envelope
