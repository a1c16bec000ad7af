"""`tap-listrak --probe` with REST credentials, through the installed executable, against one REST
emulator per variant of the REST API's undocumented behaviour: the report names the variant, stays
within 60 requests (token grants included), exits 0, 1 or 2 as documented, and holds none of the
values the account served."""
from __future__ import annotations

import datetime as dt
import subprocess

import pytest

from tap_listrak.streams import REST_STREAMS
from tests.conftest import SMALL_REST_DATASET
from tests.demo import DATASET as DEMO_DATASET
from tests.e2e.probe_runner import Probed, ProbedVariants, run_probe
from tests.e2e.tap_runner import run_tap
from tests.rest_emulator.harness import RestEmulatorHandle

CLIENT_ID, CLIENT_SECRET = "Probe-Client-5c1a", "Probe-Secret-93fe"  # distinctive, so a leak is findable
NOW = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
# An account whose newest activity reaches the probe's clock (sends until after today, served as of now).
RECENT = dict(first_date=(NOW - dt.timedelta(days=60)).date(), last_date=(NOW + dt.timedelta(days=2)).date(),
              as_of=NOW)
VARIANTS = {
    "default": dict(SMALL_REST_DATASET),
    "pages_of_20": dict(SMALL_REST_DATASET, max_count=20),
    "pages_of_20_refusing_more": dict(SMALL_REST_DATASET, max_count=20, count_over_max="error"),
    "refusing_above_5000": dict(SMALL_REST_DATASET, count_over_max="error"),
    "empty_is_404": dict(SMALL_REST_DATASET, empty_collection="not-found"),
    "whole_seconds": dict(SMALL_REST_DATASET, date_form="seconds"),
    "milliseconds": dict(SMALL_REST_DATASET, date_form="milliseconds"),
    "exclusive_ends": dict(SMALL_REST_DATASET, range_ends="exclusive"),
    "request_dates_in_utc": dict(SMALL_REST_DATASET, request_zone="utc"),
    "short_tokens": dict(SMALL_REST_DATASET, token_ttl_seconds=4),
    "trailing_empty_page": dict(SMALL_REST_DATASET, max_count=20, trailing_empty_page=True),
    "cursor_bound_to_query": dict(SMALL_REST_DATASET, cursor_checks_params=True),
    "tokyo_account": dict(SMALL_REST_DATASET, timezone="Asia/Tokyo", **RECENT),
    "eastern_account": dict(SMALL_REST_DATASET, **RECENT),
    "throttled": dict(SMALL_REST_DATASET, rate_limit="8/1", throttle_retry_after=1),
    "demo": dict(DEMO_DATASET),
}


def rest_config(emulator, **settings) -> dict:
    return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "start_date": "2000-01-01T00:00:00Z",
            "rest_base_url": emulator.base_url, "rest_token_url": emulator.token_url, "request_timeout": 10,
            "backoff_base_seconds": 0.05, **settings}


def _probe(tmp_path, emulator, **settings) -> subprocess.CompletedProcess:
    return run_probe(tmp_path, rest_config(emulator, **settings))


def _emulator(**knobs) -> RestEmulatorHandle:
    return RestEmulatorHandle(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **knobs)


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    """probed(variant) -> Probed: the probe's run against that variant's emulator, run once per module."""
    variants = ProbedVariants(tmp_path_factory, VARIANTS, lambda knobs: _emulator(**knobs), _probe)
    yield variants
    variants.stop()


def _assert_within_budget(run: Probed):
    # The count the report prints is the count the account saw (token grants included), within the budget.
    assert run.report["requests"] == run.emulator.stats()["total_requests"] <= 60


