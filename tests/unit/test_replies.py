"""Reading replies in Listrak's documented shapes, replayed from cassettes through a real client and
a real socket (tests/cassette_server.py)."""
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from tap_listrak.client import ListrakClient
from tap_listrak.config import parse_config
from tap_listrak.errors import AuthenticationError, IPNotAuthorizedError, NotFoundError, ProtocolError, RetryableError
from tap_listrak.redaction import redact
from tap_listrak.streams import STREAMS
from tap_listrak.transform import DateReader, RecordShaper
from tests.cassette_server import CassetteServer
from tests.zeep_reference import zeep_items

CASSETTES = Path(__file__).parent.parent / "fixtures" / "cassettes"
RANGE = {"StartDate": dt.datetime(2024, 1, 1), "EndDate": dt.datetime(2024, 12, 31)}


replay = CassetteServer(CASSETTES)


@pytest.fixture
def client():
    config = parse_config({"username": "api-user", "password": "api-pass", "start_date": "2024-01-01",
                           "backoff_max_tries": 1, "endpoint_url": replay.url})
    return ListrakClient(config)


def test_lists_in_documented_shape(client):
    with replay.use_cassette("documented_shapes.yaml", allow_playback_repeats=True):
        first, second = client.items("GetContactListCollection")
    assert first["ListName"] == "Newsletter & Offers"
    assert first["Vmta"] == {"VmtaID": 7, "Description": "Shared pool"}
    assert first["GoogleTrackingDomains"] == ["example.com", "shop.example.com"]
    assert first["DomainAliasEmail"] == ""          # empty element: empty string
    assert first["EnableRemovalLink"] is True and first["bounceHandling"] == 1
    assert second["FromName"] is None               # element left out: null
    assert second["Vmta"] is None and second["GoogleTrackingDomains"] == []
    assert second["ListName"] == "Ünïcode list 🎉"


def test_wrapped_reply_with_wsexception_sibling(client):
    with replay.use_cassette("documented_shapes.yaml", allow_playback_repeats=True):
        (message,) = client.items("ReportListMessageActivity", ListID=301, IncludeTestMessages=False, **RANGE)
        recipients = client.items("ReportMessageContactSent", MsgID=9001, Page=1)
    assert message["Subject"] == "Spring sale: 20% off <today>"
    assert message["RemovePercent"] == Decimal("0.333333333333")   # exact, not a float
    assert message["AverageOrderValue"] == Decimal("1122.333636363636")
    assert [r["EmailAddress"] for r in recipients] == ["ann@example.com", "o'brien+tag@exämple.com"]


@pytest.mark.parametrize("operation", ["ReportListMessageActivity", "ReportMessageContactSent",
                                       "ReportRangeMessageContactOpen", "ReportRangeMessageContactClick"])
def test_empty_result_element_or_left_out(client, operation):
    params = {"ReportListMessageActivity": dict(ListID=1, IncludeTestMessages=False, **RANGE),
              "ReportMessageContactSent": dict(MsgID=1, Page=1)}.get(operation, dict(MsgID=1, Page=1, **RANGE))
    with replay.use_cassette("empty_results.yaml"):
        assert client.items(operation, **params) == []


@pytest.mark.parametrize("result,slots,present", [
    ("<ReportRangeSubscribedContactsResult />", 0, True), ("", 0, False),
    ("<ReportRangeSubscribedContactsResult><WSContactSubscriptionInfo /><WSContactSubscriptionInfo />"
     "</ReportRangeSubscribedContactsResult>", 2, True),
])
def test_a_page_tells_an_empty_result_from_one_left_out(client, result, slots, present):
    body = ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
            'envelope/"><soap:Body><ReportRangeSubscribedContactsResponse xmlns="http://webservices.listrak.com/'
            f'v31/">{result}</ReportRangeSubscribedContactsResponse></soap:Body></soap:Envelope>').encode()
    page = _read(client, body, 200, operation="ReportRangeSubscribedContacts")
    assert (page.slots, page.result_present) == (slots, present)


