"""The nine streams, declared once: what each reads, from which parent, keyed on what.

Everything else (schemas, metadata, the sync walk, the tests' expectations) follows this table.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Stream:
    name: str
    operation: str           # Listrak operation that returns this stream's items
    item_type: str           # WSDL type of one item
    key_properties: tuple[str, ...]
    parent: str | None       # stream whose records give the IDs this stream is read by
    parent_key: str | None   # field added to each record from the parent (MsgID or ListID)
    event_date: str | None   # field that start_date and the run's end bound
    paged: bool
    date_ranged: bool        # the operation takes StartDate/EndDate
    selected_by_default: bool

    @property
    def schema(self) -> dict:
        return load_schema(self.name)

    @property
    def date_fields(self) -> tuple[str, ...]:
        """Fields holding date-times: every property declared with format date-time."""
        return _fields_where(self.name, lambda spec: spec.get("format") == "date-time")

    @property
    def number_fields(self) -> tuple[str, ...]:
        """Fields holding fractional numbers."""
        return _fields_where(self.name, lambda spec: "number" in spec.get("type", ()))


def _event(name, operation, item_type, keys, event_date):
    return Stream(name, operation, item_type, ("MsgID", "EmailAddress") + keys, "messages", "MsgID",
                  event_date, paged=True, date_ranged=True, selected_by_default=False)


# Sync order: parents before children; the six message_* streams in the published order.
STREAMS: tuple[Stream, ...] = (
    Stream("lists", "GetContactListCollection", "WSContactList", ("ListID",), None, None, None,
           paged=False, date_ranged=False, selected_by_default=True),
    Stream("messages", "ReportListMessageActivity", "WSMessageActivity", ("MsgID",), "lists", None, "SendDate",
           paged=False, date_ranged=True, selected_by_default=True),
    Stream("message_sends", "ReportMessageContactSent", "WSMessageRecipient", ("MsgID", "EmailAddress"),
           "messages", "MsgID", None, paged=True, date_ranged=False, selected_by_default=False),
    _event("message_opens", "ReportRangeMessageContactOpen", "WSContactOpen", ("OpenDate",), "OpenDate"),
    _event("message_clicks", "ReportRangeMessageContactClick", "WSContactClick", ("ClickDate", "LinkUrl"),
           "ClickDate"),
    _event("message_reads", "ReportRangeMessageContactRead", "WSContactRead", ("ReadDate",), "ReadDate"),
    _event("message_unsubs", "ReportRangeMessageContactRemoval", "WSContactRemovalInfo", ("RemovalDate",),
           "RemovalDate"),
    _event("message_bounces", "ReportRangeMessageContactBounces", "WSContactBounce", ("BounceDate",), "BounceDate"),
    Stream("subscribed_contacts", "ReportRangeSubscribedContacts", "WSContactSubscriptionInfo",
           ("ContactID", "ListID"), "lists", "ListID", "AdditionDate", paged=True, date_ranged=True,
           selected_by_default=True),
)
STREAMS_BY_NAME = {stream.name: stream for stream in STREAMS}


@cache
def load_schema(name: str) -> dict:
    text = resources.files("tap_listrak").joinpath("schemas", f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)


def _fields_where(name: str, test) -> tuple[str, ...]:
    return tuple(field for field, spec in load_schema(name)["properties"].items() if test(spec))