def test_the_report_is_one_json_object_of_the_soap_probes_shape(probed):
    run = probed("default")
    assert run.returncode == 0, run.stderr[-2000:]
    report = run.report
    assert list(report)[:6] == ["api", "tap_version", "probed_at", "requests", "seconds", "access"]
    assert report["api"] == "rest" and report["probed_at"].endswith("Z") and report["error"] is None
    assert report["access"] == {"credentials": "accepted", "lists_visible": 3, "lists_probed": 3,
                                "refused_route": None}
    assert list(report["observations"]) == ["token_lifetime", "page_size", "count_over_max", "cursor", "date_format",
                                            "timezone", "empty_result", "last_page", "range_end", "range_start",
                                            "rate_limit", "latency_ms"]
    for name, found in report["observations"].items():
        assert set(found) >= {"value", "evidence"} and found["evidence"], name
    assert {a["name"] for a in report["assumptions"]} == {"token_lifetime", "page_size", "cursor", "date_forms",
                                                          "listrak_timezone", "empty_result", "range_ends",
                                                          "rate_limit"}
    for item in report["assumptions"]:
        assert set(item) == {"name", "decision", "holds", "setting", "advice"} and item["advice"]
        assert item["holds"] is not False
    # The default emulator answers as the fact sheet's captures and the tap's decisions assume.
    assert run.observed("token_lifetime") == {"expires_in": 3599, "older_token_after_new_grant": "accepted"}
    assert run.observed("date_format") == "trimmed" and run.report["observations"]["date_format"]["offset"] is None
    assert run.observed("empty_result") == "empty" and run.observed("last_page") == "cursor null"
    assert run.observed("range_end") == run.observed("range_start") == "inclusive"
    assert run.observed("cursor")["next_page"] == "a position" and run.observed("cursor")["repeated"] is False
    assert run.observed("rate_limit") is None
    latency = run.observed("latency_ms")
    assert 0 < latency["median"] <= latency["max"]
    assert "Probe of the Listrak account (Email REST API v1)" in run.stderr and "METRIC" not in run.stderr
    _assert_within_budget(run)


@pytest.mark.slow
@pytest.mark.parametrize("variant,observation,value", [
    ("pages_of_20", "page_size", 20),
    ("pages_of_20", "count_over_max", "clamped"),
    ("refusing_above_5000", "count_over_max", "refused"),
    ("refusing_above_5000", "page_size", None),
    ("whole_seconds", "date_format", "seconds"),
    ("milliseconds", "date_format", "fixed-3"),
    ("exclusive_ends", "range_end", "exclusive"),
    ("exclusive_ends", "range_start", "exclusive"),
    ("request_dates_in_utc", "range_end", None),
    ("trailing_empty_page", "last_page", "trailing empty page"),
    ("trailing_empty_page", "page_size", 20),
    ("cursor_bound_to_query", "cursor", {"length": 19, "characters": "url-safe token", "repeated": False,
                                         "next_page": "bound to its query"}),
])
def test_each_variant_is_named_by_the_report(probed, variant, observation, value):
    run = probed(variant)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.observed(observation) == value, run.report["observations"][observation]
    assert all(a["holds"] is not False for a in run.report["assumptions"])
    _assert_within_budget(run)


@pytest.mark.slow
def test_a_short_token_lifetime_is_reported_as_issued(probed):
    run = probed("short_tokens")
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.observed("token_lifetime")["expires_in"] == 4
    check = run.assumption("token_lifetime")
    assert check["holds"] is True and "halfway through the 4 s" in check["advice"]
    _assert_within_budget(run)


@pytest.mark.slow
def test_request_dates_read_in_another_zone_are_covered_by_the_days_margin(probed):
    check = probed("request_dates_in_utc").assumption("range_ends")
    assert check["holds"] is True and "within a day" in check["advice"]


@pytest.mark.slow
def test_a_page_size_refusing_count_5000_exits_1(probed):
    run = probed("pages_of_20_refusing_more")
    assert run.returncode == 1, run.stderr[-2000:]
    assert run.observed("page_size") == 20 and run.observed("count_over_max") == "refused"
    check = run.assumption("page_size")
    assert check["holds"] is False and "open an issue" in check["setting"]
    assert "DOES NOT HOLD page_size" in run.stderr
    _assert_within_budget(run)


@pytest.mark.slow
def test_an_empty_collection_answered_404_exits_1(probed):
    run = probed("empty_is_404")
    assert run.returncode == 1, run.stderr[-2000:]
    assert run.observed("empty_result") == "not-found"
    assert run.assumption("empty_result")["holds"] is False
    _assert_within_budget(run)


@pytest.mark.slow
def test_dates_of_an_account_east_of_listrak_timezone_exit_1_naming_the_setting(probed):
    run = probed("tokyo_account")
    assert run.returncode == 1, run.stderr[-2000:]
    assert run.report["observations"]["timezone"]["latest_ahead_minutes"] > 60
    check = run.assumption("listrak_timezone")
    assert check["holds"] is False and check["setting"] == "listrak_timezone"
    assert "[setting: listrak_timezone]" in run.stderr
    # The same account in the zone the tap reads REST dates in by default: nothing in the future.
    eastern = probed("eastern_account")
    assert eastern.returncode == 0 and eastern.assumption("listrak_timezone")["holds"] is not False
    assert eastern.report["observations"]["timezone"]["latest_ahead_minutes"] <= 10
    _assert_within_budget(run)


