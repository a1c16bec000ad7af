"""Reading Listrak's SOAP replies with the standard library's expat parser, straight into plain dicts.

zeep reads the bundled WSDL and builds requests; replies are read here because building zeep
objects costs several times more CPU per record than the rest of the tap together. The field
tables come from zeep's parsed WSDL, so the WSDL stays the one description of the contract.

Replies are read as a stream (OperationReader.read): memory holds one slice's elements at a time.
(The client refuses a reply once it passes a size limit, whatever the endpoint sends.) The parser is
xml.etree's pull parser, whose elements are built in C with their tags shared: reading an item's
fields off them costs a quarter to a half of what the same walk over lxml's elements costs, which build a
proxy object and a tag string on every access (docs/architecture.md, "The reply reader").

What counts as what:
- a soap:Fault is classified by Listrak's documented forms (whole tokens such as
  [InvalidLogonAttempt], the phrase "404 - File or directory not found"), never by a bare
  substring; any other fault is transient;
- a reply that is not XML is a transient failure when it came with HTTP 5xx or was cut off, and a
  wrong endpoint when it is a whole HTML page;
- a DTD is refused outright, before the parser sees it (no entity is ever declared, so none is
  expanded, and no external reference is ever read);
- more than 10 MB without a completed item is a flood, not a reply, and is refused.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from collections import deque
from typing import Callable, Iterable
from xml.etree.ElementTree import ParseError, XMLPullParser

from tap_listrak.errors import (AuthenticationError, IPNotAuthorizedError, NotFoundError, ProtocolError,
                                RetryableError)
from tap_listrak.redaction import redact

LOGGER = logging.getLogger(__name__)
NS = "http://webservices.listrak.com/v31/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
# Bytes parsed before the items they complete are taken out of the tree. The tree of a slice, and
# its items as dicts, are the largest transient a worker makes: at 64 KB, a dozen workers reading
# full pages kept 2 MB more at their peak than on a small account (`make bench`, memory pair).
# Reading the socket in larger chunks (client.READ_CHUNK) costs less CPU than parsing in them.
PARSE_SLICE = 16 * 1024
# No Listrak item comes near this; more bytes than this without an item completed is a flood (one
# endless value, say), refused before it fills memory.
MAX_ITEM_BYTES = 10 * 1024 * 1024
# Bytes before the root element beyond which the reply is refused: a SOAP reply's prolog is an XML
# declaration, and the scan for a DTD must end somewhere.
MAX_PROLOG_BYTES = 64 * 1024


def is_nil(element) -> bool:
    return element.get(XSI_NIL) in ("true", "1")


def local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


# -- field tables, from the WSDL ---------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    name: str
    convert: Callable[[str], object]  # wire text → Python value
    required: bool
    repeated: bool
    nested: "ItemReader | None" = None


def _text(value: str) -> str:
    return value


def _int(value: str) -> int:
    return int(value)


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError(value)


def _decimal(value: str) -> Decimal:
    try:
        return Decimal(value.strip())
    except InvalidOperation:
        raise ValueError(value) from None


_CONVERTERS = {"string": _text, "int": _int, "long": _int, "boolean": _bool, "decimal": _decimal,
               "double": _decimal, "float": _decimal, "dateTime": _text}


def _builtin_base(simple_type) -> str | None:
    """The XSD builtin a simple type derives from (DataTypeSettings: string), when the reader knows it.
    Enum values are not checked: a value Listrak adds later is read like any other text."""
    for cls in type(simple_type).__mro__:
        qname = getattr(cls, "_default_qname", None)
        if qname is not None and qname.localname in _CONVERTERS:
            return qname.localname
    return None


class ItemReader:
    """Reads one XML element of a WSDL complex type into a dict."""

    def __init__(self, type_name: str, fields: list[Field]):
        self.type_name = type_name
        self.fields = {f"{{{NS}}}{field.name}": field for field in fields}
        self.required = tuple(field.name for field in fields if field.required)
        self.repeated = tuple(field.name for field in fields if field.repeated)
        # Every declared field is present in every item: left out on the wire means null.
        self.template = {field.name: None for field in fields if not field.repeated}
        self.texts = {f"{{{NS}}}{field.name}": field.name for field in fields
                      if field.convert is _text and field.nested is None and not field.repeated}
        self._unknown_seen: set[str] = set()

    @classmethod
    def from_zeep_type(cls, zeep_type) -> "ItemReader":
        fields = []
        for _, element in zeep_type.elements:
            element_type = element.type
            type_name = element_type.qname.localname if element_type.qname is not None else ""
            nested = None
            base = _builtin_base(element_type)
            if type_name in _CONVERTERS:
                convert = _CONVERTERS[type_name]
            elif base is not None:  # a simple type restricting a builtin: an enum of strings reads as text
                convert = _CONVERTERS[base]
            elif hasattr(element_type, "elements"):
                nested = cls.from_zeep_type(element_type)
                convert = _text
            else:
                raise ProtocolError(f"the bundled WSDL uses type {type_name!r}, which the reply reader does not know")
            fields.append(Field(element.name, convert, element.min_occurs >= 1 and type_name != "dateTime",
                                element.max_occurs == "unbounded", nested))
        return cls(zeep_type.name, fields)

    def read(self, element) -> dict:
        item = self.template.copy()
        for name in self.repeated:
            item[name] = []
        fields, texts = self.fields, self.texts
        for child in element:
            tag = child.tag
            name = texts.get(tag)
            if name is not None:  # most fields: text kept as it is (the inlined case of _value)
                text = child.text
                item[name] = text if text is not None else (None if is_nil(child) else "")
                continue
            field = fields.get(tag)
            if field is None:
                self._note_unknown(tag)
                continue
            value = self._value(field, child)
            if field.repeated:
                if value is not None:
                    item[field.name].append(value)
            else:
                item[field.name] = value
        for name in self.required:
            if item.get(name) is None:
                raise ProtocolError(f"a {self.type_name} in the reply has no {name}, which the Listrak v31 "
                                    "contract requires: the endpoint does not speak that contract")
        return item

    def _value(self, field: Field, child):
        if field.nested is not None:
            return None if is_nil(child) else field.nested.read(child)
        text = child.text
        if text is None:
            if is_nil(child) or field.convert is not _text:
                return None
            return ""  # an empty element is an empty string, not a missing value
        try:
            return field.convert(text)
        except ValueError:
            raise ProtocolError(f"{self.type_name}.{field.name} holds {text[:40]!r}, not a valid value of its "
                                "WSDL type: the reply does not match the Listrak v31 contract") from None

    def _note_unknown(self, tag: str) -> None:
        if tag not in self._unknown_seen:
            self._unknown_seen.add(tag)
            LOGGER.warning("Ignoring element %s of %s that the bundled WSDL does not declare (a newer Listrak "
                           "field?)", local_name(tag), self.type_name)


# -- envelopes and faults ------------------------------------------------------------------------
FAULT_TAG = f"{{{SOAP_ENV}}}Fault"
ENVELOPE_TAG = f"{{{SOAP_ENV}}}Envelope"
BODY_TAG = f"{{{SOAP_ENV}}}Body"
# Listrak's fault forms (fact sheet §11). Tokens are matched as whole words, never as substrings of
# other text: a transient fault that mentions "404" in passing ("Transaction (Process ID 404) was
# deadlocked") must be retried, not taken for a vanished object.
AUTH_FAULT = re.compile(r"\b(InvalidLogonAttempt|LoginAttemptsExceeded)\b")
IP_FAULT = re.compile(r"\bProhibitedIPAddress\b")
NOT_FOUND_FAULT = re.compile(r"(?<![\w.])404 - File or directory not found\b")
UNREADABLE_REQUEST = "Server was unable to read request"  # asmx's words for a request it cannot deserialize


@dataclass
class Page:
    """One reply's items. `slots` counts every array element, xsi:nil ones included, as the server
    counts them: a page whose slots are all nil is not the end of the data.

    `items` is the list of the items, or what the reader's `collect` made: a collection that takes
    each batch of items as soon as it is read (`extend`) and may turn it into something else at once
    (RECORD lines, say), so that a page's items never all exist as dicts. `first` and `last` are the
    repr of its first and last item as read, before anything changed them: what tells two pages
    apart (None: no item)."""
    slots: int
    items: list
    first: str | None = None
    last: str | None = None


def classify_fault(fault, status: int, secrets: tuple[str, ...]) -> Exception:
    faultstring = (fault.findtext("faultstring") or "").strip()
    detail_element = fault.find("detail")
    detail = " ".join(detail_element.itertext()) if detail_element is not None else ""
    text = f"{faultstring} {detail}"  # classified before redaction, which may touch the tokens
    short = redact(faultstring.splitlines()[0][:300], secrets) if faultstring else "(no faultstring)"
    if AUTH_FAULT.search(text):
        return AuthenticationError(
            f"Listrak refused the login ({short}): check username and password, and that the user has the "
            "'API Access' and 'Analytics Access' permissions (Listrak locks a user after repeated failures)")
    if IP_FAULT.search(text):
        return IPNotAuthorizedError(
            f"Listrak refused this machine's IP address ({short}): add it under Manage > Accounts > "
            "SOAP API IP Authorization in Listrak")
    if UNREADABLE_REQUEST in text:
        return ProtocolError(f"Listrak could not read the request ({short}): the request does not match the "
                             "service's contract; retrying cannot help (please report this with the log)")
    if NOT_FOUND_FAULT.search(text):
        return NotFoundError(f"Listrak says the object no longer exists ({short})")
    return RetryableError(f"Listrak fault (HTTP {status}): {short}")


def _unparsable(body: bytes, status: int, exc: Exception) -> Exception:
    """`body` is the reply's first bytes: enough to tell an HTML page or an empty body."""
    if _looks_like_html(body):
        return html_reply(status)
    if _transient(status):
        return RetryableError(f"HTTP {status} with a body that is not XML")
    if not body.lstrip().startswith(b"<") and body.strip():
        return ProtocolError(f"the endpoint answered HTTP {status} with something that is not XML, let alone SOAP: "
                             "check endpoint_url points at Listrak's IntegrationService.asmx")
    if not body.strip():
        return RetryableError(f"HTTP {status} with an empty body")
    return RetryableError(f"truncated or malformed XML reply (HTTP {status}): {exc}")


