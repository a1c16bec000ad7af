"""A reply that declares a DTD is refused on the parser's word, whatever its encoding, byte order mark
or declaration, and nothing in it is ever expanded, read from a file or fetched: through the reader,
through a real socket with the client, and through the tap-listrak command."""
import errno
import http.server
import os
import socket
import threading
import time

import pytest

from tap_listrak.client import ListrakClient
from tap_listrak.config import parse_config
from tap_listrak.errors import ProtocolError
from tests.e2e.tap_runner import catalog_selecting, run_tap

NS = "http://webservices.listrak.com/v31/"
ENVELOPE = ('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>{}</soap:Body>'
            '</soap:Envelope>')
EXPANDED = "expanded-entity-text"  # the internal entity's text: never in anything the tap makes
DTD = f'<!DOCTYPE soap:Envelope [<!ENTITY e "{EXPANDED}">]>'
REFUSED_DTD = "declares a DTD"
NOT_XML = "not XML"  # UTF-16 without its byte order mark: the parser cannot read it at all


def _opens(field: str) -> str:
    """A page of ReportRangeMessageContactOpen whose one item holds `field` as its EmailAddress."""
    return ENVELOPE.format(f"<ReportRangeMessageContactOpenResponse xmlns='{NS}'><ReportRangeMessageContactOpenResult>"
                           f"<WSContactOpen><ContactID>1</ContactID><EmailAddress>{field}</EmailAddress>"
                           "</WSContactOpen></ReportRangeMessageContactOpenResult></ReportRangeMessageContactOpenResponse>")


DOCUMENT = DTD + _opens("&e;")
DECLARATION = '<?xml version="1.0" encoding="{}"?>'
BEFORE = "<!-- served by a proxy --><?xml-stylesheet href='x.xsl'?>\n<?pi data?> "

FORMS = {
    "utf-16-le, no BOM, no declaration, leading space": ((" " + DOCUMENT).encode("utf-16-le"), NOT_XML),
    "utf-16-be, no BOM, no declaration, leading space": ((" " + DOCUMENT).encode("utf-16-be"), NOT_XML),
    "utf-16-le, no BOM, no declaration, leading newline and tab": (("\n\t" + DOCUMENT).encode("utf-16-le"), NOT_XML),
    "utf-16-le, no BOM, no declaration": (DOCUMENT.encode("utf-16-le"), NOT_XML),
    "utf-16-be with BOM": (("\ufeff" + DOCUMENT).encode("utf-16-be"), REFUSED_DTD),
    "utf-16-le with BOM": (("\ufeff" + DOCUMENT).encode("utf-16-le"), REFUSED_DTD),
    "utf-16-le with BOM, declaration, comments and PIs": (
        ("\ufeff" + DECLARATION.format("UTF-16") + BEFORE + DOCUMENT).encode("utf-16-le"), REFUSED_DTD),
    "utf-16-le, no BOM, with a declaration": ((DECLARATION.format("UTF-16") + DOCUMENT).encode("utf-16-le"),
                                               REFUSED_DTD),
    "utf-8 with BOM": (("\ufeff" + DOCUMENT).encode("utf-8"), REFUSED_DTD),
    "utf-8 without BOM": (DOCUMENT.encode("utf-8"), REFUSED_DTD),
    "with an XML declaration": ((DECLARATION.format("utf-8") + DOCUMENT).encode("utf-8"), REFUSED_DTD),
    "with comments and processing instructions before the DOCTYPE": (
        (DECLARATION.format("iso-8859-1") + BEFORE + DOCUMENT).encode("iso-8859-1"), REFUSED_DTD),
    "with white space and a comment before the declaration-less DOCTYPE": (
        (" \r\n<!-- x -->" + DOCUMENT).encode("utf-8"), REFUSED_DTD),
}


@pytest.fixture(scope="module")
def client():
    config = parse_config({"username": "api-user", "password": "api-pass", "start_date": "2024-01-01",
                           "backoff_max_tries": 1, "endpoint_url": "http://127.0.0.1:9/v31/IntegrationService.asmx"})
    return ListrakClient(config)


def _read(client, body: bytes, chunk=64 * 1024, status=200):
    chunks = [body[i:i + chunk] for i in range(0, len(body), chunk)]
    return client.readers["ReportRangeMessageContactOpen"].read(chunks, status)


