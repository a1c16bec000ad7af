"""Ground truth against the server: reading everything through zeep gives exactly the truth's records."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.emulator.conftest import RANGE_OPS
from tests.emulator.data import Dataset
from tests.emulator.spec import DatasetSpec
from tests.emulator.times import DOTNET_MIN, rfc3339
from tests.emulator.truth import STREAMS, truth

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "lists": ("ListID",), "messages": ("MsgID",), "message_sends": ("MsgID", "EmailAddress"),
    "message_opens": ("MsgID", "EmailAddress", "OpenDate"), "message_reads": ("MsgID", "EmailAddress", "ReadDate"),
    "message_clicks": ("MsgID", "EmailAddress", "ClickDate", "LinkUrl"),
    "message_unsubs": ("MsgID", "EmailAddress", "RemovalDate"), "message_bounces": ("MsgID", "EmailAddress", "BounceDate"),
    "subscribed_contacts": ("ListID", "ContactID"),
    "list_removals": ("ListID", "ContactID", "RemovalDate"), "list_hygiene": ("ListID", "ContactID", "HygieneDate"),
    "message_links": ("MsgID", "LinkID"), "campaigns": ("ListID", "CampaignID"), "message_analytics": ("MsgID",),
    "message_deliveries": ("MsgID",), "conversations": ("ListID", "ConversationID"),
    "profile_fields": ("ListID", "AttributeID"), "spam_complaints": ("MessageID", "EmailAddress", "AbuseDate"),
}
STREAM_OF = dict(zip(RANGE_OPS, ("message_opens", "message_clicks", "message_reads", "message_unsubs",
                                 "message_bounces")))
EVENT_DATES = {"OpenDate", "ClickDate", "ReadDate", "BounceDate", "AddDate", "HygieneDate"}
# Header fields a profile_fields record takes from its WSProfileHeader, by record field.
HEADER_FIELDS = {"ListID": "ListID", "HeaderID": "HeaderID", "HeaderName": "Name", "HeaderPosition": "Position"}


class Normaliser:
    """What a correct tap does to zeep's values (zeep reads an empty element as None, hence `blank`)."""

    def __init__(self, handle) -> None:
        self.clock = handle.data.clock
        self.form = handle.server.event_date_format

    def value(self, name, value):
        if isinstance(value, datetime):
            return None if value == DOTNET_MIN else rfc3339(self.clock.to_utc(value))
        if name in EVENT_DATES and value is not None:
            parsed = (datetime.strptime(value, "%m/%d/%Y %I:%M:%S %p") if self.form == "us"
                      else datetime.fromisoformat(value))
            return rfc3339(self.clock.to_utc(parsed))
        if name == "Vmta":
            return None if value is None else {"VmtaID": value.VmtaID, "Description": value.Description}
        if name == "GoogleTrackingDomains":
            return list(value)
        return value

    def record(self, item, **parent) -> dict:
        return {**parent, **{k: self.value(k, v) for k, v in item.__values__.items()}}

    def profile_fields(self, header) -> list[dict]:
        outer = {name: getattr(header, field) for name, field in HEADER_FIELDS.items()}
        return [{**outer, **self.record(attribute)} for attribute in header.WSProfileAttributes]


def _real(items) -> list:
    """Items of a reply, its xsi:nil slots (all fields None to zeep) left out."""
    return [x for x in items or [] if any(v is not None for v in x.__values__.values())]


def _wrapped(reply, op: str, item: str) -> list:
    result = getattr(reply, f"{op}Result")
    return _real(getattr(result, item) if result is not None else [])


def blank(record: dict) -> dict:
    return {k: (None if v == "" else v) for k, v in record.items()}


