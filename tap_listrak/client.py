"""The one door to Listrak: builds requests with zeep from the bundled WSDL, sends them over
kept-alive connections (transport.py; timeouts, proxies and CA bundle as requests reads them from
the environment, retries with backoff, cancellation), takes each reply off the socket while the request
holds one of max_workers slots, reads it once the slot is given back (replies.py), and returns
plain dicts.

The WSDL is read from the package, never fetched. Credentials travel only in the WSUser SOAP
header of the request body; they are never logged, and every error text is redacted.
"""
from __future__ import annotations

import json
import logging
import os
import ssl
import threading
import time
from collections import Counter
from importlib import resources
from typing import Callable, Iterator

import requests
import urllib3
import zeep
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH, select_proxy
from urllib3.util.ssl_match_hostname import CertificateError

from tap_listrak.config import Config
from tap_listrak.envelopes import Envelopes
from tap_listrak.errors import Cancelled, ConfigError, ListrakError, NotFoundError, ProtocolError, RetryableError
from tap_listrak.redaction import redact
from tap_listrak.replies import NS, ItemReader, OperationReader, Page
from tap_listrak.spool import ReceivedReply
from tap_listrak.streams import STREAMS
from tap_listrak.transport import BrokenReply, Route, Transport, UnsupportedReply

LOGGER = logging.getLogger(__name__)
METRICS = logging.getLogger("tap_listrak.metrics")
WSDL_PATH = resources.files("tap_listrak").joinpath("wsdl", "IntegrationService.wsdl")
BINDING = f"{{{NS}}}IntegrationServiceSoap"
READ_CHUNK = 64 * 1024  # bytes taken off the socket, and handed to the parser, at a time


def load_wsdl() -> zeep.Client:
    """zeep client over the bundled WSDL; no network (the file is local and imports nothing)."""
    settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    with resources.as_file(WSDL_PATH) as path:
        return zeep.Client(str(path), settings=settings)