def test_the_same_page_without_its_dtd_is_read(client):
    """What the forms below refuse is the DTD alone: the same page, with the entity's text written out,
    is read in every encoding the parser can tell."""
    page = _read(client, ("\ufeff" + DECLARATION.format("UTF-16") + BEFORE + _opens(EXPANDED)).encode("utf-16-le"))
    assert [item["EmailAddress"] for item in page.items] == [EXPANDED]


@pytest.mark.parametrize("form", FORMS, ids=list(FORMS))
@pytest.mark.parametrize("chunk", [1, 64 * 1024])
def test_a_dtd_with_an_internal_entity_is_refused_in_every_form(client, form, chunk):
    body, words = FORMS[form]
    with pytest.raises(ProtocolError, match=words) as caught:
        _read(client, body, chunk)
    assert type(caught.value) is ProtocolError  # never retried
    assert EXPANDED not in str(caught.value) and "\n" not in str(caught.value)


def _laughs(depth=10) -> str:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, depth))
    return f"<!DOCTYPE soap:Envelope [{entities}]>"


@pytest.mark.parametrize("encoding,space,words", [("utf-8", "", REFUSED_DTD), ("utf-16-le", " ", NOT_XML)])
@pytest.mark.parametrize("depth", [6, 10])  # 10^5 'lol's, few enough to pass an amplification guard; 10^9
def test_laughs_in_an_item_are_refused_at_once_and_nothing_is_expanded(client, encoding, space, words, depth):
    started = time.monotonic()
    with pytest.raises(ProtocolError, match=words) as caught:
        _read(client, (space + _laughs(depth) + _opens(f"&lol{depth - 1};")).encode(encoding), chunk=256)
    assert time.monotonic() - started < 1
    assert type(caught.value) is ProtocolError and "lollol" not in str(caught.value)


def test_laughs_in_the_root_start_tag_are_stopped_by_the_parser_at_once(client):
    """Before it reports the envelope, libxml2 stops at its entity amplification limit."""
    body = _laughs() + _opens("x").replace("<soap:Envelope ", "<soap:Envelope a='&lol9;' ", 1)
    started = time.monotonic()
    with pytest.raises(ProtocolError, match="amplification") as caught:
        _read(client, body.encode(), chunk=256)
    assert time.monotonic() - started < 1
    assert type(caught.value) is ProtocolError and "lollol" not in str(caught.value)


@pytest.fixture
def never_read(tmp_path):
    """A named pipe, a file and a listening socket: targets an external entity, an external DTD or
    parameter entity could name. Opening the pipe to read it would block the reader (no writer ever
    comes), and a connection to the socket would wait in its queue: afterwards, the test sees that
    neither happened."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    secret = tmp_path / "secret.txt"
    secret.write_text("the-contents-of-a-local-file")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    targets = {"pipe": pipe.as_uri(), "file": secret.as_uri(),
               "http": f"http://127.0.0.1:{listener.getsockname()[1]}/x.dtd"}
    yield targets
    try:  # a reader blocked in open() would take this writer: with none, there is no reader
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        raise AssertionError("the named pipe was opened for reading")
    except OSError as exc:
        assert exc.errno == errno.ENXIO
    with pytest.raises(socket.timeout):
        listener.accept()[0].close()
    listener.close()


EXTERNAL = {
    "general entity in an item": lambda url: f'<!DOCTYPE soap:Envelope [<!ENTITY x SYSTEM "{url}">]>' + _opens("&x;"),
    "parameter entity": lambda url: f'<!DOCTYPE soap:Envelope [<!ENTITY % x SYSTEM "{url}"> %x;]>' + _opens("y"),
    "external DTD": lambda url: f'<!DOCTYPE soap:Envelope SYSTEM "{url}">' + _opens("y"),
    "public DTD": lambda url: f'<!DOCTYPE soap:Envelope PUBLIC "-//Listrak//x" "{url}">' + _opens("y"),
}


@pytest.mark.parametrize("kind", EXTERNAL, ids=list(EXTERNAL))
@pytest.mark.parametrize("target", ["pipe", "file", "http"])
def test_an_external_entity_or_dtd_is_never_read(client, never_read, kind, target):
    body = EXTERNAL[kind](never_read[target]).encode()
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_outcome(client, body)), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert outcome, "the reader blocked: it opened what the entity names"
    (error,) = outcome
    assert type(error) is ProtocolError and REFUSED_DTD in str(error)
    assert "the-contents-of-a-local-file" not in str(error)


def _outcome(client, body):
    try:
        return _read(client, body)
    except Exception as exc:  # noqa: BLE001 (the test looks at it)
        return exc


# -- through a real socket ------------------------------------------------------------------------
class _Replies(http.server.BaseHTTPRequestHandler):
    """Answers every POST with the server's `body`, as text/xml."""
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests += 1
        self.send_response(200)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    servers = []

    def start(body: bytes) -> http.server.ThreadingHTTPServer:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Replies)
        server.body, server.requests = body, 0
        server.url = f"http://127.0.0.1:{server.server_port}/v31/IntegrationService.asmx"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


