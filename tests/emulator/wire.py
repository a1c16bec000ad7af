"""XML on the wire: replies, items and faults, built as strings (a DOM would cost more than the rest).

Shapes follow Listrak's documented samples (ReportRangeMessageContactBounces): the xsi/xsd/soap prefixes
declared in that order, the response wrapper in the default namespace with unprefixed qualified children,
no whitespace between elements (as asmx writes them), and item children in the WSDL's sequence order.
Empty strings are sent as an empty element, absent (null) strings are left out.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from .data import LIST_FIELDS, MESSAGE_FIELDS, Bounce, Click, Contact, ContactList, Message, Open, Removal
from .spec import OPERATIONS
from .times import Clock, event_date, xsd_datetime

NS = "http://webservices.listrak.com/v31/"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
ENVELOPE_OPEN = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
    "<soap:Body>"
)
ENVELOPE_CLOSE = "</soap:Body></soap:Envelope>"
NIL_WSEXCEPTION = '<WSException xsi:nil="true" />'
# Item types whose element order no source gives (docs/listrak-api.md §8b): the WSDL holds one plausible order,
# and --element-order reversed serves them in another, which a reader by element name must read the same.
PARTLY_KNOWN = frozenset(("WSCampaign", "WSMessageLink", "WSMessageDelivery", "WSConversationActivity",
                          "WSProfileHeader", "WSProfileAttribute", "WSFeedbackLoopListing"))
# Dates of the secondary types that are strings on the wire, written like the event dates.
STRING_DATES = frozenset(("AddDate", "HygieneDate"))


def esc(text: str) -> str:
    # Quotes need no escaping in element content; CR would be normalised away by parsers unless escaped.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#xD;")


def text_el(name: str, value) -> str:
    """An optional string element: None -> omitted, "" -> <name />."""
    if value is None:
        return ""
    if value == "":
        return f"<{name} />"
    return f"<{name}>{esc(value)}</{name}>"


def _who(e) -> str:
    return f"<ContactID>{esc(e.contact_id)}</ContactID><EmailAddress>{esc(e.email)}</EmailAddress>"


class Renderer:
    """Renders items with the server's time zone and event-date form."""

    def __init__(self, clock: Clock, event_form: str, element_order: str = "wsdl") -> None:
        self.clock = clock
        self.event_form = event_form
        self.reversed = element_order == "reversed"

    def _dt(self, utc: datetime) -> str:
        return xsd_datetime(self.clock.to_local(utc))

    def _event_dt(self, utc: datetime) -> str:
        return event_date(self.clock.to_local(utc), self.event_form)

    def _text(self, value) -> str | None:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, datetime):
            return self._dt(value)
        if isinstance(value, Decimal):
            return format(value, "f")  # xsd:decimal has no exponent form
        return value if value is None or isinstance(value, str) else str(value)

    def _item(self, tag: str, obj, names: tuple[str, ...], type_name: str | None = None) -> str:
        """An item whose children are obj's fields `names`, in that order (reversed for a partly known type
        under --element-order reversed)."""
        if self.reversed and (type_name or tag) in PARTLY_KNOWN:
            names = names[::-1]
        parts = []
        for name in names:
            value = getattr(obj, name)
            if name in STRING_DATES:
                parts.append(f"<{name}>{self._event_dt(value)}</{name}>")
            elif name == "WSProfileAttributes":  # repeated without a wrapper, each of type WSProfileAttribute
                parts.extend(self._item(name, attribute, attribute._fields, "WSProfileAttribute")
                             for attribute in value)
            elif name == "Vmta":
                parts.append("" if value is None else
                             f"<Vmta><VmtaID>{value[0]}</VmtaID>{text_el('Description', value[1])}</Vmta>")
            elif name == "GoogleTrackingDomains":
                parts.extend(text_el(name, domain) for domain in value)
            else:
                parts.append(text_el(name, self._text(value)))
        return f"<{tag}>{''.join(parts)}</{tag}>"

    def contact_list(self, cl: ContactList) -> str:
        return self._item("WSContactList", cl, LIST_FIELDS)

    def message_activity(self, m: Message) -> str:
        return self._item("WSMessageActivity", m, MESSAGE_FIELDS)

    def recipient(self, c: Contact) -> str:
        return f"<WSMessageRecipient><EmailAddress>{esc(c.email)}</EmailAddress></WSMessageRecipient>"

    def open(self, e: Open) -> str:
        return f"<WSContactOpen>{_who(e)}<OpenDate>{self._event_dt(e.when)}</OpenDate></WSContactOpen>"

    def read(self, e: Open) -> str:
        return f"<WSContactRead>{_who(e)}<ReadDate>{self._event_dt(e.when)}</ReadDate></WSContactRead>"

    def click(self, e: Click) -> str:
        return (f"<WSContactClick>{_who(e)}{text_el('LinkDescription', e.link_description)}"
                f"<LinkUrl>{esc(e.link_url)}</LinkUrl><ClickDate>{self._event_dt(e.when)}</ClickDate></WSContactClick>")

    def removal(self, e: Removal) -> str:
        return (f"<WSContactRemovalInfo>{_who(e)}<AdditionDate>{self._dt(e.addition)}</AdditionDate>"
                f"<RemovalDate>{self._dt(e.when)}</RemovalDate>{text_el('RemovalMethod', e.method)}"
                f"</WSContactRemovalInfo>")

    def bounce(self, e: Bounce) -> str:
        return (f"<WSContactBounce>{_who(e)}{text_el('BounceReason', e.reason)}{text_el('BounceDetail', e.detail)}"
                f"<BounceDate>{self._event_dt(e.when)}</BounceDate><BounceCount>{e.count}</BounceCount>"
                f"</WSContactBounce>")

    def secondary(self, tag: str, obj, names: tuple[str, ...] | None = None) -> str:
        """An item of a secondary type (secondary.py), fields in its declared order."""
        return self._item(tag, obj, names or obj._fields)

    def subscription(self, c: Contact) -> str:
        return (f"<WSContactSubscriptionInfo>{_who(c)}<AdditionDate>{self._dt(c.addition)}</AdditionDate>"
                f"{text_el('AdditionMethod', c.addition_method)}</WSContactSubscriptionInfo>")