def test_invalid_logon_names_the_fix_and_hides_the_password(client):
    with replay.use_cassette("invalid_logon.yaml"):
        with pytest.raises(AuthenticationError) as caught:
            client.items("GetContactListCollection")
    message = str(caught.value)
    assert "InvalidLogonAttempt" in message and "API Access" in message


# The nine primary operations have documented reply shapes; the secondary ones only the emulator's (below).
DOCUMENTED = [stream for stream in STREAMS if f"/{stream.operation}\"" in
              (CASSETTES / "documented_shapes.yaml").read_text(encoding="utf-8")]


def test_every_primary_operation_has_a_documented_shape():
    assert len(DOCUMENTED) == 9


@pytest.mark.parametrize("stream", DOCUMENTED, ids=lambda s: s.name)
def test_the_reply_reader_equals_zeep_reading(client, stream):
    """Every documented shape gives the same records through both readers (after shaping)."""
    cassette = yaml.safe_load((CASSETTES / "documented_shapes.yaml").read_text(encoding="utf-8"))
    body = next(i["response"]["body"]["string"] for i in cassette["interactions"]
                if i["request"]["headers"]["SOAPAction"][0].strip('"').endswith("/" + stream.operation)).encode()
    _assert_both_readings_equal(client, stream, body)


def _assert_both_readings_equal(client, stream, body: bytes) -> None:
    """The tap's records equal zeep's, after shaping, but for the intended differences."""
    ours = client.readers[stream.operation].read([body], 200).items
    reference = zeep_items(client.zeep, stream.operation, body)
    # zeep reads a nil array item as an item of Nones; the tap drops it.
    reference = [item for item in reference if any(v not in (None, []) for v in item.values())]
    shaper = RecordShaper(stream.date_fields, stream.number_fields, DateReader(dt.timezone.utc))
    ours = [shaper.shape(item) for item in ours]
    reference = [shaper.shape(item) for item in reference]
    _empty_strings_as_ours(ours, reference)
    assert ours == reference and ours, stream.name


def _empty_strings_as_ours(ours: list[dict], reference: list[dict]) -> None:
    """zeep reads an empty element as None, the tap as "" (nested items too)."""
    for mine, theirs in zip(ours, reference):
        for key, value in mine.items():
            if value == "" and theirs.get(key) is None:
                theirs[key] = ""
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                _empty_strings_as_ours(value, theirs.get(key) or [])


def test_bounce_dates_in_both_forms_become_rfc3339(client):
    with replay.use_cassette("documented_shapes.yaml", allow_playback_repeats=True):
        bounces = client.items("ReportRangeMessageContactBounces", MsgID=9001, Page=1, **RANGE)
    shaper = RecordShaper(("BounceDate",), (), DateReader(dt.timezone.utc))
    assert [shaper.shape(b)["BounceDate"] for b in bounces] == ["2024-03-01T08:00:05.170000Z",
                                                                "2024-03-02T13:04:05.000000Z"]
    assert bounces[1]["BounceDetail"] == ""


ENVELOPE = ('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>{}</soap:Body>'
            '</soap:Envelope>')


@pytest.mark.parametrize("body,status,error", [
    (b"<html><body>Service Unavailable</body></html>", 503, RetryableError),
    (b"<!DOCTYPE html><html><body>Welcome</body></html>", 200, ProtocolError),
    (ENVELOPE.format("<ReportRangeMessageContactOpenResponse xmlns='http://webservices.listrak.com/v31/'>"
                     "<ReportRangeMessageContactOpenResult><WSContactOpen><Contact").encode(), 200, RetryableError),
    (b"", 502, RetryableError),
    (b"<foo/>", 200, ProtocolError),
    (ENVELOPE.format("<soap:Fault><faultcode>soap:Server</faultcode><faultstring>Server was unable to process "
                     "request. ---&gt; Timeout expired</faultstring></soap:Fault>").encode(), 500, RetryableError),
])
def test_reply_classification(client, body, status, error):
    with pytest.raises(error):
        _read(client, body, status)


def _read(client, body: bytes, status: int, operation="ReportRangeMessageContactOpen", chunk=64 * 1024, **kw):
    chunks = [body[i:i + chunk] for i in range(0, len(body), chunk)]
    return client.readers[operation].read(chunks, status, **kw)