class ListrakClient:
    """Thread-safe: one parsed WSDL, one connection pool sized to the workers.

    The first failure that ends the run (refused login or IP, a reply outside the contract, retries
    given up) cancels the client: no request starts after it, and a retry waiting for its turn
    gives up at once. Each retry of a refused login would prolong a lockout."""

    def __init__(self, config: Config, zeep_client: zeep.Client | None = None):
        self.config = config
        self.zeep = zeep_client or load_wsdl()
        self.service = self.zeep.create_service(BINDING, config.endpoint_url)
        self.transport = Transport(route_for(config), pool_size=max(config.max_workers, 1) + 2)
        # Every item type the tap reads, by operation: the stream table says it once.
        self.readers = {s.operation: OperationReader(s.operation, self._item_reader(s.item_type)) for s in STREAMS}
        header = self.zeep.get_element(f"{{{NS}}}WSUser")(UserName=config.username, Password=config.password)
        self.envelopes = Envelopes(self.zeep, self.service, header)
        self._lock = threading.Lock()
        # At most max_workers requests on the wire, whichever pools send them: the units of one
        # group and a parent read for the next (the message index) may overlap. A request holds its
        # slot until its reply is in, not while the reply is parsed (the pools run spare threads
        # for that, concurrency.threads_for).
        self._in_flight = threading.BoundedSemaphore(max(config.max_workers, 1))
        # One worker at a time parses and encodes; the others wait on this lock, not on the GIL.
        # Under the GIL only one can run Python anyway, and a dozen threads contending for the GIL
        # itself cost 60 % more CPU per record in `make bench` (26.7 against 16.1 µs at 0 ms). It is
        # taken once per reply, for the METRIC line and the whole read: taken per 64 KB of the reply
        # and with the METRIC line written outside it, the threads' hand-offs (about 3,000 more
        # context switches a run at 0 ms) cost 3-12 % more CPU.
        self.cpu = threading.Lock()
        self._cancelled = threading.Event()
        self.failure: ListrakError | None = None
        self.max_reply_bytes = int(config.max_reply_megabytes * (1 << 20))
        self._headers = {stream.operation: _headers(config, stream.operation) for stream in STREAMS}
        self.requests_by_operation: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()

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

    # -- cancellation -----------------------------------------------------------------------------
    def cancel(self, failure: ListrakError) -> None:
        """Ends the run: no request starts after this, and waiting retries give up."""
        with self._lock:
            if self.failure is None:
                self.failure = failure
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def _stop_if_cancelled(self) -> None:
        if self._cancelled.is_set():
            raise Cancelled(str(self.failure) if self.failure else "the run was stopped")

    # -- one request, with retries ----------------------------------------------------------------
    def _request(self, operation: str, params: dict, collect=list) -> Page:
        body = self.envelopes.body(operation, params)
        config = self.config
        delays = None  # made on the first retry (see _delays)
        started = time.monotonic()
        for attempt in range(1, config.backoff_max_tries + 1):
            try:
                return self._send(operation, body, collect)
            except RetryableError as exc:
                remaining = config.backoff_max_seconds - (time.monotonic() - started)
                if attempt == config.backoff_max_tries or remaining <= 0:
                    raise self._fail(RetryableError(
                        f"{exc} (gave up: backoff_max_tries={config.backoff_max_tries}, backoff_max_seconds="
                        f"{config.backoff_max_seconds:g}; the service or the network is failing, try again later)"))
                delays = delays or _delays(config.backoff_base_seconds)
                wait = min(next(delays), remaining)
                LOGGER.warning("Retrying in %.1fs (attempt %d of %d): %s", wait, attempt, config.backoff_max_tries,
                               redact(str(exc), config.secrets))
                if self._cancelled.wait(wait):
                    self._stop_if_cancelled()
            except (NotFoundError, Cancelled):
                raise  # a vanished object ends only its unit; a cancelled request, nothing more
            except ListrakError as exc:
                raise self._fail(exc)
        raise AssertionError("unreachable")

    def _fail(self, exc: ListrakError) -> ListrakError:
        self.cancel(exc)
        return exc

    def _send(self, operation: str, body: bytes, collect=list) -> Page:
        """Posts one request, receives its reply while holding a slot, and reads it once the slot is
        given back (replies.OperationReader.read): a slot stands for a request on the wire, and
        parsing a received reply keeps no request waiting."""
        with self._in_flight:
            self._stop_if_cancelled()  # checked once a slot is ours: the run may have ended meanwhile
            status, reply, took = self._receive(operation, body)
        try:
            with self.cpu:
                self._metric(operation, took, status, received=True)
                return self.readers[operation].read(reply.chunks(READ_CHUNK), status, self.config.secrets, collect)
        except RetryableError as exc:
            raise RetryableError(f"{operation}: {exc}") from None
        except ProtocolError as exc:
            raise ProtocolError(f"{operation}: {exc}") from None
        finally:
            reply.close()

    def _receive(self, operation: str, body: bytes) -> tuple[int, ReceivedReply, float]:
        """Posts one request and takes its whole reply off the socket (spool.ReceivedReply): its status,
        the reply and the seconds it took. A reply that passes max_reply_megabytes is refused as it
        arrives. A request that fails has its METRIC line written here; one that got its reply, by
        the caller."""
        started, status, response, reply, received = time.monotonic(), None, None, None, None
        try:
            response = self.transport.post(self._headers[operation], body)
            status = response.status
            self._count(operation, status)
            reply = ReceivedReply()
            for chunk in response.chunks(READ_CHUNK):
                reply.write(chunk)
                if reply.size > self.max_reply_bytes:
                    raise ProtocolError(f"{operation}: the reply passed {self.max_reply_bytes // (1 << 20):,} MB "
                                        "without ending and was refused (a Listrak page is a few MB; raise "
                                        "max_reply_megabytes if this is real)")
            response = None  # read to its end: the connection serves the next request
            received, reply = reply, None
            return status, received, time.monotonic() - started
        except BrokenReply as exc:
            raise RetryableError(f"{operation}: {exc} (from {self.config.endpoint_url})") from None
        except UnsupportedReply as exc:
            raise ProtocolError(f"{operation}: {exc} (from {self.config.endpoint_url}): check endpoint_url") from None
        except (ssl.SSLError, CertificateError) as exc:  # before OSError, which ssl.SSLError is
            raise ProtocolError(f"TLS verification of {self.config.endpoint_url} failed ({_reason(exc)}): the "
                                "certificate is not trusted; fix the endpoint or the system's CA store") from None
        except urllib3.exceptions.LocationValueError as exc:
            raise ProtocolError(f"{operation}: request to {self.config.endpoint_url} failed "
                                f"({exc.__class__.__name__}): check endpoint_url") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:  # connection, timeout, broken or cut-off reply
            if status is None:
                self._count(operation, 0)
            raise RetryableError(f"{operation}: {exc.__class__.__name__} talking to "
                                 f"{self.config.endpoint_url} ({_reason(exc)})") from None
        finally:
            if reply is not None:  # failed half-way: what arrived is dropped
                reply.close()
            if response is not None:  # not read to its end: the connection is dropped, never reused
                response.close()
            if received is None:  # failed: no reply for the caller to read (and write the METRIC line of)
                self._metric(operation, time.monotonic() - started, status, received=False)

    @staticmethod
    def _metric(operation: str, seconds: float, status: int | None, received: bool) -> None:
        """A Singer METRIC line per request, with the real HTTP status (null: no reply at all); it
        succeeded when its whole reply came with HTTP 200."""
        if METRICS.isEnabledFor(logging.INFO):
            METRICS.info("METRIC: %s", json.dumps({
                "type": "timer", "metric": "http_request_duration", "value": round(seconds, 4),
                "tags": {"endpoint": operation, "http_status_code": status,
                         "status": "succeeded" if received and status == 200 else "failed"}}))

    def _count(self, operation: str, status: int) -> None:
        with self._lock:
            self.requests_by_operation[operation] += 1
            self.statuses[status] += 1


