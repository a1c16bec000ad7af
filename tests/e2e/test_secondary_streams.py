"""End to end, stream by stream: each of the nine secondary streams through the CLI equals the ground truth
on an account built for its own awkward cases (several pages, empty results in both forms, a message with no
links, more than 2,500 messages, headers of zero and several attributes, dates exactly on the range edges)."""
from collections import Counter

import pytest

from tap_listrak.streams import STREAMS_BY_NAME
from tests.e2e.tap_runner import assert_matches_truth, canonical, catalog_selecting, run_tap, tap_config
from tests.emulator.secondary import Secondary

START = "2024-01-01T00:00:00Z"
SMALL = dict(lists=3, messages_per_list=6, recipients=40, subscribers_per_list=60, page_size=25)
NEW = ["list_removals", "list_hygiene", "message_links", "campaigns", "message_analytics", "message_deliveries",
       "conversations", "profile_fields", "spam_complaints"]

pytestmark = pytest.mark.slow


def _sync(emulator, tmp_path, streams, start=START, **settings):
    run = run_tap(tmp_path, tap_config(emulator, start, **settings), catalog=catalog_selecting(streams))
    truth = emulator.truth(start, end_date=settings.get("end_date"), list_ids=settings.get("list_ids"),
                           include_test_messages=settings.get("include_test_messages", False))
    assert_matches_truth(run, truth, streams)
    assert run.streams <= set(streams)
    return run, truth


@pytest.mark.parametrize("form", ["element", "omitted"])
def test_every_new_stream_with_empty_results_in_both_forms(emulator_factory, tmp_path, form):
    """A list without messages (no campaigns, no deliveries), one without headers, hygiene or conversations,
    a message without links, and the empty page after the last of every paged report."""
    emulator = emulator_factory(**SMALL, empty_result=form)
    run, truth = _sync(emulator, tmp_path, NEW, start="2022-01-01T00:00:00Z")
    assert all(truth[name] for name in NEW)
    lists = emulator.data.list_ids()
    assert lists[2] not in {r["ListID"] for r in run.records("campaigns") + run.records("message_deliveries")}
    assert lists[1] not in {r["ListID"] for name in ("profile_fields", "list_hygiene", "conversations")
                            for r in run.records(name)}
    linked = {r["MsgID"] for r in run.records("message_links")}
    assert {r["MsgID"] for r in run.records("message_analytics")} - linked, "a message without links"


def test_paged_reports_across_several_pages(emulator_factory, tmp_path):
    emulator = emulator_factory(**SMALL, page_sizes=("ReportRangeListContactRemoval=2",
                                                     "ReportRangeListContactHygiene=2", "ReportMessageLinkClick=1",
                                                     "ReportAdminContactFeedbackLoop=2"), page_jitter=1)
    paged = ["list_removals", "list_hygiene", "message_links", "spam_complaints"]
    _sync(emulator, tmp_path, paged)
    requests = emulator.stats()["requests"]
    for name in paged:
        assert requests[STREAMS_BY_NAME[name].operation] > 3, name


def test_message_analytics_of_more_than_2500_messages_in_batches(emulator_factory, tmp_path):
    emulator = emulator_factory(lists=2, messages_per_list=2600, recipients=3, subscribers_per_list=3,
                                first_date="2024-01-01", last_date="2024-12-31", test_message_rate=0.0)
    run, truth = _sync(emulator, tmp_path, ["message_analytics"])
    assert len(truth["message_analytics"]) > 2500
    assert emulator.stats()["requests"]["GetMessageAnalyticsInformation"] == 2  # the server refuses more than 2,500
    assert emulator.stats()["soap_faults"] == {}


def test_profile_fields_one_record_per_attribute(emulator_factory, tmp_path):
    emulator = emulator_factory(**SMALL)
    run, truth = _sync(emulator, tmp_path, ["profile_fields"])
    per_header = Counter((r["ListID"], r["HeaderID"]) for r in run.records("profile_fields"))
    assert sorted(per_header.values()) == [1, 2, 3]  # list 0: headers of 3, 0 and 1 attributes; list 2: one of 2
    headers = {h.HeaderID for h in Secondary(emulator.data).profile_headers(0)}
    assert headers - {header for _, header in per_header}, "a header without attributes yields no record"


def test_conversations_include_the_terminated_ones(emulator_factory, tmp_path):
    emulator = emulator_factory(**SMALL)
    run, _ = _sync(emulator, tmp_path, ["conversations"])
    assert any(r["TerminatedCount"] for r in run.records("conversations"))
    assert any(r["PublishedDate"] is None for r in run.records("conversations"))


def test_deliveries_by_window_with_test_messages_and_spam_complaints_kept_to_list_ids(emulator_factory, tmp_path):
    emulator = emulator_factory(**SMALL, test_message_rate=0.5)
    first = emulator.data.list_ids()[0]
    run, truth = _sync(emulator, tmp_path, ["message_deliveries", "spam_complaints"], interval_days=30,
                       include_test_messages=True, list_ids=[first])
    assert {r["ListID"] for r in run.records("spam_complaints")} == {first}
    assert emulator.stats()["requests"]["ReportListMessageDelivery"] > 12  # one per list and 30-day window


def _midnights(truth, fields) -> list[str]:
    return sorted({r[field] for name, field in fields.items() for r in truth[name]
                   if (r[field] or "").endswith("T00:00:00.000000Z")})


@pytest.mark.parametrize("range_ends", ["inclusive", "exclusive"])
def test_dated_streams_exactly_on_the_range_edges(emulator_factory, tmp_path, range_ends):
    """start_date and end_date are midnights on which removals, hygiene or complaints happened: each is in or out
    exactly once, whichever ends the server includes."""
    emulator = emulator_factory(**SMALL, range_ends=range_ends, unsub_rate=0.2)
    dated = {"list_removals": "RemovalDate", "list_hygiene": "HygieneDate", "spam_complaints": "AbuseDate"}
    edges = _midnights(emulator.truth("2020-01-01T00:00:00Z"), dated)
    start = edges[len(edges) // 3]
    end = next(day for day in edges if day > start and day[:7] > start[:7])
    run, truth = _sync(emulator, tmp_path, list(dated), start=start, end_date=end)
    assert any(r[field] == start for name, field in dated.items() for r in truth[name])
    assert not any(r[field] == end for name, field in dated.items() for r in run.records(name))


def test_records_are_equal_under_both_element_orders(emulator_factory, tmp_path):
    """The types whose element order no source gives are read the same in the WSDL's order and reversed."""
    records = {}
    for order in ("wsdl", "reversed"):
        emulator = emulator_factory(**SMALL, element_order=order)
        (tmp_path / order).mkdir()
        run, _ = _sync(emulator, tmp_path / order, NEW)
        records[order] = {name: canonical(run.records(name)) for name in NEW}
    assert records["wsdl"] == records["reversed"]
    assert all(records["wsdl"][name] for name in NEW)
