"""A plain HTTP client of one REST emulator, for the emulator's own tests (not the tap's client)."""
from __future__ import annotations

import http.client
import json
from typing import Optional
from urllib.parse import urlencode, urlsplit


class Reply:
    def __init__(self, status: int, headers: dict, raw: bytes) -> None:
        self.status, self.headers, self.raw = status, headers, raw

    @property
    def body(self):
        return json.loads(self.raw)

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.raw[:200]!r})"


def request(url: str, method: str = "GET", body: Optional[bytes] = None, headers: Optional[dict] = None,
            timeout: float = 10) -> Reply:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body=body, headers=headers or {})
        reply = connection.getresponse()
        return Reply(reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read())
    finally:
        connection.close()


class Api:
    """GETs against a handle with a token of its own; get_all walks the cursor."""

    def __init__(self, handle, token: Optional[str] = None) -> None:
        self.handle = handle
        self.token = token or handle.token()

    def get(self, path: str, **query) -> Reply:
        query = {k: v for k, v in query.items() if v is not None}
        url = self.handle.base_url + path + (f"?{urlencode(query)}" if query else "")
        return request(url, headers={"Authorization": f"Bearer {self.token}"})

    def get_all(self, path: str, **query) -> tuple[list, int]:
        """Every item of a paged route -> (items, pages read)."""
        items, pages, cursor = [], 0, "Start"
        while cursor is not None:
            reply = self.get(path, cursor=cursor, **query)
            assert reply.status == 200, reply
            body = reply.body
            assert list(body) == ["status", "nextPageCursor", "data"], list(body)
            items += body["data"]
            pages += 1
            cursor = body["nextPageCursor"]
            assert pages < 10_000, "the cursor never ends"
        return items, pages


def token_request(handle, client_id=None, client_secret=None, grant_type="client_credentials") -> Reply:
    form = {"grant_type": grant_type, "client_id": client_id if client_id is not None else handle.client_id,
            "client_secret": client_secret if client_secret is not None else handle.client_secret}
    return request(handle.token_url, "POST", urlencode(form).encode(),
                   {"Content-Type": "application/x-www-form-urlencoded"})
