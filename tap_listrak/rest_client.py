"""The REST client: Listrak's Email REST API v1 as pages of plain dicts, with the SOAP client's
interface (`pages`, `items`, `request`, cancellation, counters), so the walk takes either.

Where each concern lives, as for the SOAP client:
- this module: routes (a stream's `operation` is its route; path parameters come from the request's
  parameters by name, the rest go in the query string), cursor paging (`cursor` Start, then each
  reply's nextPageCursor until null, `count` PAGE_SIZE, with the repeated-page and max_pages checks),
  and the access token on every request (a 401 renews it once, then ends the run);
- tokens.py: the OAuth2 client-credentials token, kept and renewed before it runs out;
- rest_replies.py: the JSON envelope and what each status means;
- retry.py, exchange.py (slots that adapt to HTTP 429, the parse lock, METRIC lines), transport.py:
  the same as for SOAP.

The client secret travels only in the token request's form body, the token only in the
Authorization header; both are redacted from every error and log line.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable, Iterator
from urllib.parse import quote, urlencode, urlsplit

from tap_listrak.api import ApiClient
from tap_listrak.config import Config
from tap_listrak.errors import AuthenticationError, ProtocolError, RetryableError, TokenRejected
from tap_listrak.exchange import Exchange
from tap_listrak.replies import Page
from tap_listrak.rest_replies import JsonReader, error_for
from tap_listrak.streams import CURSOR, REST, table
from tap_listrak.tokens import Tokens
from tap_listrak.transport import Transport, route_for

PAGE_SIZE = 5000  # the largest `count` Listrak allows
TOKEN = "OAuth2/Token"  # the token request's name in METRIC lines and the summary


class TokenReader:
    """The token endpoint's reply → a page of one item, the grant. Refused credentials end the run."""

    def read(self, chunks, status: int, secrets: tuple[str, ...] = (), collect: Callable[[], object] = list) -> Page:
        body = b"".join(chunks)
        if status in (400, 401, 403):
            said = error_for(status, body, secrets)
            raise AuthenticationError(
                f"Listrak refused the client credentials ({str(said).split(':')[0]}): check client_id and "
                "client_secret, and in Listrak's Integrations Manager that the Email integration is active and "
                "this machine's IP address is allowed")
        if status != 200:
            raise error_for(status, body, secrets)
        import json
        try:
            grant = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise RetryableError("the token endpoint's reply is not whole JSON") from None
        if not isinstance(grant, dict):
            raise ProtocolError("the token endpoint's reply is not a JSON object: check rest_token_url")
        items = collect()
        items.extend([grant])
        return Page(1, items)


