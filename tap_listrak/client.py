"""The one door to Listrak: builds requests with zeep from the bundled WSDL, sends them with
requests (timeouts, connection pool, retries with backoff), and returns plain dicts.

The WSDL is read from the package, never fetched. Credentials travel only in the WSUser SOAP
header of the request body; they are never logged, and every error text is redacted.
"""
from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
import time
from collections import Counter
from importlib import resources
from typing import Callable, Iterator

import backoff
import requests
import zeep
from lxml import etree
from requests.adapters import HTTPAdapter

from tap_listrak.config import Config
from tap_listrak.errors import ProtocolError, RetryableError
from tap_listrak.replies import NS, ItemReader, OperationReader, parse_envelope, redact
from tap_listrak.streams import STREAMS

LOGGER = logging.getLogger(__name__)
METRICS = logging.getLogger("tap_listrak.metrics")
WSDL_PATH = resources.files("tap_listrak").joinpath("wsdl", "IntegrationService.wsdl")
BINDING = f"{{{NS}}}IntegrationServiceSoap"
# Every item type the tap reads, by operation: the stream table says it once.
ITEM_TYPES = {stream.operation: stream.item_type for stream in STREAMS}
# Operations whose request carries the WSException body parameter (sent as xsi:nil).
WITH_WSEXCEPTION = {"ReportListMessageActivity", "ReportMessageContactSent"}


def load_wsdl() -> zeep.Client:
    """zeep client over the bundled WSDL; no network (the file is local and imports nothing)."""
    settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    with resources.as_file(WSDL_PATH) as path:
        return zeep.Client(str(path), settings=settings)


