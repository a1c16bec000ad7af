"""Helpers for the emulator's own tests: zeep clients bound to an emulator."""
from __future__ import annotations

from datetime import datetime

import pytest
import zeep
from zeep.transports import Transport

from tests.emulator.server import WSDL_FILE

BINDING = "{http://webservices.listrak.com/v31/}IntegrationServiceSoap"
EVERYTHING = dict(StartDate=datetime(1990, 1, 1), EndDate=datetime(2100, 1, 1))
# Paged operations whose response holds <Op>Result and WSException (zeep returns the wrapper): their item.
WRAPPED_PAGED = {"ReportMessageContactSent": "WSMessageRecipient", "ReportMessageLinkClick": "WSMessageLink",
                 "ReportAdminContactFeedbackLoop": "WSFeedbackLoopListing"}
RANGE_OPS = ("ReportRangeMessageContactOpen", "ReportRangeMessageContactClick", "ReportRangeMessageContactRead",
             "ReportRangeMessageContactRemoval", "ReportRangeMessageContactBounces")


class Listrak:
    """A plain zeep client of one emulator, credentials included."""

    def __init__(self, handle, timeout: float = 10, from_endpoint: bool = False) -> None:
        transport = Transport(timeout=timeout, operation_timeout=timeout)
        wsdl = handle.wsdl_url if from_endpoint else str(WSDL_FILE)
        self.client = zeep.Client(wsdl, transport=transport)
        self.service = self.client.service if from_endpoint else self.client.create_service(BINDING, handle.url)
        self.headers = handle.soap_headers

    def __getattr__(self, op):
        method = getattr(self.service, op)
        return lambda **kw: method(_soapheaders=self.headers, **kw)

    # Convenience readers returning plain lists of items (nil items dropped).
    def lists(self):
        return [x for x in (self.GetContactListCollection() or []) if x.ListID is not None]

    def activity(self, list_id, StartDate, EndDate, tests=True):  # noqa: N803 - the wire names
        reply = self.ReportListMessageActivity(ListID=list_id, StartDate=StartDate, EndDate=EndDate,
                                               IncludeTestMessages=tests, WSException=None)
        result = reply.ReportListMessageActivityResult
        return [m for m in (result.WSMessageActivity if result else []) if m.MsgID is not None]

    def all_pages(self, op, **params):
        items, page = [], 1
        while True:
            if op in WRAPPED_PAGED:
                reply = getattr(self, op)(Page=page, WSException=None, **params)
                result = getattr(reply, f"{op}Result")
                batch = getattr(result, WRAPPED_PAGED[op]) if result else None
            else:
                batch = getattr(self, op)(Page=page, **params)
            if not batch:
                return items
            items.extend(x for x in batch if any(v is not None for v in x.__values__.values()))
            page += 1


@pytest.fixture
def listrak():
    """listrak(handle, timeout=10, from_endpoint=False) -> Listrak client."""
    return Listrak
