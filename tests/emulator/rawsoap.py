"""Hand-built SOAP requests, for checking what the emulator does with what zeep would never send."""
from __future__ import annotations

import http.client
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from .wire import NS


class Raw(str):
    """A parameter value sent as it is (child elements, e.g. the <int> items of an ArrayOfInt), not escaped."""


def int_array(values) -> Raw:
    return Raw("".join(f"<int>{value}</int>" for value in values))


def envelope(op: str, params: dict | None = None, username: str | None = "demo-user",
             password: str | None = "demo-pass", extra_body: str = "") -> str:
    """A request in the documented sample's shape (default namespace, unprefixed children)."""
    header = ""
    if username is not None or password is not None:
        header = (f'<soap:Header><WSUser xmlns="{NS}"><UserName>{escape(username or "")}</UserName>'
                  f'<Password>{escape(password or "")}</Password></WSUser></soap:Header>')
    children = "".join(f"<{k}>{v if isinstance(v, Raw) else escape(str(v))}</{k}>" for k, v in (params or {}).items())
    return ('<?xml version="1.0" encoding="utf-8"?>'
            '<soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
            f'{header}<soap:Body><{op} xmlns="{NS}">{children}{extra_body}</{op}></soap:Body></soap:Envelope>')


def post(url: str, body: str | bytes, action: str | None, timeout: float = 10.0,
         extra_headers: dict | None = None) -> tuple[int, dict, bytes]:
    """POST body; action is the operation name (quoted full SOAPAction is built) or None for no header."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    if action is not None:
        headers["SOAPAction"] = f'"{NS}{action}"'
    headers.update(extra_headers or {})
    try:
        conn.request("POST", parts.path, body=body.encode("utf-8") if isinstance(body, str) else body,
                     headers=headers)
        reply = conn.getresponse()
        return reply.status, dict(reply.getheaders()), reply.read()
    finally:
        conn.close()


def call(url: str, op: str, params: dict | None = None, **kwargs) -> tuple[int, dict, bytes]:
    auth = {k: kwargs.pop(k) for k in ("username", "password") if k in kwargs}
    return post(url, envelope(op, params, **auth), op, **kwargs)
