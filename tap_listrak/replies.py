"""Reading Listrak's SOAP replies with lxml, straight into plain dicts.

zeep reads the bundled WSDL and builds requests; replies are read here because building zeep
objects costs several times more CPU per record than the rest of the tap together. The field
tables come from zeep's parsed WSDL, so the WSDL stays the one description of the contract.

Replies are read as a stream (OperationReader.read): memory holds one slice's elements at a time.
(The client refuses a reply once it passes a size limit, whatever the endpoint sends.)

What counts as what:
- a soap:Fault is classified by Listrak's documented forms (whole tokens such as
  [InvalidLogonAttempt], the phrase "404 - File or directory not found"), never by a bare
  substring; any other fault is transient;
- a reply that is not XML is a transient failure when it came with HTTP 5xx or was cut off, and a
  wrong endpoint when it is a whole HTML page;
- a DTD is refused outright (no entity expansion, no external reference is ever read).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from contextlib import nullcontext
from typing import Callable, ContextManager, Iterable

from lxml import etree

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


def is_nil(element) -> bool:
    return element.get(XSI_NIL) in ("true", "1")
# No entity is ever expanded, nothing is fetched, and no text node may pass libxml2's 10 MB limit.
_PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                       remove_comments=True, remove_pis=True)



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
                           "field?)", etree.QName(tag).localname, self.type_name)


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
# libxml2 refuses a single text node over 10 MB (no Listrak field comes near): a flood, not a reply.
_HUGE_TEXT = "Resource limit exceeded"


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
    if _HUGE_TEXT in str(exc):
        return ProtocolError(f"the reply (HTTP {status}) holds a single value over 10 MB, which no Listrak field "
                             "does: refused (check endpoint_url points at Listrak)")
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
    """Reads one operation's reply chunk by chunk: each chunk of the body is fed to a pull parser,
    the items it completed are turned into dicts and dropped from the tree. Neither the whole body
    nor the whole tree is ever held (the client refuses a reply past max_reply_megabytes as it
    arrives). (Items are taken in
    batches after each chunk rather than on per-item events: a third less CPU per item.)"""

    def __init__(self, operation: str, item_reader: ItemReader):
        self.operation = operation
        self.response_tag = f"{{{NS}}}{operation}Response"
        self.result_tag = f"{{{NS}}}{operation}Result"
        self.item_tag = f"{{{NS}}}{item_reader.type_name}"
        self.item_reader = item_reader

    def read(self, chunks: Iterable[bytes], status: int, secrets: tuple[str, ...] = (),
             cpu: ContextManager = nullcontext(), collect: Callable[[], object] = list) -> Page:
        """`cpu` is held while parsing and collecting, never while waiting for the next chunk (see
        client.py). Each batch of items goes to `collect()`, a new collection per reply, as soon as it
        is read."""
        parser = etree.XMLPullParser(events=("start", "end"), tag=(self.result_tag, FAULT_TAG), **_PARSER_OPTIONS)
        page = Page(0, collect())
        head, result = b"", None
        for chunk in chunks:
            if not head:
                head = chunk[:1024]
                _check_head(head, status)
            with cpu:
                for start in range(0, len(chunk), PARSE_SLICE):
                    try:
                        parser.feed(chunk[start:start + PARSE_SLICE])
                    except etree.XMLSyntaxError as exc:
                        raise _unparsable(head, status, exc) from None
                    result = self._result_of(parser.read_events(), result, status, secrets)
                    if result is not None and len(result) > 1:
                        self._take(result, len(result) - 1, page)  # every item but the last is complete
        with cpu:
            return self._finish(parser, head, result, status, secrets, page)

    def _finish(self, parser, head, result, status, secrets, page):
        try:
            root = parser.close()
        except etree.XMLSyntaxError as exc:
            raise _unparsable(head, status, exc) from None
        result = self._result_of(parser.read_events(), result, status, secrets)
        self._check_envelope(root, status)
        if result is not None:
            self._take(result, len(result), page)
        return page

    @staticmethod
    def _result_of(events, result, status: int, secrets):
        for event, element in events:
            if element.tag == FAULT_TAG:
                if event == "end":
                    raise classify_fault(element, status, secrets)
            elif event == "start":
                result = element
        return result

    def _take(self, result, count: int, page: Page) -> None:
        """Reads the first `count` items of the result into the page and drops them from the tree."""
        read, item_tag = self.item_reader.read, self.item_tag
        batch = []
        for element in result[:count]:
            if element.tag != item_tag:
                raise ProtocolError(f"unexpected {etree.QName(element).localname} in {self.operation}Result")
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
        if root.getroottree().docinfo.doctype:
            raise ProtocolError("the reply carries a DTD, which a SOAP reply never does; refused without reading "
                                "it (check endpoint_url points at Listrak)")
        if etree.QName(root).localname.lower() == "html":
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
                                f"{etree.QName(content).localname}: the endpoint does not speak Listrak v31")
        if content.find(self.result_tag) is not None and self.result_tag != content[0].tag:
            raise ProtocolError(f"{self.operation}Response does not begin with {self.operation}Result")


def _check_head(head: bytes, status: int) -> None:
    """What the first bytes already tell, before any parsing: an HTML page, or a DTD."""
    if _looks_like_html(head):
        raise html_reply(status)
    if b"<!DOCTYPE" in head.upper():
        raise ProtocolError("the reply carries a DTD, which a SOAP reply never does; refused without reading it "
                            "(check endpoint_url points at Listrak)")