class RestClient(ApiClient):
    """Thread-safe: one pool of connections to the API sized to the workers, one to the token endpoint;
    cancellation, retries and the exchange as api.ApiClient has them."""

    def __init__(self, config: Config):
        self.base_path = urlsplit(config.rest_base_url).path.rstrip("/")
        self.transport = Transport(route_for(config.rest_base_url), pool_size=max(config.max_workers, 1) + 2,
                                   timeout=config.request_timeout)
        self.token_transport = Transport(route_for(config.rest_token_url), pool_size=1,
                                         timeout=config.request_timeout)
        self.routes = {stream.operation: stream for stream in table(REST)}
        readers = {operation: JsonReader(operation) for operation in self.routes}
        readers[TOKEN] = TokenReader()
        super().__init__(config, lambda cancellation: Exchange(
            None, readers, {}, config.max_workers, int(config.max_reply_megabytes * (1 << 20)), cancellation,
            config.secrets))
        self.tokens = Tokens(self._grant)
        self._secret_watchers: list[Callable[[str], None]] = []

    def watch_secrets(self, watcher: Callable[[str], None]) -> None:
        """`watcher(token)` is called with each access token as it is granted (to redact logs)."""
        self._secret_watchers.append(watcher)

    # -- paging -----------------------------------------------------------------------------------
    def pages(self, operation: str, collect: Callable[[], object] = list, **params) -> Iterator:
        """A cursor route's pages, from `cursor=Start` until nextPageCursor is null; any other route's
        one reply. Yields each page's items, as a list or as collect() took them."""
        if CURSOR not in self.routes[operation].params:
            yield self._request(operation, params, collect).items
            return
        cursor, previous, seen = "Start", None, set()
        for number in range(1, self.config.max_pages + 1):
            page = self._request(operation, {**params, "cursor": cursor, "count": PAGE_SIZE}, collect)
            signature = (page.slots, page.first, page.last) if page.first is not None else None
            if signature is not None and signature == previous or page.cursor in seen:
                raise self._fail(ProtocolError(f"{operation} returned page {number} identical to page {number - 1} "
                                               "or a cursor already followed: stopping instead of reading forever"))
            previous = signature
            yield page.items
            if page.cursor is None:
                return
            seen.add(page.cursor)
            cursor = page.cursor
        raise self._fail(ProtocolError(f"{operation} returned {self.config.max_pages:,} pages without a last one: "
                                       "refusing to read on; raise max_pages if this unit is really that large"))

    def items(self, operation: str, collect: Callable[[], object] = list, **params):
        """One request (a first page, for a cursor route) → its items."""
        return self._request(operation, params, collect).items

    def request(self, operation: str, **params) -> Page:
        return self._request(operation, params)

    def _request(self, operation: str, params: dict, collect=list) -> Page:
        target, query = self._target(operation, params)
        return self._run(lambda: self._attempt(operation, target, query, collect))

    def _attempt(self, operation: str, target: str, query: dict, collect) -> Page:
        """One attempt, with the current token; a refused token is renewed once and the request sent
        again at once; refused again, the credentials no longer give access, and the run ends."""
        token = self.tokens.get()
        try:
            return self._send(operation, target, query, token, collect)
        except TokenRejected:
            fresh = self._renewed(token)
        try:
            return self._send(operation, target, query, fresh, collect)
        except TokenRejected as exc:
            raise AuthenticationError(
                f"{exc}, again with a new one: check client_id and client_secret, and in Listrak's Integrations "
                "Manager that the Email integration is active, has the access areas the selected streams need and "
                "allows this machine's IP address") from None

    def _send(self, operation: str, target: str, query: dict, token: str, collect) -> Page:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json",
                   "User-Agent": self.config.user_agent, "Accept-Encoding": "gzip, deflate"}
        return self.exchange.call(operation, lambda: self.transport.get(target, query, headers), collect)

    def _renewed(self, stale: str) -> str:
        fresh = self.tokens.renew(stale)
        self._learn(fresh)
        return fresh

    def _grant(self) -> dict:
        """Asks the token endpoint for a token (form POST, client credentials), retried like any request."""
        body = urlencode({"grant_type": "client_credentials", "client_id": self.config.client_id,
                          "client_secret": self.config.client_secret}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
                   "User-Agent": self.config.user_agent}
        grant = self.retries.run(lambda: self.exchange.call(
            TOKEN, lambda: self.token_transport.post("", headers, body))).items[0]
        self._learn(grant.get("access_token"))
        return grant

    def _learn(self, token) -> None:
        if isinstance(token, str) and token and token not in self.exchange.secrets:
            self.exchange.secrets = self.exchange.secrets + (token,)
            self.retries.secrets = self.retries.secrets + (token,)
            for watcher in self._secret_watchers:
                watcher(token)

    def _target(self, operation: str, params: dict) -> tuple[str, dict]:
        """The route with its path parameters filled in, and the query string's parameters."""
        stream = self.routes[operation]
        path = operation
        for name in stream.route_fields:
            path = path.replace(f"{{{name}}}", quote(str(params[name]), safe=""))
        query = {name: _query_value(value) for name, value in params.items() if name not in stream.route_fields}
        return f"{self.base_path}/{path}", query


def _query_value(value) -> str:
    """Listrak's query strings: booleans as true/false, dates as local wall time to the second, lists
    comma-separated (segmentationFieldIds)."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(_query_value, value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    return str(value)