def test_entity_expansion_and_external_entities_are_refused(client):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
            b'<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            + ENVELOPE.format("<x>&lol2;&xxe;</x>").encode())
    with pytest.raises(ProtocolError, match="DTD"):
        _read(client, bomb, 200)


DTD_BOMB = ('<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            + ENVELOPE.format("<x>&lol2;</x>"))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16-be", "iso-8859-1"])
@pytest.mark.parametrize("before", ["", "<!-- a comment -->\n", "<?pi data?> \r\n", "\ufeff"])
@pytest.mark.parametrize("chunk", [1, 5, 64 * 1024])
def test_a_dtd_is_refused_in_any_encoding_and_chunking(client, encoding, before, chunk):
    """The parser reports the DTD through the XML declaration, comments, processing instructions, a
    byte order mark and UTF-16, and through any cut of the body into chunks
    (tests/unit/test_reply_safety.py has the forms it cannot read)."""
    declaration = f'<?xml version="1.0" encoding="{encoding.split("-le")[0].split("-be")[0]}"?>'
    text = ("\ufeff" if encoding.startswith("utf-16") else "") + declaration + before.lstrip("\ufeff") + DTD_BOMB
    with pytest.raises(ProtocolError, match="DTD"):
        _read(client, text.encode(encoding), 200, chunk=chunk)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "iso-8859-1", "windows-1252"])
def test_a_reply_in_another_encoding_is_read_by_its_declaration(client, encoding):
    declaration = f'<?xml version="1.0" encoding="{encoding}"?><!-- served by a proxy -->'
    items = ["<WSContactOpen><ContactID>7</ContactID><EmailAddress>jos\u00e9@example.com</EmailAddress>"
             "</WSContactOpen>"]
    rest = "utf-16-le" if encoding == "utf-16" else encoding  # one byte order mark, at the start
    body = declaration.encode(encoding) + _page("WSContactOpen", items).decode().encode(rest)
    page = _read(client, body, 200, chunk=3)
    assert [(item["ContactID"], item["EmailAddress"]) for item in page.items] == [("7", "jos\u00e9@example.com")]


def test_a_flood_before_the_first_element_is_refused(client):
    """Bytes that never reach an element (a comment that never ends) count towards the flood bound."""
    def flood():
        yield b'<?xml version="1.0"?><!--'
        for _ in range(12):
            yield b"x" * (1 << 20)

    with pytest.raises(ProtocolError, match="over 10 MB without completing an item"):
        client.readers["ReportRangeMessageContactOpen"].read(flood(), 200)


@pytest.mark.parametrize("cut,error", [
    ("</faultstring>", AuthenticationError),  # what arrived says the login was refused
    ("[InvalidLogon", RetryableError),         # nothing whole arrived: tried again
])
def test_a_fault_cut_off_is_classified_by_what_arrived(client, cut, error):
    whole = ENVELOPE.format("<soap:Fault><faultcode>soap:Client</faultcode><faultstring>[InvalidLogonAttempt] "
                            "Invalid login attempt.</faultstring><detail>more</detail></soap:Fault>").encode()
    body = whole[:whole.index(cut.encode()) + len(cut)]
    with pytest.raises(error) as caught:
        _read(client, body, 500)
    assert type(caught.value) is error


def test_fault_text_is_redacted(client):
    body = ENVELOPE.format("<soap:Fault><faultcode>soap:Client</faultcode><faultstring>[InvalidLogonAttempt] "
                           "user s3cret-user</faultstring></soap:Fault>").encode()
    with pytest.raises(AuthenticationError) as caught:
        _read(client, body, 500, secrets=("s3cret-user",))
    assert "s3cret-user" not in str(caught.value)


def _fault(text: str) -> bytes:
    return ENVELOPE.format(f"<soap:Fault><faultcode>soap:Server</faultcode><faultstring>Server was unable to "
                           f"process request. ---&gt; {text}</faultstring><detail>{text}</detail></soap:Fault>"
                           ).encode()