SOCKET_FORMS = ["utf-16-le, no BOM, no declaration, leading space", "utf-16-le with BOM",
                "with comments and processing instructions before the DOCTYPE"]


@pytest.mark.parametrize("form", SOCKET_FORMS)
def test_the_client_refuses_a_dtd_from_the_wire_once_without_retrying(serve, form):
    body, words = FORMS[form]
    server = serve(body)
    client = ListrakClient(parse_config({"username": "api-user", "password": "api-pass", "start_date": "2024-01-01",
                                         "endpoint_url": server.url, "backoff_max_tries": 3,
                                         "backoff_base_seconds": 0.01}))
    with pytest.raises(ProtocolError, match=words) as caught:
        client.request("ReportRangeMessageContactOpen", MsgID=1, Page=1, StartDate="2024-01-01T00:00:00",
                       EndDate="2024-02-01T00:00:00")
    assert server.requests == 1
    assert str(caught.value).startswith("ReportRangeMessageContactOpen: ") and EXPANDED not in str(caught.value)


def _lists_page(list_name: str) -> str:
    flags = "".join(f"<{name}>false</{name}>" for name in (
        "EnableRemovalLink", "EnableBrowserLink", "EnableDoubleOptin", "EnableListHygiene", "ShowEmailList",
        "ShowAdvancedPersonalization", "EnableRSS", "EnableGoogleAnalytics", "EnableInternationalization",
        "EnableDynamicContent", "EnableListRemoveHeader"))
    item = (f"<WSContactList><ListID>301</ListID><ListName>{list_name}</ListName>{flags}"
            "<bounceHandling>1</bounceHandling><BounceUnsubscribeCount>3</BounceUnsubscribeCount></WSContactList>")
    return ENVELOPE.format(f"<GetContactListCollectionResponse xmlns='{NS}'><GetContactListCollectionResult>{item}"
                           "</GetContactListCollectionResult></GetContactListCollectionResponse>")


@pytest.mark.parametrize("encoding,start,name,words", [("utf-16-le", " ", "&e;", NOT_XML),
                                                       ("utf-8", "", "&e;&x;", REFUSED_DTD),
                                                       ("utf-16-be", "\ufeff", "&e;&x;", REFUSED_DTD)])
def test_the_tap_fails_in_one_line_on_a_dtd_and_writes_nothing_expanded(serve, tmp_path, encoding, start, name,
                                                                       words):
    secret = tmp_path / "secret.txt"
    secret.write_text("the-contents-of-a-local-file")
    dtd = f'<!DOCTYPE soap:Envelope [<!ENTITY e "{EXPANDED}"><!ENTITY x SYSTEM "{secret.as_uri()}">]>'
    server = serve((start + dtd + _lists_page(name)).encode(encoding))
    config = {"username": "api-user", "password": "api-pass", "start_date": "2024-01-01",
              "endpoint_url": server.url, "backoff_max_tries": 3, "backoff_base_seconds": 0.01}
    run = run_tap(tmp_path, config, catalog=catalog_selecting({"lists"}), timeout=60)
    assert run.returncode == 1 and not run.records("lists")
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("CRITICAL")]
    assert words in line and "GetContactListCollection" in line
    assert server.requests == 1
    for text in (run.stdout, run.stderr):
        assert EXPANDED not in text and "the-contents-of-a-local-file" not in text
