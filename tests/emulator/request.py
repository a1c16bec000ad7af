"""Reading a SOAP 1.1 request: envelope, SOAPAction, WSUser header and the operation's parameters.

Tolerant where real clients differ (any prefixes, children in any order, WSException and
IncludeTestMessages omitted, booleans as true/false or 1/0, dates with or without offset, fraction or
time) and strict where asmx is (namespace-qualified elements, parseable values, required values).
Every refusal is a SoapError that the server turns into an asmx-style fault.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from .spec import OPERATIONS
from .times import Clock, parse_request_datetime
from .wire import NS, SOAP_NS as SOAP11

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"

# How each parameter (spec.OPERATIONS) is read. WSException is accepted and ignored wherever the WSDL has it.
KINDS = {"ListID": "int", "MsgID": "int", "Page": "int", "StartDate": "datetime", "EndDate": "datetime",
         "IncludeTestMessages": "bool", "IncludeTerminated": "bool", "MsgIDs": "ints"}
# Omitted by public clients and still served (fact sheet §2): the value asmx would default to. MsgIDs is
# optional in the WSDL (an ArrayOfInt, minOccurs 0): left out, it asks for no message.
DEFAULTS = {"IncludeTestMessages": False, "MsgIDs": ()}

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False)


# asmx wraps an exception thrown by the web method as faultcode soap:Server with this prefix.
APP = "Server was unable to process request. ---> "


class SoapError(Exception):
    """A request the service refuses. kind names it in the statistics."""

    def __init__(self, code: str, message: str, kind: str = "BadRequest", detail: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind
        self.detail = detail


def refusal(text: str, kind: str, detail: str | None = None) -> SoapError:
    """An exception of the web method: soap:Server, its text after APP."""
    return SoapError("Server", APP + text, kind, detail)


@dataclass
class Call:
    op: str
    username: str | None
    password: str | None
    params: dict = field(default_factory=dict)

    def key(self) -> str:
        """A canonical text of the call: identical requests (a retry) have the same key."""
        parts = [self.op] + [f"{k}={_canonical(v)}" for k, v in sorted(self.params.items())]
        return "|".join(parts)


def _canonical(value) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _unreadable(reason: str) -> SoapError:
    return SoapError("Client", f"Server was unable to read request. ---> {reason}")


def operation_from_action(action: str | None) -> str:
    if action is None:
        raise SoapError("Client", "Unable to handle request without a valid action parameter. "
                                  "Please supply a valid soap action.")
    value = action.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    op = value[len(NS):] if value.startswith(NS) else None
    if op not in OPERATIONS:
        raise SoapError("Client", f"System.Web.Services.Protocols.SoapException: Server did not recognize the value "
                                  f"of HTTP Header SOAPAction: {value}.")
    return op


def parse_call(body: bytes, action: str | None, clock: Clock) -> Call:
    op = operation_from_action(action)
    if not body.strip():
        raise _unreadable("There is an error in XML document (0, 0). ---> Root element is missing.")
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (0, 0)
        raise _unreadable(f"There is an error in XML document ({line}, {column}). ---> {exc.msg}") from None
    if root.tag != f"{{{SOAP11}}}Envelope":
        namespace = etree.QName(root).namespace or ""
        raise SoapError("VersionMismatch", f"Possible SOAP version mismatch: Envelope namespace {namespace} was "
                                           f"unexpected. Expecting {SOAP11}.")
    header = root.find(f"{{{SOAP11}}}Header")
    soap_body = root.find(f"{{{SOAP11}}}Body")
    payload = None if soap_body is None else next(iter(soap_body.iterchildren(etree.Element)), None)
    if payload is None:
        raise _unreadable("There is an error in XML document. ---> The SOAP Body holds no operation element.")
    if payload.tag != f"{{{NS}}}{op}":
        raise _unreadable(f"There is an error in XML document ({payload.sourceline}, 2). ---> "
                          f"<{etree.QName(payload).localname} xmlns='{etree.QName(payload).namespace or ''}'> "
                          f"was not expected by the operation {op} named in SOAPAction.")
    username = password = None
    user = None if header is None else header.find(f"{{{NS}}}WSUser")
    if user is not None:
        username = user.findtext(f"{{{NS}}}UserName")
        password = user.findtext(f"{{{NS}}}Password")
    return Call(op, username, password, _parameters(op, payload, clock))


def _parameters(op: str, payload, clock: Clock) -> dict:
    found = {}
    for child in payload.iterchildren(etree.Element):
        qname = etree.QName(child)
        if qname.namespace == NS and qname.localname not in found:
            found[qname.localname] = child  # asmx ignores elements outside its namespace
    params = {}
    for name in OPERATIONS[op][1].split():
        element = found.get(name)
        if element is None or element.get(XSI_NIL) in ("true", "1"):
            if name in DEFAULTS:
                params[name] = DEFAULTS[name]
                continue
            raise _unreadable(f"Missing required element {name} (namespace {NS}) in {op}.")
        if KINDS[name] == "ints":  # an ArrayOfInt: one <int> child per value
            params[name] = tuple(_value(name, "int", (child.text or "").strip(), child.sourceline, clock)
                                 for child in element.iterchildren(f"{{{NS}}}int"))
            continue
        params[name] = _value(name, KINDS[name], (element.text or "").strip(), element.sourceline, clock)
    return params


def _value(name: str, kind: str, text: str, line: int, clock: Clock):
    where = f"There is an error in XML document ({line}, 2). ---> "
    if kind == "int":
        try:
            value = int(text)
        except ValueError:
            raise _unreadable(f"{where}{name}: Input string was not in a correct format.") from None
        if not -2**31 <= value < 2**31:
            raise _unreadable(f"{where}{name}: Value was either too large or too small for an Int32.")
        return value
    if kind == "bool":
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise _unreadable(f"{where}{name}: The string '{text}' is not a valid Boolean value.")
    try:
        return parse_request_datetime(text, clock)
    except ValueError:
        raise _unreadable(f"{where}{name}: The string '{text}' is not a valid AllXsd value.") from None
