"""Reading Listrak's SOAP replies with lxml's pull parser, straight into plain dicts.

zeep reads the bundled WSDL and builds requests; replies are read here because building zeep
objects costs several times more CPU per record than the rest of the tap together. The field
tables come from zeep's parsed WSDL, so the WSDL stays the one description of the contract.

Replies are read as a stream (OperationReader.read): memory holds one slice's elements at a time.
(The client refuses a reply once it passes a size limit, whatever the endpoint sends.)

XML safety is the parser's (PARSER_OPTIONS): libxml2 substitutes no entity, loads no DTD and no
external entity, fetches nothing from the network, and keeps its limits on entity amplification,
nesting depth and text size. A document that declares a DTD is refused on the parser's own word
(the document's docinfo, at the first element it reports), whatever its encoding, byte order mark
or declaration: the tap does not read the prolog itself.

What counts as what:
- a soap:Fault is classified by Listrak's documented forms (whole tokens such as
  [InvalidLogonAttempt], the phrase "404 - File or directory not found"), never by a bare
  substring; any other fault is transient;
- a reply that is not XML is a transient failure when it came with HTTP 5xx or was cut off, and a
  wrong endpoint when it is a whole HTML page;
- a DTD is refused outright, and so is a reply the parser stops at one of its limits;
- more than 10 MB without a completed item is a flood, not a reply, and is refused.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Callable, Iterable

from lxml import etree

from tap_listrak.errors import (AuthenticationError, IPNotAuthorizedError, NotFoundError, ProtocolError,
                                RetryableError)
from tap_listrak.redaction import redact

LOGGER = logging.getLogger(__name__)
NS = "http://webservices.listrak.com/v31/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
# Bytes parsed before the items they complete are taken out of the tree: a slice's tree and its
# items as dicts are a worker's largest transient (docs/architecture.md, "Memory"). The socket is
# read in larger chunks (exchange.READ_CHUNK), which costs less CPU than parsing in them.
PARSE_SLICE = 16 * 1024
# No Listrak item comes near this; more bytes than this without an item completed is a flood (an item
# of endless small values, say: one endless value meets libxml2's limit on a text node first).
MAX_ITEM_BYTES = 10 * 1024 * 1024
# The reply's first bytes, enough to tell an HTML page, an empty body or one that is not XML.
HEAD_BYTES = 1024
# No entity substituted, nothing loaded or fetched, libxml2's size and depth limits kept (huge_tree
# off), comments and processing instructions left out of the tree. Not collect_ids=False: lxml sets it
# as a load-subset flag, and libxml2 2.14 then reads an external DTD or parameter entity from a file.
PARSER_OPTIONS = dict(resolve_entities=False, load_dtd=False, dtd_validation=False, no_network=True,
                      huge_tree=False, remove_comments=True, remove_pis=True)
# libxml2's errors for a reply stopped at its limits (entity amplification, an entity loop, nesting
# depth, a text node's size): retrying would meet them again.
PARSER_LIMITS = (etree.ErrorTypes.ERR_RESOURCE_LIMIT, etree.ErrorTypes.ERR_ENTITY_LOOP)
DTD_REFUSED = ("the reply declares a DTD, which a SOAP reply never does: refused, with no entity expanded and "
               "nothing fetched (check endpoint_url points at Listrak)")


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
    apart (None: no item). `result_present` tells an empty `<XResult />` from a Result left out: both
    end a report, and `--probe` reports which of the two an account sends."""
    slots: int
    items: list
    first: str | None = None
    last: str | None = None
    result_present: bool = False
    cursor: str | None = None  # a REST page's nextPageCursor (None: its last page)


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


def _unparsable(body: bytes, status: int, exc: etree.XMLSyntaxError) -> Exception:
    """`body` is the reply's first bytes: enough to tell an HTML page or an empty body."""
    said = " ".join(exc.msg.split())  # libxml2's words and where it stopped, on one line
    if exc.code in PARSER_LIMITS:
        return ProtocolError(f"the XML parser stopped the reply (HTTP {status}) at one of its limits ({said}), "
                             "which no Listrak reply comes near: refused (check endpoint_url points at Listrak)")
    if _looks_like_html(body):
        return html_reply(status)
    if _transient(status):
        return RetryableError(f"HTTP {status} with a body that is not XML")
    if (not body.lstrip().startswith(b"<") and body.strip()) or _unmarked_wide_text(body, exc):
        return ProtocolError(f"the endpoint answered HTTP {status} with something that is not XML, let alone SOAP: "
                             "check endpoint_url points at Listrak's IntegrationService.asmx")
    if not body.strip():
        return RetryableError(f"HTTP {status} with an empty body")
    return RetryableError(f"truncated or malformed XML reply (HTTP {status}): {said}")


