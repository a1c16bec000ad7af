"""`tap-listrak --probe` through the installed executable, against one emulator per variant of
Listrak's undocumented behaviour: the report names the variant, stays within its request budget,
exits 0, 1 or 2 as documented, and holds none of the account's values."""
import subprocess

import pytest

from tests.demo import DATASET as DEMO_DATASET
from tests.e2e.probe_runner import Probed, ProbedVariants, run_probe
from tests.e2e.tap_runner import TAP, _write, run_tap, tap_config
from tests.emulator.harness import EmulatorHandle

START = "2024-01-01T00:00:00Z"
SMALL = dict(lists=3, messages_per_list=6, recipients=40, subscribers_per_list=60)
USER, PASSWORD = "Probe-User-4b7e", "Pr0be-Pass-81d2"  # distinctive, so a leak is findable
# One emulator per variant, started when a test first needs it.
VARIANTS = {
    "pages_of_7": dict(SMALL, page_size=7),
    "pages_of_1000": dict(lists=2, messages_per_list=6, recipients=40, subscribers_per_list=1200, page_size=1000),
    "exclusive_ends": dict(SMALL, range_ends="exclusive"),
    "us_dates_omitted_result": dict(SMALL, event_date_format="us", empty_result="omitted"),
    "capped_index": dict(SMALL, messages_per_list=12, activity_cap=3),
    "page_ignored": dict(SMALL, ignore_page=True),
    "no_test_sends": dict(SMALL, test_message_rate=0.0),
    "demo": dict(DEMO_DATASET),
}


def _probe(tmp_path, emulator, **settings) -> subprocess.CompletedProcess:
    return run_probe(tmp_path, tap_config(emulator, START, **{"username": USER, "password": PASSWORD, **settings}))


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    """probed(variant) -> Probed: the probe's run against that variant's emulator, run once per module."""
    variants = ProbedVariants(tmp_path_factory, VARIANTS,
                              lambda knobs: EmulatorHandle(username=USER, password=PASSWORD, **knobs), _probe)
    yield variants
    variants.stop()


def _assert_within_budget(run: Probed):
    # The count the report prints is the count the account saw, and it is within the budget.
    assert run.report["requests"] == run.emulator.stats()["total_requests"] <= 60


def test_the_report_is_one_json_object_of_the_documented_shape(probed):
    run = probed("pages_of_7")
    assert run.returncode == 0, run.stderr[-2000:]
    report = run.report
    assert list(report)[:6] == ["api", "tap_version", "probed_at", "requests", "seconds", "access"]
    assert report["api"] == "soap" and report["probed_at"].endswith("Z")
    assert report["access"] == {"credentials": "accepted", "lists_visible": 3, "lists_probed": 3,
                                "analytics_access": True}
    assert list(report["observations"])[:7] == ["page_size", "range_end", "date_format", "empty_result",
                                                "message_index_cap", "test_messages", "latency_ms"]
    for name, found in report["observations"].items():
        assert set(found) >= {"value", "evidence"} and found["evidence"], name
    assert {a["name"] for a in report["assumptions"]} == {"page_size", "empty_result", "range_ends", "date_forms",
                                                          "listrak_timezone", "message_index_cap", "test_messages"}
    for item in report["assumptions"]:
        assert set(item) == {"name", "decision", "holds", "setting", "advice"} and item["advice"]
    latency = run.observed("latency_ms")
    assert 0 < latency["median"] <= latency["max"]
    # Human lines on stderr, the summary among them; no METRIC line for each request.
    assert "Probe of the Listrak account" in run.stderr and "METRIC" not in run.stderr
    _assert_within_budget(run)


@pytest.mark.slow
@pytest.mark.parametrize("variant,observation,value", [
    ("pages_of_7", "page_size", 7),
    ("pages_of_1000", "page_size", 1000),
    ("pages_of_7", "range_end", "inclusive"),
    ("pages_of_7", "range_start", "inclusive"),
    ("exclusive_ends", "range_end", "exclusive"),
    ("exclusive_ends", "range_start", "exclusive"),
    ("pages_of_7", "date_format", "iso"),
    ("us_dates_omitted_result", "date_format", "us"),
    ("pages_of_7", "empty_result", "element"),
    ("us_dates_omitted_result", "empty_result", "omitted"),
    ("pages_of_7", "message_index_cap", None),
    ("pages_of_7", "test_messages", True),
    ("no_test_sends", "test_messages", False),
    ("demo", "page_size", None),  # 400 contacts a list: one page of the default 2,500
])
def test_each_variant_is_named_by_the_report(probed, variant, observation, value):
    run = probed(variant)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.observed(observation) == value, run.report["observations"][observation]
    assert all(a["holds"] is not False for a in run.report["assumptions"])
    _assert_within_budget(run)


@pytest.mark.slow
@pytest.mark.parametrize("variant,page", [("pages_of_7", 2), ("pages_of_1000", 3), ("demo", 2)])
def test_the_page_after_the_last_is_asked_and_empty(probed, variant, page):
    # pages_of_7: every list fills page 1 and 2, so the seconds around one contact make a short report.
    check = probed(variant).assumption("page_size")
    assert check["holds"] is True and f"page {page}, after the last one" in check["advice"]