class ListrakClient:
    """Thread-safe: one parsed WSDL, one requests Session sized to the worker pool."""

    def __init__(self, config: Config, zeep_client: zeep.Client | None = None):
        self.config = config
        self.zeep = zeep_client or load_wsdl()
        self.service = self.zeep.create_service(BINDING, config.endpoint_url)
        self.session = self._session(config)
        self.readers = {op: OperationReader(op, ItemReader.from_zeep_type(self.zeep.get_type(f"{{{NS}}}{item}")))
                        for op, item in ITEM_TYPES.items()}
        self._header = self.zeep.get_element(f"{{{NS}}}WSUser")(UserName=config.username, Password=config.password)
        self._lock = threading.Lock()
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="listrak-reader")
        self.requests_by_operation: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.page_sizes: dict[str, int] = {}

    @staticmethod
    def _session(config: Config) -> requests.Session:
        session = requests.Session()
        pool = max(config.max_workers, 1) + 2
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = config.user_agent
        # Proxy and CA-bundle variables are read once here rather than on every request (a fifth of
        # a request's CPU); TLS verification stays on whatever they say.
        environment = session.merge_environment_settings(config.endpoint_url, {}, None, True, None)
        session.proxies.update(environment["proxies"])
        session.verify = environment["verify"] or True
        session.trust_env = False
        return session

    # -- one request ------------------------------------------------------------------------------
    def pages(self, operation: str, convert: Callable[[list[dict]], object] | None = None,
              **params) -> Iterator:
        """Page 1, 2, … until an empty page, or until a page shorter than the operation's page size;
        yields each page's items, or convert(items) (run while the reply is read: see _send).

        Listrak does not publish its page size. It is learned per operation from evidence: a page
        followed by a non-empty page is a full page. Until an operation's size is known, paging goes
        on to the first empty page; after, a shorter page is known to be the last one.
        """
        page, previous = 1, None
        while True:
            count, signature, value = self._request(operation, {**params, "Page": page}, convert)
            if not count:
                return
            if previous is not None and signature == previous:
                raise ProtocolError(f"{operation} returned page {page} identical to page {page - 1}: the "
                                    "endpoint ignores Page; stopping instead of reading forever")
            if previous is not None:
                self._learn_page_size(operation, previous[0])
            yield value
            known = self.page_sizes.get(operation)
            if known and count < known:
                return
            previous = signature
            page += 1

    def _learn_page_size(self, operation: str, full_page: int) -> None:
        with self._lock:
            if self.page_sizes.get(operation, 0) < full_page:
                self.page_sizes[operation] = full_page
                LOGGER.info("%s pages hold %d items", operation, full_page)

    def items(self, operation: str, **params) -> list[dict]:
        """One request, retried on transient failures → the items of its result (empty when the result
        is empty or left out)."""
        return self._request(operation, params, None)[2]

    def _request(self, operation: str, params: dict, convert) -> tuple[int, tuple, object]:
        body = self._envelope(operation, params)
        retrying = backoff.on_exception(
            backoff.expo, RetryableError, max_tries=self.config.backoff_max_tries,
            max_time=self.config.backoff_max_seconds, jitter=backoff.full_jitter,
            factor=self.config.backoff_base_seconds, on_backoff=self._log_retry, logger=None)
        try:
            return retrying(self._send)(operation, body, convert)
        except RetryableError as exc:
            raise RetryableError(f"{exc} (gave up: backoff_max_tries={self.config.backoff_max_tries}, "
                                 f"backoff_max_seconds={self.config.backoff_max_seconds:g}; the service or the "
                                 "network is failing, try again later)") from None

    def _envelope(self, operation: str, params: dict) -> bytes:
        if operation in WITH_WSEXCEPTION:
            params = {**params, "WSException": None}
        envelope = self.zeep.create_message(self.service, operation, _soapheaders=[self._header], **params)
        return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")

    def _send(self, operation: str, body: bytes, convert) -> tuple[int, tuple, object]:
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}{operation}"'}
        started = time.monotonic()
        try:
            response = self.session.post(self.config.endpoint_url, data=body, headers=headers,
                                         timeout=self.config.request_timeout)
            content = response.content
        except requests.exceptions.SSLError as exc:
            raise ProtocolError(f"TLS verification of {self.config.endpoint_url} failed ({_reason(exc)}): the "
                                "certificate is not trusted; fix the endpoint or the system's CA store") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError) as exc:
            self._count(operation, 0)
            self._metric(operation, started, None)
            raise RetryableError(f"{operation}: {exc.__class__.__name__} talking to "
                                 f"{self.config.endpoint_url} ({_reason(exc)})") from None
        except requests.exceptions.RequestException as exc:
            raise ProtocolError(f"{operation}: request to {self.config.endpoint_url} failed "
                                f"({exc.__class__.__name__}): check endpoint_url") from None
        response_status = response.status_code
        self._count(operation, response_status)
        self._metric(operation, started, response_status)
        del response  # it holds the bytes too; only `content` keeps them now
        try:
            # Replies are read on one thread for the whole pool: reading is CPU-bound (the GIL makes
            # more readers pointless), a page's XML tree is several times the page, and lxml keeps
            # state per thread that a dozen threads would multiply.
            return self._reader.submit(self._read, operation, content, response_status, convert).result()
        except RetryableError as exc:
            raise RetryableError(f"{operation}: {exc}") from None
        except ProtocolError as exc:
            raise ProtocolError(f"{operation}: {exc}") from None

    def _read(self, operation: str, content: bytes, status: int, convert) -> tuple[int, tuple, object]:
        items = self.readers[operation].items(parse_envelope(content, status, self.config.secrets))
        signature = (len(items), items[0], items[-1]) if items else (0,)
        return len(items), signature, items if convert is None else convert(items)

    @staticmethod
    def _metric(operation: str, started: float, status: int | None) -> None:
        """A Singer METRIC line per request, with the real HTTP status (null: no reply at all)."""
        if METRICS.isEnabledFor(logging.INFO):
            METRICS.info("METRIC: %s", json.dumps({
                "type": "timer", "metric": "http_request_duration", "value": round(time.monotonic() - started, 4),
                "tags": {"endpoint": operation, "http_status_code": status,
                         "status": "succeeded" if status == 200 else "failed"}}))

    def _count(self, operation: str, status: int) -> None:
        with self._lock:
            self.requests_by_operation[operation] += 1
            self.statuses[status] += 1

    def _log_retry(self, details) -> None:
        exc = details.get("exception")
        LOGGER.warning("Retrying in %.1fs (attempt %d of %d): %s", details.get("wait", 0), details["tries"],
                       self.config.backoff_max_tries, redact(str(exc), self.config.secrets))


def _reason(exc: Exception) -> str:
    """The innermost cause of a requests error, short, with no request content."""
    cause = exc
    while getattr(cause, "__cause__", None) is not None or getattr(cause, "reason", None) is not None:
        nxt = getattr(cause, "reason", None) or cause.__cause__
        if nxt is cause or not isinstance(nxt, BaseException):
            break
        cause = nxt
    return str(cause).splitlines()[0][:200] if str(cause) else cause.__class__.__name__