def read_everything(handle, client, start, end, lookback_days=30) -> dict[str, list[dict]]:
    """A minimal full sync over zeep: what the tap does, without its windows, state or retries."""
    norm = Normaliser(handle)
    out = {name: [] for name in STREAMS}
    bounds = dict(StartDate=start, EndDate=end)
    for cl in client.lists():
        out["lists"].append(norm.record(cl))
        for contact in client.all_pages("ReportRangeSubscribedContacts", ListID=cl.ListID, **bounds):
            out["subscribed_contacts"].append(norm.record(contact, ListID=cl.ListID))
        early = client.activity(cl.ListID, start - timedelta(days=lookback_days), end)
        for m in early:
            if m.SendDate >= norm.clock.to_local(start):
                out["messages"].append(norm.record(m))
                for r in client.all_pages("ReportMessageContactSent", MsgID=m.MsgID):
                    out["message_sends"].append({"MsgID": m.MsgID, "EmailAddress": r.EmailAddress,
                                                 "SendDate": norm.value("SendDate", m.SendDate)})
            for op, stream in STREAM_OF.items():
                for e in client.all_pages(op, MsgID=m.MsgID, **bounds):
                    out[stream].append(norm.record(e, MsgID=m.MsgID))
        _read_list_reports(client, norm, cl.ListID, bounds, out)
        sent = [m.MsgID for m in early if m.SendDate >= norm.clock.to_local(start)]
        _read_message_reports(client, norm, cl.ListID, sent, bounds, out)
    out["spam_complaints"] = [norm.record(e) for e in client.all_pages("ReportAdminContactFeedbackLoop", **bounds)]
    return out


def _read_list_reports(client, norm, list_id: int, bounds: dict, out: dict) -> None:
    for op, stream in (("ReportRangeListContactRemoval", "list_removals"),
                       ("ReportRangeListContactHygiene", "list_hygiene")):
        out[stream] += [norm.record(e, ListID=list_id) for e in client.all_pages(op, ListID=list_id, **bounds)]
    out["campaigns"] += [norm.record(c) for c in _real(client.GetCampaignCollection(ListID=list_id))]
    reply = client.ReportListConversationActivity(ListID=list_id, IncludeTerminated=True, WSException=None)
    out["conversations"] += [norm.record(c) for c in _wrapped(reply, "ReportListConversationActivity",
                                                               "WSConversationActivity")]
    reply = client.GetProfileHeaderCollection(ListID=list_id, WSException=None)
    for header in _wrapped(reply, "GetProfileHeaderCollection", "WSProfileHeader"):
        out["profile_fields"] += norm.profile_fields(header)


def _read_message_reports(client, norm, list_id: int, msg_ids: list[int], bounds: dict, out: dict) -> None:
    reply = client.ReportListMessageDelivery(ListID=list_id, IncludeTestMessages=True, WSException=None, **bounds)
    out["message_deliveries"] += [norm.record(d) for d in _wrapped(reply, "ReportListMessageDelivery",
                                                                    "WSMessageDelivery")]
    for msg_id in msg_ids:
        out["message_links"] += [norm.record(link) for link in client.all_pages("ReportMessageLinkClick", MsgID=msg_id)]
    if msg_ids:
        out["message_analytics"] += [norm.record(a) for a in
                                     _real(client.GetMessageAnalyticsInformation(MsgIDs={"int": msg_ids}))]


def assert_same(got: dict, expected: dict) -> None:
    for stream in STREAMS:
        want = sorted((json.dumps(blank(r), sort_keys=True, default=str) for r in expected[stream]))
        have = sorted((json.dumps(blank(r), sort_keys=True, default=str) for r in got[stream]))
        assert have == want, stream


@pytest.mark.parametrize("knobs", [
    dict(),
    dict(timezone="America/New_York", event_date_format="us", range_ends="end-exclusive", page_size=7),
    dict(timezone="Asia/Kolkata", event_date_format="iso", empty_result="omitted"),
])
def test_reading_everything_through_the_server_equals_truth(emulator_factory, listrak, knobs):
    handle = emulator_factory(lists=3, messages_per_list=6, recipients=40, subscribers_per_list=50,
                              **{"page_size": 25, "range_ends": "end-exclusive", **knobs})
    client = listrak(handle)
    start, end = datetime(1990, 1, 1), datetime(2100, 1, 1)
    got = read_everything(handle, client, start, end)
    expected = handle.truth(start, end, include_test_messages=True)
    assert all(expected[s] for s in STREAMS)
    assert_same(got, expected)