def _transient(status: int) -> bool:
    """Statuses that say "later", whatever the body: server errors, request timeout, throttling."""
    return status >= 500 or status in (408, 429)


def html_reply(status: int) -> Exception:
    """An HTML page where SOAP was expected: a busy proxy or server (retried), or a wrong endpoint."""
    if _transient(status):
        return RetryableError(f"HTTP {status} with an HTML page instead of SOAP")
    return ProtocolError(f"the endpoint answered an HTML page (HTTP {status}), not SOAP: check endpoint_url "
                         "points at Listrak's IntegrationService.asmx")


def _looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


class OperationReader:
    """Reads one operation's reply chunk by chunk: each slice of the body is fed to a pull parser,
    the items it completed are turned into dicts and dropped from the tree. Neither the whole body
    nor the whole tree is ever held (the client refuses a reply past max_reply_megabytes as it
    arrives). Items are taken in batches after each slice, off the result element, rather than
    one by one on parser events: the parser reports only where elements start, which is all it takes
    to find the envelope, the result or a fault."""

    def __init__(self, operation: str, item_reader: ItemReader):
        self.operation = operation
        self.response_tag = f"{{{NS}}}{operation}Response"
        self.result_tag = f"{{{NS}}}{operation}Result"
        self.item_tag = f"{{{NS}}}{item_reader.type_name}"
        self.item_reader = item_reader

    def read(self, chunks: Iterable[bytes], status: int, secrets: tuple[str, ...] = (),
             collect: Callable[[], object] = list) -> Page:
        """Each batch of items goes to `collect()`, a new collection per reply, as soon as it is read.
        `chunks` are a received reply's (spool.ReceivedReply): the client holds its parse lock for the
        whole read, as nothing here waits on the network."""
        parser = XMLPullParser(events=("start",))
        page, reply = Page(0, collect()), _Landmarks()
        head, prolog, unfinished = b"", PrologScan(), 0
        for chunk in chunks:
            if not head:
                head = chunk[:1024]
                _check_head(head, status)
            for start in range(0, len(chunk), PARSE_SLICE):
                piece = chunk[start:start + PARSE_SLICE]
                if prolog is not None:
                    prolog = prolog.scan(piece)  # None once the root element has begun
                parser.feed(piece)
                self._follow(parser, reply, head, status, secrets)
                result = reply.result
                if result is not None and len(result) > 1:
                    self._take(result, len(result) - 1, page)  # every item but the last is complete
                    unfinished = 0
                else:
                    unfinished += len(piece)
                    if unfinished > MAX_ITEM_BYTES:
                        raise ProtocolError(f"the reply (HTTP {status}) runs on for over 10 MB without "
                                            "completing an item, which no Listrak reply does: refused "
                                            "(check endpoint_url points at Listrak)")
        return self._finish(parser, reply, head, status, secrets, page)

    def _finish(self, parser, reply, head, status, secrets, page):
        try:
            parser.close()
        except ParseError as exc:
            raise self._unreadable(reply, head, status, secrets, exc) from None
        self._follow(parser, reply, head, status, secrets)
        if reply.fault is not None:
            raise classify_fault(reply.fault, status, secrets)
        self._check_envelope(reply.root, status)
        if reply.result is not None:
            self._take(reply.result, len(reply.result), page)
        return page

    def _follow(self, parser, reply: "_Landmarks", head, status, secrets) -> None:
        """Takes the elements the parser saw begin: until the result is found, the root, the result
        and a fault are noted; after it, the events are dropped at once (they hold the elements)."""
        events = parser.read_events()
        try:
            if reply.result is not None:
                deque(events, maxlen=0)
                return
            for _, element in events:
                tag = element.tag
                if reply.root is None:
                    reply.root = element
                if tag == self.result_tag:
                    reply.result = element
                    deque(events, maxlen=0)
                    return
                if tag == FAULT_TAG and reply.fault is None:
                    reply.fault = element
        except ParseError as exc:
            raise self._unreadable(reply, head, status, secrets, exc) from None

    @staticmethod
    def _unreadable(reply, head, status, secrets, exc) -> Exception:
        """Malformed XML: a fault read as far as it arrived says more than the parse error (a reply
        cut off inside a fault is classified by what it says, retried when it says nothing)."""
        if reply.fault is not None:
            return classify_fault(reply.fault, status, secrets)
        return _unparsable(head, status, exc)

    def _take(self, result, count: int, page: Page) -> None:
        """Reads the first `count` items of the result into the page and drops them from the tree."""
        read, item_tag = self.item_reader.read, self.item_tag
        batch = []
        for element in result[:count]:
            if element.tag != item_tag:
                raise ProtocolError(f"unexpected {local_name(element.tag)} in {self.operation}Result")
            page.slots += 1
            if not is_nil(element):  # a nil slot carries no data
                batch.append(read(element))
        del result[:count]
        if batch:
            if page.first is None:
                page.first = repr(batch[0])
            page.last = repr(batch[-1])
            page.items.extend(batch)

    def _check_envelope(self, root, status: int) -> None:
        if local_name(root.tag).lower() == "html":
            raise html_reply(status)
        if root.tag != ENVELOPE_TAG:
            raise ProtocolError(f"the reply (HTTP {status}) is XML but not a SOAP 1.1 envelope: check endpoint_url "
                                "points at Listrak's IntegrationService.asmx")
        body = root.find(BODY_TAG)
        content = body[0] if body is not None and len(body) else None
        if content is None:
            raise ProtocolError(f"the SOAP reply (HTTP {status}) has an empty body")
        if _transient(status):
            raise RetryableError(f"HTTP {status} with a SOAP body but no fault")
        if status != 200:
            raise ProtocolError(f"HTTP {status} from the endpoint: check endpoint_url")
        if content.tag != self.response_tag:
            raise ProtocolError(f"expected {self.operation}Response in the reply, got "
                                f"{local_name(content.tag)}: the endpoint does not speak Listrak v31")
        if content.find(self.result_tag) is not None and self.result_tag != content[0].tag:
            raise ProtocolError(f"{self.operation}Response does not begin with {self.operation}Result")