@pytest.mark.parametrize("text,error", [
    ("404 - File or directory not found.", NotFoundError),
    ("Transaction (Process ID 404) was deadlocked on lock resources with another process and has been chosen "
     "as the deadlock victim. Rerun the transaction.", RetryableError),
    ("Error 404 while reading page 404", RetryableError),
    ("HTTP 404.0 - Not Found", RetryableError),
    ("[InvalidLogonAttempt] Invalid login attempt.", AuthenticationError),
    ("[LoginAttemptsExceeded] Login attempts exceeded. The account is locked.", AuthenticationError),
    ("[ProhibitedIPAddress] The IP address 10.1.2.3 is not authorized to access the API.", IPNotAuthorizedError),
    ("SomethingInvalidLogonAttempts happened", RetryableError),
    ("An unknown error occurred.", RetryableError),
])
def test_faults_are_classified_by_listraks_exact_forms(client, text, error):
    with pytest.raises(error) as caught:
        _read(client, _fault(text), 500)
    assert type(caught.value) is error


def _page(operation_item: str, items: list[str]) -> bytes:
    inner = "".join(items)
    return ENVELOPE.format("<ReportRangeMessageContactOpenResponse xmlns='http://webservices.listrak.com/v31/'>"
                           f"<ReportRangeMessageContactOpenResult>{inner}</ReportRangeMessageContactOpenResult>"
                           "</ReportRangeMessageContactOpenResponse>").encode()


NIL = "<WSContactOpen xsi:nil='true' xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'/>"


def _open(n: int) -> str:
    return (f"<WSContactOpen><ContactID>{n}</ContactID><EmailAddress>c{n}@example.com</EmailAddress>"
            f"<OpenDate>2024-01-0{n % 9 + 1}T10:00:00</OpenDate></WSContactOpen>")


@pytest.mark.parametrize("chunk", [1, 7, 64 * 1024])
def test_a_reply_read_in_any_chunks_gives_the_same_items_and_counts_nil_slots(client, chunk):
    body = _page("WSContactOpen", [_open(1), NIL, _open(2), NIL, _open(3)])
    page = _read(client, body, 200, chunk=chunk)
    assert page.slots == 5
    assert [item["ContactID"] for item in page.items] == ["1", "2", "3"]


def test_a_collection_gets_each_batch_as_it_is_read_and_never_the_whole_page(client):
    """Read in small chunks, the items reach the page's collection in several batches, in order; the
    page holds what it made of them, and the repr of the first and last item as read (before it ran)."""
    items = [_open(n) for n in range(1, 41)]
    body = _page("WSContactOpen", items[:20] + [NIL] + items[20:])
    whole = _read(client, body, 200)
    batches = []

    class Sizes(list):
        """Keeps each batch's size, as a page of RECORD lines keeps their text."""

        def extend(self, batch):
            batches.append([item["ContactID"] for item in batch])
            for item in batch:
                item["ContactID"] = "changed"  # what the collection does to its batch stays out of first/last
            self.append(len(batch))

    page = _read(client, body, 200, chunk=512, collect=Sizes)
    assert len(batches) > 3 and max(map(len, batches)) < 40
    assert sum(batches, []) == [str(n) for n in range(1, 41)]
    assert page.items == [len(batch) for batch in batches] and page.slots == 41
    assert (page.first, page.last) == (repr(whole.items[0]), repr(whole.items[-1]))


def test_a_page_of_nil_slots_only_is_not_empty(client):
    page = _read(client, _page("WSContactOpen", [NIL, NIL]), 200)
    assert page.slots == 2 and page.items == []
    empty = _read(client, _page("WSContactOpen", []), 200)
    assert empty.slots == 0 and empty.items == []


def test_a_foreign_element_among_the_items_is_a_protocol_error(client):
    with pytest.raises(ProtocolError, match="unexpected Surprise"):
        _read(client, _page("WSContactOpen", [_open(1), "<Surprise/>", _open(2)]), 200)
    with pytest.raises(ProtocolError, match="unexpected Surprise"):
        _read(client, _page("WSContactOpen", [_open(1), "<Surprise/>"]), 200)


