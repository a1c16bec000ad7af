"""Request bodies: built by zeep from the bundled WSDL, once per operation, then filled in.

zeep renders an envelope in about 90 µs; a run makes one request per page of every report, so
each operation's envelope is rendered once with marker values in its int and dateTime parameters
and later requests only put their values, formatted by the same zeep types, where the markers
were. Booleans are part of the template's key; a request with an array parameter, or whose
markers are not unique in its envelope, is rendered by zeep every time.
tests/unit/test_envelopes.py holds every template's output equal to zeep's own.
"""
from __future__ import annotations

import datetime as dt
import threading

import zeep
from lxml import etree

NS = "http://webservices.listrak.com/v31/"
# Operations whose request carries the WSException body parameter (sent as xsi:nil).
WITH_WSEXCEPTION = {"ReportListMessageActivity", "ReportMessageContactSent", "ReportMessageLinkClick",
                    "ReportListMessageDelivery", "ReportListConversationActivity", "GetProfileHeaderCollection",
                    "ReportAdminContactFeedbackLoop"}
_MARKED = (int, dt.datetime)


class Envelopes:
    def __init__(self, client: zeep.Client, service, header):
        self.client, self.service, self.header = client, service, header
        self._templates: dict[tuple, _Template | None] = {}
        self._lock = threading.Lock()

    def body(self, operation: str, params: dict) -> bytes:
        marked = tuple(sorted(name for name, value in params.items() if _markable(value)))
        fixed = tuple(sorted((name, value) for name, value in params.items() if name not in marked))
        if any(not isinstance(value, bool) for _, value in fixed):
            return self.render(operation, params)  # an array (a batch of MsgIDs): rendered as it is
        key = (operation, marked, fixed)
        template = self._templates.get(key, False)
        if template is False:
            with self._lock:
                template = self._templates[key] = self._template(operation, params, marked)
        if template is None:
            return self.render(operation, params)
        return template.fill(params)

    def render(self, operation: str, params: dict) -> bytes:
        """zeep's own rendering of one request."""
        if operation in WITH_WSEXCEPTION:
            params = {**params, "WSException": None}
        envelope = self.client.create_message(self.service, operation, _soapheaders=[self.header], **params)
        return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")

    def _template(self, operation: str, params: dict, marked: tuple[str, ...]) -> "_Template | None":
        markers = {name: _marker(params[name], index) for index, name in enumerate(marked)}
        body = self.render(operation, {**params, **markers})
        types = dict(self.client.get_element(f"{{{NS}}}{operation}").type.elements)
        found = []
        for name in marked:
            text = types[name].type.xmlvalue(markers[name]).encode()
            if body.count(text) != 1:
                return None  # the marker is not unique: render this operation with zeep every time
            found.append((body.index(text), len(text), name, types[name].type.xmlvalue))
        parts, order, at = [], [], 0
        for start, length, name, format_value in sorted(found):  # in document order
            parts.append(body[at:start])
            order.append((name, format_value))
            at = start + length
        parts.append(body[at:])
        return _Template(parts, order)


class _Template:
    def __init__(self, parts: list[bytes], order: list[tuple]):
        self.parts, self.order = parts, order

    def fill(self, params: dict) -> bytes:
        pieces = [self.parts[0]]
        for (name, format_value), part in zip(self.order, self.parts[1:]):
            pieces += [format_value(params[name]).encode(), part]
        return b"".join(pieces)


def _markable(value) -> bool:
    return isinstance(value, _MARKED) and not isinstance(value, bool)


def _marker(value, index: int):
    """A value no real request carries, unique within the envelope, of the parameter's own type."""
    if isinstance(value, dt.datetime):
        return dt.datetime(1901, 2, 3, 4, 5, 6, 700000 + index)
    return 1987654301 + index