@pytest.mark.slow
def test_throttling_met_during_the_probe_is_reported_with_its_retry_after(probed):
    run = probed("throttled")
    assert run.returncode == 0, run.stderr[-2000:]
    seen = run.observed("rate_limit")
    assert seen["throttled"] >= 1 and seen["retry_after"] == ["1"]
    assert run.assumption("rate_limit")["holds"] is True
    _assert_within_budget(run)


def _served_values(emulator) -> set[str]:
    """Every text the account served (every field of every item of every route), but dates and the
    enumerations' words, with the credentials and every token issued."""
    served = {CLIENT_ID, CLIENT_SECRET, *emulator._emulator.tokens}

    def walk(value):
        if isinstance(value, dict):
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)
        elif isinstance(value, str) and len(value) > 3 and not value[:4].isdigit():
            served.add(value)

    for entries in emulator.truth().values():
        for entry in entries:
            walk(entry["item"])
    # A value that is part of a field name the report may name (a profile field called "Date": createDate).
    names = [name for stream in REST_STREAMS for name in stream.schema["properties"]]
    return {value for value in served if not any(value in name for name in names)}


def test_the_report_holds_none_of_the_values_the_account_served(probed):
    run = probed("default")
    assert run.returncode == 0
    served = _served_values(run.emulator)
    assert len(served) > 500 and any("@" in value for value in served) and any("://" in v for v in served)
    text = run.stdout + run.stderr
    leaked = [value for value in served if value in text]
    assert not leaked, leaked[:5]


@pytest.mark.slow
def test_the_demo_account_report_holds_none_of_its_values(probed):
    run = probed("demo")
    assert run.returncode == 0, run.stderr[-2000:]
    _assert_within_budget(run)
    served = _served_values(run.emulator)
    text = run.stdout + run.stderr
    assert not [value for value in served if value in text]


def _discovery_line(tmp_path, emulator, **settings) -> list[str]:
    done = run_tap(tmp_path, rest_config(emulator, **settings), discover=True)
    assert done.returncode == 1
    return [line for line in done.stderr.splitlines() if line.startswith("CRITICAL")]


@pytest.mark.parametrize("what,knobs,settings,fix,requests", [
    ("invalid client credentials", {}, {"client_secret": "not-the-secret"}, "refused the client credentials", 1),
    ("IP not allowed", {"ip_not_allowed": True}, {}, "IP address is allowed", 1),
    ("no List access area", {"scopes": ("Contact", "Message", "Report")}, {}, "access areas", 4),
    ("no List access area, 403", {"scopes": ("Contact", "Message", "Report"), "denied_status": 403}, {},
     "access areas", 2),
])
def test_refusals_exit_2_with_the_line_discovery_prints(tmp_path, rest_emulator_factory, what, knobs, settings, fix,
                                                        requests):
    emulator = rest_emulator_factory(**SMALL_REST_DATASET, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **knobs)
    done = Probed(emulator, _probe(tmp_path, emulator, **settings))
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.critical
    assert fix in line
    assert emulator.stats()["total_requests"] == requests  # the probe stops at the first refusal
    assert _discovery_line(tmp_path, emulator, **settings) == [line]
    assert CLIENT_SECRET not in done.stderr and CLIENT_ID not in done.stderr


def test_a_route_refused_for_its_access_area_gives_a_report_and_exit_2(tmp_path, rest_emulator_factory):
    # Without Report, message activity is refused: the rest is measured, and the probe exits 2 with the
    # line a sync of message_activity prints.
    emulator = rest_emulator_factory(**SMALL_REST_DATASET, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                     scopes=("List", "Contact", "Message"))
    run = Probed(emulator, _probe(tmp_path, emulator))
    assert run.returncode == 2
    assert run.report["access"]["refused_route"] == "List/{listId}/Message/{messageId}/Activity"
    assert run.report["error"] == "AuthenticationError"
    (line,) = run.critical
    assert "access areas" in line and "Activity" in line
    assert run.observed("cursor") is not None and run.observed("range_end") == "inclusive"
    assert run.assumption("token_lifetime")["holds"] is True  # the refusal's 401s are not a token's
    _assert_within_budget(run)


def test_no_list_to_probe_exits_2(tmp_path, rest_emulator_factory):
    emulator = rest_emulator_factory(**SMALL_REST_DATASET, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    run = Probed(emulator, _probe(tmp_path, emulator, list_ids=[1]))
    assert run.returncode == 2
    assert run.report["access"]["lists_visible"] == 3 and run.report["access"]["lists_probed"] == 0
    (line,) = run.critical
    assert "no list of list_ids" in line
    assert emulator.stats()["total_requests"] == run.report["requests"] == 2  # a token and the lists