def test_a_single_huge_value_is_refused(client):
    """libxml2 stops a text node at 10 MB (huge_tree off), before the reader's own bound."""
    def flood():
        yield _page("WSContactOpen", ["@"]).split(b"@")[0] + b"<WSContactOpen><EmailAddress>"
        for _ in range(40):
            yield b"x" * (1 << 20)

    with pytest.raises(ProtocolError, match="at one of its limits .*Text node too long") as caught:
        client.readers["ReportRangeMessageContactOpen"].read(flood(), 200)
    assert "\n" not in str(caught.value)


def test_an_item_that_never_ends_is_refused(client):
    """Many small values in one item pass no limit of the parser's: the reader's bound refuses them."""
    def flood():
        yield _page("WSContactOpen", ["@"]).split(b"@")[0] + b"<WSContactOpen>"
        for _ in range(12):
            yield b"<EmailAddress>x</EmailAddress>" * (1 << 15)

    with pytest.raises(ProtocolError, match="over 10 MB without completing an item"):
        client.readers["ReportRangeMessageContactOpen"].read(flood(), 200)


@pytest.mark.parametrize("secrets,text,expected", [
    (("u", "p"), "Retrying (attempt 2): truncated reply from u at p", "Retrying (attempt 2): truncated reply from *** at ***"),
    (("api-user", "hunter2"), "login api-user/hunter2 refused", "login ***/*** refused"),
    (("api-user", "hunter2"), "xapi-usery hunter22", "x***y ***2"),   # realistic length: anywhere
    (("p@s",), "password=p@s was sent", "password=*** was sent"),
    (("abc",), "xabc abc", "xabc ***"),
])
def test_redaction_replaces_whole_occurrences_only(secrets, text, expected):
    assert redact(text, secrets) == expected


def _emulator_bodies(emulator):
    """One real reply body per stream's operation, from the emulator (nasty cases included)."""
    from tests.emulator import rawsoap
    truth = emulator.truth("2022-01-01", include_test_messages=True)
    msg_id = max(truth["message_opens"], key=lambda r: r["MsgID"])["MsgID"]
    list_id = truth["lists"][0]["ListID"]
    wide = {"StartDate": "2000-01-01T00:00:00", "EndDate": "2030-01-01T00:00:00"}
    params = {"GetContactListCollection": {},
              "ReportListMessageActivity": {"ListID": list_id, **wide, "IncludeTestMessages": "true"},
              "ReportMessageContactSent": {"MsgID": msg_id, "Page": 1},
              "ReportRangeSubscribedContacts": {"ListID": list_id, **wide, "Page": 1},
              "ReportRangeListContactRemoval": {"ListID": list_id, **wide, "Page": 1},
              "ReportRangeListContactHygiene": {"ListID": list_id, **wide, "Page": 1},
              "ReportMessageLinkClick": {"MsgID": msg_id, "Page": 1},
              "GetCampaignCollection": {"ListID": list_id},
              "GetMessageAnalyticsInformation": {"MsgIDs": rawsoap.int_array(r["MsgID"] for r in truth["messages"])},
              "ReportListMessageDelivery": {"ListID": list_id, **wide, "IncludeTestMessages": "true"},
              "ReportListConversationActivity": {"ListID": list_id, "IncludeTerminated": "true"},
              "GetProfileHeaderCollection": {"ListID": list_id},
              "ReportAdminContactFeedbackLoop": {**wide, "Page": 1}}
    for stream in STREAMS:
        status, _, body = rawsoap.call(emulator.url, stream.operation,
                                       params.get(stream.operation, {"MsgID": msg_id, **wide, "Page": 1}))
        assert status == 200
        yield stream, body


def test_the_reply_reader_equals_zeep_reading_on_emulator_replies(client, emulator_factory):
    """The same on the emulator's data: escapes, non-ASCII, nil items, empty and absent fields."""
    emulator = emulator_factory(lists=2, messages_per_list=6, recipients=40, subscribers_per_list=60)
    for stream, body in _emulator_bodies(emulator):
        _assert_both_readings_equal(client, stream, body)
