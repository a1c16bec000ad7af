"""Request bodies: zeep renders each request's envelope from the bundled WSDL.

zeep takes the parameters in any order and writes them in the order the WSDL's sequence gives,
each formatted by its XSD type (dates as naive xsd:dateTime, booleans as true/false, an ArrayOfInt
as its <int> elements), with the WSUser header, and a required nillable element left out (the
WSException body parameter of seven operations) as xsi:nil. Rendering costs far less than a
request's wait for its reply (docs/architecture.md, "What the tap writes itself").
"""
from __future__ import annotations

import zeep
from lxml import etree

NS = "http://webservices.listrak.com/v31/"


class Envelopes:
    def __init__(self, client: zeep.Client, service, header):
        self.client, self.service, self.header = client, service, header

    def body(self, operation: str, params: dict) -> bytes:
        """The request's bytes, as they go on the wire (UTF-8, with an XML declaration)."""
        envelope = self.client.create_message(self.service, operation, _soapheaders=[self.header], **params)
        return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