class _Landmarks:
    """The elements of a reply the reader keeps hold of while it parses."""
    __slots__ = ("root", "result", "fault")

    def __init__(self):
        self.root = self.result = self.fault = None


class PrologScan:
    """Watches what comes before the root element, where a DTD would stand, and refuses one before the
    parser reads it: expat would otherwise declare its entities (and expand them in what follows).
    What may stand there is an XML declaration, comments, processing instructions and white space;
    the scan ends at the first other markup. UTF-8, its ASCII-compatible kin and UTF-16 are read."""

    def __init__(self):
        self.pending = b""
        self.seen = 0

    def scan(self, piece: bytes) -> "PrologScan | None":
        """The scan still going (more bytes needed), or None once the root element has begun."""
        self.seen += len(piece)
        data = self.pending + piece
        text = _prolog_text(data)
        position = _skip_prolog(text)
        if position is None:
            if self.seen > MAX_PROLOG_BYTES:
                raise ProtocolError(f"the reply runs on for over {MAX_PROLOG_BYTES // 1024} KB before its first "
                                    "element, which no SOAP reply does: refused (check endpoint_url points at "
                                    "Listrak)")
            self.pending = data
            return self
        if text.startswith("<!", position) and not text.startswith("<!--", position):
            raise ProtocolError("the reply carries a DTD, which a SOAP reply never does; refused without reading it "
                                "(check endpoint_url points at Listrak)")
        return None


