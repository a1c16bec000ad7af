"""The probe's measurements: the pure rules each one decides by, and the probe run in-process against
the emulator where a rule needs an account (a clock of its own, a budget smaller than the default)."""
import datetime as dt

import pytest

from tap_listrak import probe
from tap_listrak.client import ListrakClient
from tap_listrak.config import parse_config
from tests.e2e.tap_runner import tap_config

D = dt.datetime


@pytest.mark.parametrize("text,form", [
    ("2024-01-05T13:04:05", "iso"), ("2024-01-05T13:04:05.1234567", "iso"), ("2024-01-05T13:04:05Z", "iso"),
    ("2024-01-05T13:04:05-05:00", "iso"), ("2024-01-05", "iso"), ("1/5/2024 1:04:05 PM", "us"),
    ("12/31/2024 11:59 pm", "us"), ("1/5/2024", "us"), ("05.01.2024 13:04", "other"), ("Jan 5 2024", "other"),
    ("", "other"),
])
def test_date_forms(text, form):
    assert probe.date_form(text) == form


def test_a_sample_that_is_not_a_date_is_shown_by_its_length_only():
    assert probe.safe_sample("1/5/2024 1:04:05 PM") == "1/5/2024 1:04:05 PM"
    assert probe.safe_sample("2024-01-05T13:04:05.12") == "2024-01-05T13:04:05.12"
    assert probe.safe_sample("someone@example.com") == "<not a date: 19 characters>"
    assert probe.safe_sample("Weekly deals 2024") == "<not a date: 17 characters>"
    assert probe.safe_sample(None) == "<null>"


def test_reply_dates_are_read_and_no_date_is_none():
    assert probe.parse_reply_date("2024-01-05T13:04:05.25") == D(2024, 1, 5, 13, 4, 5, 250000)
    assert probe.parse_reply_date("0001-01-01T00:00:00") is None
    assert probe.parse_reply_date("9999-12-31T23:59:59.9999999") is None
    assert probe.parse_reply_date("1/5/2024 1:04:05 PM") is None  # not a dateTime: never sent back
    assert probe.parse_reply_date("") is None and probe.parse_reply_date(None) is None


def test_only_dates_a_request_can_name_exactly_are_sent_back():
    assert probe.exact("2024-01-05T13:04:05") and probe.exact("2024-01-05T13:04:05.123456")
    assert probe.exact("2024-01-05T13:04:05.1234560")  # a trailing zero is no precision
    assert not probe.exact("2024-01-05T13:04:05.1234567")


def test_the_split_point_lies_between_two_dates_nearest_the_middle():
    dates = [D(2024, 1, 1), D(2024, 2, 1), D(2024, 3, 1), D(2024, 4, 1)]
    assert probe.split_point(dates) == D(2024, 2, 15, 12)
    # Dates at one instant cannot be split there: the nearest gap is used, and none when there is none.
    assert probe.split_point([D(2024, 1, 1)] * 3 + [D(2024, 1, 3)]) == D(2024, 1, 2)
    assert probe.split_point([D(2024, 1, 1)] * 4) is None


def test_the_densest_window_starts_between_two_dates():
    dates = [D(2020, 1, 1), D(2023, 1, 1), D(2023, 2, 1), D(2023, 3, 1), D(2025, 1, 1)]
    low, high, inside = probe.densest_window(dates, dt.timedelta(days=365))
    assert inside == 3 and D(2020, 1, 1) < low < D(2023, 1, 1) and high == low + dt.timedelta(days=365)
    assert probe.densest_window([], dt.timedelta(days=1)) is None


def test_a_cap_shows_as_halves_that_hold_more_than_the_whole():
    assert probe.cap_verdict(5, (3, 5)) == 5
    assert probe.cap_verdict(8, (4, 4)) is None
    assert probe.cap_verdict(8, (3, 4)) is None  # fewer: not a cap (reported apart)


def _report(*holds):
    return {"requests": 3, "seconds": 0.1, "access": {"lists_visible": 1, "analytics_access": True},
            "observations": {"page_size": {"value": 7, "evidence": "e"},
                             "latency_ms": {"value": {"median": 1.0, "max": 2.0}, "evidence": "e"}},
            "assumptions": [{"name": f"a{i}", "holds": h, "setting": "interval_days", "advice": "x"}
                            for i, h in enumerate(holds)]}


def test_exit_status():
    assert probe.exit_code(_report(True, None, True), None) == 0
    assert probe.exit_code(_report(None, None), None) == 0
    assert probe.exit_code(_report(True, False, None), None) == 1
    assert probe.exit_code(_report(True), RuntimeError("refused")) == 2


def test_the_summary_names_the_setting_of_what_does_not_hold():
    lines = probe.summary_lines(_report(True, False))
    assert lines[0].startswith("Probe of the Listrak account: 1 lists visible")
    assert lines[-1] == "Requests: 3 (at most 60) in 0.1 s"
    assert any("DOES NOT HOLD" in line and "[setting: interval_days]" in line for line in lines)
    assert any("median 1.0 ms, max 2.0 ms" in line for line in lines)


# -- in-process against the emulator -----------------------------------------------------------------
def _probe(emulator, now=None, budget=probe.MAX_REQUESTS, **settings):
    config = parse_config(tap_config(emulator, "2024-01-01T00:00:00Z", **settings))
    report, failure = probe.probe(ListrakClient(probe.probe_config(config)), config, now, budget)
    return report, failure


def test_the_budget_bounds_the_requests_and_what_it_cut_is_null(emulator_factory):
    emulator = emulator_factory(lists=3, messages_per_list=6, recipients=40, subscribers_per_list=60)
    report, failure = _probe(emulator, budget=12)
    assert failure is None
    assert report["requests"] == emulator.stats()["total_requests"] <= 12
    cut = [name for name, found in report["observations"].items() if "budget of 12" in found["evidence"]]
    assert cut  # the later measurements were not made, and say why
    assert all(report["observations"][name]["value"] is None for name in cut)


def test_dates_ahead_of_the_clock_say_listrak_timezone_is_wrong(emulator_factory):
    # An account in UTC+14 whose clock stands at one contact's subscription: read as UTC, that
    # contact's date lies 14 hours after the probe ran.
    emulator = emulator_factory(lists=1, empty_lists=0, messages_per_list=4, recipients=20, subscribers_per_list=40,
                                timezone="Pacific/Kiritimati")
    latest = emulator.data.subscribers(0)[20].addition  # naive UTC
    emulator.set_clock(as_of=latest)
    now = latest.replace(tzinfo=dt.timezone.utc) + dt.timedelta(minutes=1)
    report, _ = _probe(emulator, now)
    zone = next(a for a in report["assumptions"] if a["name"] == "listrak_timezone")
    assert zone["holds"] is False and zone["setting"] == "listrak_timezone"
    assert "in the future" in zone["advice"]
    assert probe.exit_code(report, None) == 1
    # With the account's zone set, the same dates are in the past.
    report, _ = _probe(emulator, now, listrak_timezone="Pacific/Kiritimati")
    zone = next(a for a in report["assumptions"] if a["name"] == "listrak_timezone")
    assert zone["holds"] is None



def test_the_command_line_states_the_probes_budget():
    from tap_listrak import cli
    assert cli.PROBE_REQUESTS == probe.MAX_REQUESTS