def nil_item(item: str) -> str:
    return f'<{item} xsi:nil="true" />'


def response(op: str, items: list[str], empty_form: str = "element") -> str:
    """The success envelope of op. items are rendered item fragments (may be empty)."""
    with_exception = OPERATIONS[op][2]
    if items:
        result = f"<{op}Result>{''.join(items)}</{op}Result>"
    elif empty_form == "element":
        result = f"<{op}Result />"
    else:
        result = ""
    tail = NIL_WSEXCEPTION if with_exception else ""
    return f'{ENVELOPE_OPEN}<{op}Response xmlns="{NS}">{result}{tail}</{op}Response>{ENVELOPE_CLOSE}'


# The element of an operation's first item that a flood fills.
FLOOD_FIELDS = {"WSContactList": "ListName", "WSMessageActivity": "Subject", "WSCampaign": "Name",
                "WSMessageLink": "LinkURL", "WSMessageAnalyticsInformation": "Subject", "WSMessageDelivery": "Subject",
                "WSConversationActivity": "ConversationName", "WSProfileHeader": "Name"}  # others: EmailAddress
FLOOD_BLOCK = b"flood-0123456789" * 65536  # 1 MiB of text, sent again and again


def flood(op: str, size: int):
    """A success reply of op whose first item holds `size` bytes of text in one element: (length, chunks).

    The chunks come from a generator, so a reply of gigabytes costs one shared 1 MiB block.
    """
    item = OPERATIONS[op][0]
    field = FLOOD_FIELDS.get(item, "EmailAddress")
    head, tail = (part.encode() for part in response(op, [f"<{item}><{field}>\0</{field}></{item}>"]).split("\0"))

    def chunks():
        yield head
        whole, rest = divmod(size, len(FLOOD_BLOCK))
        for _ in range(whole):
            yield FLOOD_BLOCK
        if rest:
            yield FLOOD_BLOCK[:rest]
        yield tail

    return len(head) + size + len(tail), chunks()


def fault(code: str, message: str, detail: str | None = None) -> str:
    """An asmx-style SOAP 1.1 fault. code is the local part: Client, Server or VersionMismatch."""
    detail_xml = "<detail />" if detail is None else f"<detail>{esc(detail)}</detail>"
    return (f"{ENVELOPE_OPEN}<soap:Fault><faultcode>soap:{code}</faultcode>"
            f"<faultstring>{esc(message)}</faultstring>{detail_xml}</soap:Fault>{ENVELOPE_CLOSE}")


# What IIS (HTTP.sys) answers when the application pool is down or overloaded.
HTML_503 = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
    "<HTML><HEAD><TITLE>Service Unavailable</TITLE>\r\n"
    '<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
    "<BODY><h2>Service Unavailable</h2>\r\n<hr><p>HTTP Error 503. The service is unavailable.</p>\r\n</BODY></HTML>\r\n"
)


def help_page(url: str, operations) -> str:
    rows = "".join(f"<li>{op}</li>" for op in operations)
    return (f"<html><head><title>IntegrationService Web Service</title></head><body>"
            f"<h1>IntegrationService</h1><p>Local emulator. Service description: "
            f'<a href="{esc(url)}?WSDL">{esc(url)}?WSDL</a></p><ul>{rows}</ul></body></html>')
