"""One request whose reply is looked at as it came on the wire: how the result element stands in it.

The client reads an empty `<OpResult />` and a Result left out alike (both end a report), so its
pages do not tell them apart; `--probe` asks which of the two an account sends. This sends one
request with zeep's own client over requests (proxies and CA bundle from the environment, as
requests reads them; TLS verified), from the bundled WSDL, and reads the reply's shape, never its
values. Credentials travel only in the WSUser header, as for every request of the tap.
"""
from __future__ import annotations

from importlib import resources
from xml.etree import ElementTree

NS = "http://webservices.listrak.com/v31/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
BINDING = f"{{{NS}}}IntegrationServiceSoap"


class RawReplyError(Exception):
    """The reply could not be read as a SOAP reply of the operation (a fault, HTML, a broken body)."""


def result_form(config, operation: str, params: dict) -> tuple[str, int]:
    """→ ('element' | 'omitted' | 'items', slots): the Result present and empty, left out, or holding
    `slots` items. Raises RawReplyError when the reply is not the operation's reply."""
    import requests
    import zeep
    from zeep.transports import Transport

    session = requests.Session()
    session.headers["User-Agent"] = config.user_agent
    transport = Transport(session=session, timeout=config.request_timeout, operation_timeout=config.request_timeout)
    settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True,
                             raw_response=True)
    with resources.as_file(resources.files("tap_listrak").joinpath("wsdl", "IntegrationService.wsdl")) as path:
        client = zeep.Client(str(path), settings=settings, transport=transport)
    service = client.create_service(BINDING, config.endpoint_url)
    header = client.get_element(f"{{{NS}}}WSUser")(UserName=config.username, Password=config.password)
    try:
        reply = getattr(service, operation)(_soapheaders=[header], **params)
    except (requests.RequestException, OSError) as exc:
        raise RawReplyError(f"the request failed ({exc.__class__.__name__})") from None
    finally:
        session.close()
    return shape(reply.status_code, reply.content, operation)


def shape(status: int, body: bytes, operation: str) -> tuple[str, int]:
    """The Result's form in one reply body (see result_form)."""
    if b"<!DOCTYPE" in body[:4096].upper():
        raise RawReplyError("the reply carries a DTD")
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise RawReplyError(f"the reply (HTTP {status}) is not XML") from None
    reply = root.find(f"{{{SOAP_ENV}}}Body/{{{NS}}}{operation}Response")
    if reply is None:
        fault = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
        raise RawReplyError(f"the reply (HTTP {status}) is " + ("a SOAP fault" if fault is not None
                                                                 else f"not a {operation}Response"))
    result = reply.find(f"{{{NS}}}{operation}Result")
    if result is None:
        return "omitted", 0
    return ("items", len(result)) if len(result) else ("element", 0)