def route_for(config: Config) -> Route:
    """Where requests go: endpoint_url, through the proxy the environment names for it. Proxy and
    CA-bundle variables (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE; else certifi's
    bundle) are read once, as requests reads them; TLS is always verified."""
    environment = requests.Session().merge_environment_settings(config.endpoint_url, {}, None, True, None)
    bundle = DEFAULT_CA_BUNDLE_PATH if environment["verify"] is True else environment["verify"]
    tls = {("ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"): bundle}
    timeouts = {"connect_timeout": config.request_timeout, "read_timeout": config.request_timeout}
    proxy = select_proxy(config.endpoint_url, environment["proxies"])
    if not proxy:
        return Route(config.endpoint_url, **tls, **timeouts)
    if not proxy.lower().startswith(("http://", "https://")):
        raise ConfigError(f"the proxy the environment names for {config.endpoint_url} is not an http:// or https:// "
                          "URL (a SOCKS proxy?): this tap speaks HTTP proxies only; fix HTTPS_PROXY or NO_PROXY")
    return Route(config.endpoint_url, proxy=proxy, proxy_headers=HTTPAdapter().proxy_headers(proxy), **tls, **timeouts)


def _headers(config: Config, operation: str) -> dict[str, str]:
    return {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}{operation}"',
            "User-Agent": config.user_agent, "Accept-Encoding": "gzip, deflate"}


def _delays(base_seconds: float) -> Iterator[float]:
    """Exponential waits with full jitter, from backoff. Imported on the first retry only: importing
    backoff (which imports asyncio) costs every run 30 ms, a tenth of its start-up."""
    import backoff

    delays = backoff.expo(factor=base_seconds)
    next(delays)  # a backoff wait generator yields once before its first delay
    return (backoff.full_jitter(delay) for delay in delays)


def _reason(exc: Exception) -> str:
    """The innermost cause of a requests error, short, with no request content."""
    cause = exc
    while getattr(cause, "__cause__", None) is not None or getattr(cause, "reason", None) is not None:
        nxt = getattr(cause, "reason", None) or cause.__cause__
        if nxt is cause or not isinstance(nxt, BaseException):
            break
        cause = nxt
    return str(cause).splitlines()[0][:200] if str(cause) else cause.__class__.__name__