def test_a_window_with_lookback_equals_truth(emulator_factory, listrak):
    handle = emulator_factory(lists=2, empty_lists=0, messages_per_list=48, recipients=20, subscribers_per_list=80,
                              range_ends="end-exclusive", test_message_rate=0.0)
    start, end = datetime(2024, 1, 1), datetime(2025, 1, 1)
    got = read_everything(handle, listrak(handle), start, end, lookback_days=60)
    expected = handle.truth(start, end, lookback_days=60)
    assert_same(got, expected)
    # The lookback matters: some events come from messages sent before the window.
    inside = {r["MsgID"] for r in expected["messages"]}
    assert {r["MsgID"] for r in expected["message_opens"]} - inside


def test_truth_filters_lists_and_test_messages(emulator):
    everything = emulator.truth("1990-01-01", "2100-01-01", include_test_messages=True)
    plain = emulator.truth("1990-01-01", "2100-01-01")
    tests = {m.MsgID for m in emulator.data.all_messages() if m.is_test}
    assert tests and tests <= {r["MsgID"] for r in everything["messages"]}
    assert not tests & {r["MsgID"] for stream in STREAMS if stream.startswith("message") for r in plain[stream]}
    one = emulator.data.list_ids()[1]
    only = emulator.truth("1990-01-01", "2100-01-01", list_ids=[one])
    assert {r["ListID"] for r in only["lists"] + only["messages"] + only["subscribed_contacts"]} == {one}


@pytest.fixture(scope="module")
def big_truth():
    spec = DatasetSpec(lists=4, messages_per_list=12, recipients=150, subscribers_per_list=200,
                       timezone="America/New_York")
    return Dataset(spec), truth(spec, "1990-01-01", "2100-01-01", include_test_messages=True)


def test_keys_are_unique_and_never_empty(big_truth):
    _data, result = big_truth
    for stream, key in KEYS.items():
        keys = [tuple(r[k] for k in key) for r in result[stream]]
        assert len(set(keys)) == len(keys), stream
        assert all(v not in (None, "") for k in keys for v in k), stream


def test_designed_cases_are_present(big_truth):
    data, result = big_truth
    clicks = Counter((r["MsgID"], r["EmailAddress"], r["LinkUrl"]) for r in result["message_clicks"])
    assert max(clicks.values()) >= 2, "one contact clicks the same link twice"
    per_contact = Counter((r["MsgID"], r["EmailAddress"]) for r in result["message_opens"])
    assert max(per_contact.values()) >= 3
    assert sum(r["OpenDate"].endswith("T05:00:00.000000Z") or r["OpenDate"].endswith("T04:00:00.000000Z")
               for r in result["message_opens"]) >= 5, "events at local midnight"
    assert any(r["AdditionDate"] is None for r in result["message_unsubs"])
    year_end = [m for m in data.all_messages() if data.clock.to_local(m.SendDate).strftime("%m-%d") == "12-31"]
    assert year_end
    january = [r for r in result["message_opens"] if r["MsgID"] in {m.MsgID for m in year_end}
               and r["OpenDate"][5:7] == "01"]
    assert january
    sends = Counter(r["MsgID"] for r in result["message_sends"])
    active = {r["MsgID"] for s in STREAM_OF.values() for r in result[s]}
    assert any(msg_id not in active for msg_id in sends), "a sent message with no events"
    assert any(data.message_count(i) == 0 for i in range(data.spec.lists)), "a list with no messages"
    send_dates = {r["MsgID"]: r["SendDate"] for r in result["messages"]}
    for r in result["message_opens"]:
        delay = datetime.fromisoformat(r["OpenDate"][:-1]) - datetime.fromisoformat(send_dates[r["MsgID"]][:-1])
        assert timedelta(0) < delay < timedelta(days=47)
    digits = [r["AverageOrderValue"] for r in result["messages"]]
    assert Decimal("98765.4321098765432101") in digits