@pytest.mark.slow
def test_us_dates_are_sampled_as_they_came(probed):
    samples = probed("us_dates_omitted_result").report["observations"]["date_format"]["samples"]
    assert samples and all(s.endswith(("AM", "PM")) and s.count("/") == 2 for s in samples)


@pytest.mark.slow
def test_a_capped_message_index_exits_1_and_names_interval_days(probed):
    run = probed("capped_index")
    assert run.returncode == 1, run.stderr[-2000:]
    assert run.observed("message_index_cap") == 3
    cap = run.assumption("message_index_cap")
    assert cap["holds"] is False and cap["setting"] == "interval_days"
    assert "DOES NOT HOLD message_index_cap" in run.stderr and "[setting: interval_days]" in run.stderr
    _assert_within_budget(run)


@pytest.mark.slow
def test_an_endpoint_that_ignores_page_exits_1(probed):
    run = probed("page_ignored")
    assert run.returncode == 1
    assert run.assumption("page_size")["holds"] is False
    _assert_within_budget(run)


@pytest.mark.slow
def test_the_demo_account_report_holds_none_of_its_values(probed):
    run = probed("demo")
    assert run.returncode == 0, run.stderr[-2000:]
    _assert_within_budget(run)
    data = run.emulator.data
    served = {USER, PASSWORD}
    for contact_list in data.lists():
        served |= {contact_list.ListName, contact_list.FromName, contact_list.FromEmail, contact_list.DomainAliasLink,
                   contact_list.DomainAliasEmail, *contact_list.GoogleTrackingDomains}
        for contact in data.subscribers(contact_list.index):
            served |= {contact.contact_id, contact.email}
        for message in data.messages(contact_list.index):
            served |= {message.Subject, *(url for url, _ in message.links),
                       *(description for _, description in message.links)}
            for contact in data.recipients(contact_list.index, message.index):
                served |= {contact.contact_id, contact.email}
    served = {value for value in served if value and len(value) > 3}
    assert len(served) > 1000
    text = run.stdout + run.stderr
    leaked = [value for value in served if value in text]
    assert not leaked, leaked[:5]


@pytest.mark.parametrize("what,knobs,settings,fix", [
    ("wrong password", {}, {"password": "not-the-password"}, "InvalidLogonAttempt"),
    ("IP not authorized", {"prohibited_ip": True}, {}, "SOAP API IP Authorization"),
])
def test_refusals_exit_2_with_the_line_discovery_prints(emulator_factory, tmp_path, what, knobs, settings, fix):
    emulator = emulator_factory(**SMALL, username=USER, password=PASSWORD, **knobs)
    done = _probe(tmp_path, emulator, **settings)
    assert done.returncode == 2 and done.stdout == ""
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("CRITICAL")]
    assert fix in line
    discovery = run_tap(tmp_path, tap_config(emulator, START, **{"username": USER, "password": PASSWORD, **settings}),
                        discover=True)
    assert discovery.returncode == 1
    assert [line for line in discovery.stderr.splitlines() if line.startswith("CRITICAL")] == [line]
    assert emulator.stats()["total_requests"] == 2  # one each: the probe stops at the first refusal
    assert USER not in done.stderr and PASSWORD not in done.stderr


def test_a_user_without_analytics_access_gets_a_report_and_exit_2(emulator_factory, tmp_path):
    emulator = emulator_factory(**SMALL, username=USER, password=PASSWORD, no_analytics_access=True)
    run = Probed(emulator, _probe(tmp_path, emulator))
    assert run.returncode == 2
    assert run.report["access"] == {"credentials": "accepted", "lists_visible": 3, "lists_probed": 3,
                                    "analytics_access": False}
    assert all(found["value"] is None for name, found in run.report["observations"].items() if name != "latency_ms")
    assert all(a["holds"] is None for a in run.report["assumptions"])
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("CRITICAL")]
    assert "Analytics Access" in line
    # What a sync prints for that user: the same error (a sync exits 1).
    sync = run_tap(tmp_path, tap_config(emulator, START, username=USER, password=PASSWORD))
    assert sync.returncode == 1
    (sync_line,) = [line for line in sync.stderr.splitlines() if line.startswith("CRITICAL")]
    assert sync_line.endswith(line.partition(" tap_listrak ")[2])


def test_no_list_to_probe_exits_2(emulator_factory, tmp_path):
    emulator = emulator_factory(**SMALL, username=USER, password=PASSWORD)
    run = Probed(emulator, _probe(tmp_path, emulator, list_ids=[1]))
    assert run.returncode == 2
    assert run.report["access"]["lists_visible"] == 3 and run.report["access"]["lists_probed"] == 0
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("CRITICAL")]
    assert "no list of list_ids" in line
    assert emulator.stats()["total_requests"] == run.report["requests"] == 1


@pytest.mark.parametrize("extra", [["--discover"], ["--catalog", "catalog.json"], ["--properties", "catalog.json"],
                                   ["--state", "state.json"]])
def test_probe_is_a_command_of_its_own(tmp_path, extra):
    config = _write(tmp_path / "config.json", {"username": "u", "password": "p", "start_date": START})
    done = subprocess.run([str(TAP), "--config", config, "--probe", *extra], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert "--probe" in done.stderr


def test_a_bad_config_exits_2_before_any_request(tmp_path):
    config = _write(tmp_path / "config.json", {"username": "u", "password": "p"})
    done = subprocess.run([str(TAP), "--config", config, "--probe"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert "start_date" in done.stderr
