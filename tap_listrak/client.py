"""The SOAP client: Listrak's operations as pages of plain dicts.

Where each concern lives:
- this module: the bundled WSDL (read from the package, never fetched), request bodies
  (envelopes.py) and paging: page 1, 2, … until an empty page, with the repeated-page and
  max_pages checks;
- api.py: what the REST client shares with this one (cancellation, retries, the exchange);
- retry.py: attempts, the waits between them, and cancellation;
- exchange.py: one attempt: the in-flight slot, the reply taken off the socket, the parse lock,
  METRIC lines and counters (metrics.py);
- transport.py: HTTP (urllib3), the deadline per exchange, and failures as the tap's errors.

Credentials travel only in the WSUser SOAP header of the request body; they are never logged, and
every error text is redacted.
"""
from __future__ import annotations

from importlib import resources
from typing import Callable, Iterator

import zeep

from tap_listrak.api import ApiClient
from tap_listrak.config import Config
from tap_listrak.envelopes import Envelopes
from tap_listrak.errors import ProtocolError
from tap_listrak.exchange import Exchange
from tap_listrak.replies import NS, ItemReader, OperationReader, Page
from tap_listrak.streams import STREAMS
from tap_listrak.transport import Transport, route_for

WSDL_PATH = resources.files("tap_listrak").joinpath("wsdl", "IntegrationService.wsdl")
BINDING = f"{{{NS}}}IntegrationServiceSoap"


def load_wsdl() -> zeep.Client:
    """zeep client over the bundled WSDL; no network (the file is local and imports nothing)."""
    settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    with resources.as_file(WSDL_PATH) as path:
        return zeep.Client(str(path), settings=settings)


class ListrakClient(ApiClient):
    """Thread-safe: one parsed WSDL, one connection pool sized to the workers; cancellation,
    retries and the exchange as api.ApiClient has them."""

    def __init__(self, config: Config, zeep_client: zeep.Client | None = None):
        self.zeep = zeep_client or load_wsdl()
        self.service = self.zeep.create_service(BINDING, config.endpoint_url)
        # A connection for every worker, and two for the parents' reads that overlap the units.
        self.transport = Transport(route_for(config.endpoint_url), pool_size=max(config.max_workers, 1) + 2,
                                   timeout=config.request_timeout)
        # Every item type the tap reads, by operation: the stream table says it once.
        self.readers = {s.operation: OperationReader(s.operation, self._item_reader(s.item_type)) for s in STREAMS}
        header = self.zeep.get_element(f"{{{NS}}}WSUser")(UserName=config.username, Password=config.password)
        self.envelopes = Envelopes(self.zeep, self.service, header)
        headers = {stream.operation: _headers(config, stream.operation) for stream in STREAMS}
        super().__init__(config, lambda cancellation: Exchange(
            self.transport, self.readers, headers, config.max_workers, int(config.max_reply_megabytes * (1 << 20)),
            cancellation, config.secrets))

    def _item_reader(self, item_type: str) -> ItemReader:
        return ItemReader.from_zeep_type(self.zeep.get_type(f"{{{NS}}}{item_type}"))

    # -- paging -----------------------------------------------------------------------------------
    def pages(self, operation: str, collect: Callable[[], object] = list, **params) -> Iterator:
        """Page 1, 2, … until an empty page; yields each page's items, as a list or as the collect()
        that took them batch by batch while the reply was read (see replies.Page).

        Listrak publishes neither its page size nor that every page but the last is full, so only
        a page with no slot at all (the empty or the omitted result) ends a unit: a short page, or a
        page of nil slots only, does not. A unit that never ends, or whose pages repeat (an
        endpoint that ignores Page), is a protocol error rather than an endless loop."""
        previous = None
        for number in range(1, self.config.max_pages + 1):
            page = self._request(operation, {**params, "Page": number}, collect)
            if not page.slots:
                return
            signature = (page.slots, page.first, page.last) if page.first is not None else None
            if signature is not None and signature == previous:
                raise self._fail(ProtocolError(f"{operation} returned page {number} identical to page "
                                               f"{number - 1}: the endpoint ignores Page; stopping instead of "
                                               "reading forever"))
            previous = signature
            yield page.items
        # Through _fail, like every other error that ends the run: the other workers stop at once.
        raise self._fail(ProtocolError(f"{operation} returned {self.config.max_pages:,} pages without an empty "
                                       f"one ({params}): refusing to read on; raise max_pages if this unit is "
                                       "really that large"))

    def items(self, operation: str, collect: Callable[[], object] = list, **params):
        """One request, retried on transient failures → the items of its result (empty when the result
        is empty or left out), in a list or a collect() as in pages()."""
        return self._request(operation, params, collect).items

    def request(self, operation: str, **params) -> Page:
        """One request → its page (items and slot count)."""
        return self._request(operation, params)

    def _request(self, operation: str, params: dict, collect=list) -> Page:
        body = self.envelopes.body(operation, params)
        return self._run(lambda: self.exchange.send(operation, body, collect))


def _headers(config: Config, operation: str) -> dict[str, str]:
    return {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}{operation}"',
            "User-Agent": config.user_agent, "Accept-Encoding": "gzip, deflate"}