def test_designed_cases_of_the_secondary_objects(big_truth):
    data, result = big_truth
    with_messages = {data.list_ids()[i] for i in range(data.spec.lists) if data.message_count(i)}
    assert {r["ListID"] for r in result["campaigns"]} == with_messages, "a list without messages has no campaign"
    assert any(r["MessageCount"] == 0 for r in result["campaigns"]), "a campaign without messages"
    linked = {r["MsgID"] for r in result["message_links"]}
    assert {r["MsgID"] for r in result["messages"]} - linked, "a message without links"
    assert any(r["ClickCount"] == 0 for r in result["message_links"]) and any(
        r["ClickCount"] > r["ClickerCount"] for r in result["message_links"]), "links clicked never, and twice by one"
    headers = Counter((r["ListID"], r["HeaderID"]) for r in result["profile_fields"])
    assert 1 in headers.values() and max(headers.values()) >= 3, "headers of one and of several attributes"
    assert data.list_ids()[1] not in {r["ListID"] for r in result["profile_fields"]}, "a list without headers"
    assert any(r["HeaderName"] is None for r in result["profile_fields"]) and any(
        r["HeaderName"] == "" for r in result["profile_fields"])
    assert data.list_ids()[1] not in {r["ListID"] for r in result["conversations"] + result["list_hygiene"]}
    assert any(r["TerminatedCount"] for r in result["conversations"])
    assert any(r["PublishedDate"] is None for r in result["conversations"])
    removals = {(r["ListID"], r["ContactID"], r["RemovalDate"]) for r in result["list_removals"]}
    unsubs = {(data.locate_message(r["MsgID"])[0], r["ContactID"], r["RemovalDate"]) for r in result["message_unsubs"]}
    assert {(data.list_ids()[i], c, d) for i, c, d in unsubs} < removals, "message removals and admin removals"
    for stream, field in (("list_removals", "RemovalDate"), ("list_hygiene", "HygieneDate"),
                          ("spam_complaints", "AbuseDate")):
        assert any(r[field][11:19] in ("04:00:00", "05:00:00") for r in result[stream]), f"{stream} at local midnight"
    assert any(r["OldEmailAddress"] is None for r in result["list_hygiene"])
    assert len({r["MessageID"] for r in result["spam_complaints"]}) > 3


def test_deterministic_and_seeded():
    spec = DatasetSpec(lists=2, messages_per_list=3, recipients=30)
    first = truth(spec, "1990-01-01", "2100-01-01")
    assert first == truth(DatasetSpec(lists=2, messages_per_list=3, recipients=30), "1990-01-01", "2100-01-01")
    other = truth(DatasetSpec(lists=2, messages_per_list=3, recipients=30, seed=2), "1990-01-01", "2100-01-01")
    assert first["message_opens"] != other["message_opens"]


def test_large_account_starts_instantly(emulator_factory, listrak):
    started = time.monotonic()
    handle = emulator_factory(lists=20, messages_per_list=200, recipients=5000, subscribers_per_list=20000)
    assert time.monotonic() - started < 0.5
    msg_id = handle.data.msg_id(18, 199)  # list 19 is the empty one
    items = listrak(handle).ReportRangeMessageContactOpen(MsgID=msg_id, Page=1, StartDate=datetime(1990, 1, 1),
                                                          EndDate=datetime(2100, 1, 1))
    assert len(items) > 1000
    assert time.monotonic() - started < 5


def test_truth_cli_prints_exact_json_lines(emulator):
    args = emulator.cli_args() + ["--start-date", "1990-01-01T00:00:00Z", "--end-date", "2100-01-01T00:00:00Z",
                                  "--include-test-messages"]
    output = subprocess.run([sys.executable, "-m", "tests.emulator.truth", *args], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    lines = [json.loads(line, parse_float=Decimal) for line in output.splitlines()]
    expected = emulator.truth("1990-01-01", "2100-01-01", include_test_messages=True)
    assert len(lines) == sum(len(v) for v in expected.values())
    got = {s: [line["record"] for line in lines if line["stream"] == s] for s in STREAMS}
    assert got == expected