def _prolog_text(data: bytes) -> str:
    """The bytes as text, markup characters where they are: UTF-16 by its byte order mark or its first
    '<'; anything else byte for byte (UTF-8 and the single-byte encodings agree on markup)."""
    if data.startswith((b"\xff\xfe", b"<\x00")):
        return data[:len(data) // 2 * 2].decode("utf-16-le", errors="replace")
    if data.startswith((b"\xfe\xff", b"\x00<")):
        return data[:len(data) // 2 * 2].decode("utf-16-be", errors="replace")
    return data.decode("latin-1")


def _skip_prolog(text: str) -> int | None:
    """Where the first markup other than a declaration, comment or PI begins (or the first text that
    is not white space), or None when `text` ends before that."""
    position, length = 0, len(text)
    while True:
        while position < length and text[position] in "\ufeff\xef\xbb\xbf \t\r\n":
            position += 1
        if length - position < 4:
            return None  # "<!--", "<?x" and a root's start need a few characters to be told apart
        if text.startswith("<?", position):
            end = text.find("?>", position + 2)
            if end < 0:
                return None
            position = end + 2
        elif text.startswith("<!--", position):
            end = text.find("-->", position + 4)
            if end < 0:
                return None
            position = end + 3
        else:
            return position


def _check_head(head: bytes, status: int) -> None:
    """What the first bytes already tell, before any parsing: an HTML page."""
    if _looks_like_html(head):
        raise html_reply(status)