def _unmarked_wide_text(body: bytes, exc: etree.XMLSyntaxError) -> bool:
    """UTF-16 or UTF-32 without the byte order mark XML requires of them: the parser reads it as UTF-8
    and stops at its first character. No XML document holds a NUL."""
    return (exc.code in (etree.ErrorTypes.ERR_DOCUMENT_EMPTY, etree.ErrorTypes.ERR_INVALID_CHAR)
            and b"\x00" in body[:4] and not body.startswith((b"\xff\xfe", b"\xfe\xff")))


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
    one by one on parser events: the parser reports only the envelope, the result and a fault,
    which is all it takes to check the document and find them."""

    def __init__(self, operation: str, item_reader: ItemReader):
        self.operation = operation
        self.response_tag = f"{{{NS}}}{operation}Response"
        self.result_tag = f"{{{NS}}}{operation}Result"
        self.item_tag = f"{{{NS}}}{item_reader.type_name}"
        self.item_reader = item_reader
        self.landmarks = (ENVELOPE_TAG, self.result_tag, FAULT_TAG)

    def read(self, chunks: Iterable[bytes], status: int, secrets: tuple[str, ...] = (),
             collect: Callable[[], object] = list) -> Page:
        """Each batch of items goes to `collect()`, a new collection per reply, as soon as it is read.
        `chunks` are a received reply's (spool.ReceivedReply): the client holds its parse lock for the
        whole read, as nothing here waits on the network."""
        parser = etree.XMLPullParser(events=("start",), tag=self.landmarks, **PARSER_OPTIONS)
        page, reply = Page(0, collect()), _Landmarks()
        head, unfinished = b"", 0
        for chunk in chunks:
            if len(head) < HEAD_BYTES:  # kept to classify what the parser could not read
                head += chunk[:HEAD_BYTES - len(head)]
                _check_head(head, status)
            for start in range(0, len(chunk), PARSE_SLICE):
                piece = chunk[start:start + PARSE_SLICE]
                try:
                    parser.feed(piece)
                except etree.XMLSyntaxError as exc:
                    raise self._unreadable(parser, reply, head, status, secrets, exc) from None
                self._follow(parser, reply)
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
            root = parser.close()
        except etree.XMLSyntaxError as exc:
            raise self._unreadable(parser, reply, head, status, secrets, exc) from None
        self._follow(parser, reply)
        if not reply.checked:  # a root the parser did not report (not a SOAP envelope)
            _refuse_a_dtd(root)
        if reply.fault is not None:
            raise classify_fault(reply.fault, status, secrets)
        self._check_envelope(root, status)
        if reply.result is not None:
            page.result_present = True
            self._take(reply.result, len(reply.result), page)
        return page

    def _follow(self, parser, reply: "_Landmarks") -> None:
        """Takes the elements the parser reported: the first one's document is checked for a DTD before
        anything else is done with it; then the result and a fault are noted."""
        for _, element in parser.read_events():
            if not reply.checked:
                _refuse_a_dtd(element)
                reply.checked = True
            if element.tag == FAULT_TAG:
                if reply.fault is None:
                    reply.fault = element
            elif element.tag == self.result_tag and reply.result is None:
                reply.result = element

    def _unreadable(self, parser, reply, head, status, secrets, exc) -> Exception:
        """Malformed XML: what the parser reported before it stopped is checked first (a DTD is
        refused as such), and a fault read as far as it arrived says more than the parse error (a
        reply cut off inside a fault is classified by what it says, retried when it says nothing)."""
        self._follow(parser, reply)
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
    """What the reader keeps of a reply while it parses: whether its document was checked for a
    DTD, its result element and its fault."""
    __slots__ = ("checked", "result", "fault")

    def __init__(self):
        self.checked = False
        self.result = self.fault = None


def _refuse_a_dtd(element) -> None:
    """libxml2 records a DOCTYPE, with or without an internal subset, in the document's info."""
    info = element.getroottree().docinfo
    if (info.internalDTD is not None or info.externalDTD is not None or info.doctype or info.system_url
            or info.public_id):
        raise ProtocolError(DTD_REFUSED)


def _check_head(head: bytes, status: int) -> None:
    """What the first bytes already tell, before any parsing: an HTML page."""
    if _looks_like_html(head):
        raise html_reply(status)
