"""A green run is a complete run, whatever Listrak answers: through the CLI, against the emulator
serving each answer the facts leave open, the tap returns exactly the ground truth or says why not."""
import dataclasses
import json
import re
import threading
import time

import pytest

from tap_listrak.streams import STREAMS
from tests.e2e.tap_runner import assert_matches_truth, catalog_selecting, run_tap, tap_config

ALL = [stream.name for stream in STREAMS]
START = "2024-01-01T00:00:00Z"
SMALL = dict(lists=3, messages_per_list=6, recipients=40, subscribers_per_list=60, page_size=25)

pytestmark = pytest.mark.slow


def _summary_lines(stderr: str, what: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("WARNING") and f" {what} " in line]


# -- short credentials, redacted without mangling the text around them ---------------------------------
def test_one_letter_credentials_leave_log_lines_readable(emulator_factory, tmp_path):
    emulator = emulator_factory(**SMALL, username="u", password="p", fault_rate=0.2,
                                fault_kinds=("truncate", "fault500"))
    config = tap_config(emulator, START, username="u", password="p", backoff_max_tries=10,
                        backoff_base_seconds=0.01)
    run = run_tap(tmp_path, config, catalog=catalog_selecting(ALL))
    assert_matches_truth(run, emulator.truth(START), ALL)
    retries = [line for line in run.stderr.splitlines() if "Retrying" in line]
    assert retries and any("truncated" in line for line in retries)
    assert all("attempt" in line for line in retries)
    assert "***" not in run.stderr  # neither "u" nor "p" stands alone anywhere in these lines


# -- resume: only what applies -------------------------------------------------------------------------
def test_a_resumed_run_ignores_the_window_of_a_stream_no_longer_selected(emulator_factory, tmp_path):
    emulator = emulator_factory(**SMALL)
    old_end = "2024-06-01T00:00:00.000000Z"
    state = {"currently_syncing": "message_opens",
             "bookmarks": {"message_opens": {"run_start": "2024-01-01T00:00:00.000000Z", "run_end": old_end,
                                             "position": [5001, "2024-03-01T00:00:00.000000Z", 300007]}}}
    run = run_tap(tmp_path, tap_config(emulator, START), catalog=catalog_selecting(["lists", "messages"]),
                  state=state)
    assert_matches_truth(run, emulator.truth(START), ["lists", "messages"])
    assert any(record["SendDate"] > old_end for record in run.records("messages"))
    windows = {mark["run_end"] for value in run.states for name, mark in value["bookmarks"].items()
               if name in ("lists", "messages") and "run_end" in mark}
    assert windows and old_end not in windows
    assert "message_opens" not in run.states[-1]["bookmarks"]  # a finished run clears every position


# -- ReportListMessageActivity replies that may be capped ---------------------------------------------
def test_a_window_too_crowded_to_split_is_warned_about_and_counted(emulator_factory, tmp_path):
    """600 messages sent on one day: no split can make the reply smaller, so the tap cannot know
    whether Listrak capped it. It says so (list, window, count), and the summary counts it."""
    emulator = emulator_factory(lists=1, empty_lists=0, messages_per_list=600, recipients=1,
                                subscribers_per_list=1, first_date="2024-03-01", last_date="2024-03-01")
    run = run_tap(tmp_path, tap_config(emulator, START), catalog=catalog_selecting(["messages"]))
    assert_matches_truth(run, emulator.truth(START), ["messages"])  # nothing was capped here
    warnings = [line for line in run.stderr.splitlines() if "cannot be split further" in line]
    assert warnings
    for warning in warnings:
        found = re.search(r"ListID 5001 sent 2024-0\d-\d\dT[\d:.]+Z to 2024-0\d-\d\dT[\d:.]+Z: (\d+) items", warning)
        assert found and int(found.group(1)) >= 500, warning
    (summary,) = _summary_lines(run.stderr, "possibly incomplete")
    assert f"{len(warnings)} unit" in summary and "ListID 5001" in summary


# -- paging that never stops on a guess ---------------------------------------------------------------
PAGING_ANSWERS = {
    "pages of varying length": dict(page_jitter=10),
    "nil slots inside pages": dict(nil_slot_rate=0.3),
    "a page of nil slots only": dict(nil_only_page=2),
    "a page size per operation": dict(page_sizes=("ReportRangeMessageContactOpen=7",
                                                  "ReportRangeSubscribedContacts=40")),
    "a page size per unit": dict(page_size_per_unit=True),
}


@pytest.mark.parametrize("answer", PAGING_ANSWERS)
def test_every_paging_answer_gives_exactly_the_truth(emulator_factory, tmp_path, answer):
    emulator = emulator_factory(**SMALL, **PAGING_ANSWERS[answer])
    run = run_tap(tmp_path, tap_config(emulator, START), catalog=catalog_selecting(ALL))
    assert_matches_truth(run, emulator.truth(START), ALL)
    assert "skipped" not in run.stderr and "possibly incomplete" not in run.stderr


def test_all_answers_at_once_under_a_five_percent_fault_rate(emulator_factory, tmp_path):
    knobs = {k: v for answer in PAGING_ANSWERS.values() for k, v in answer.items()}
    emulator = emulator_factory(**SMALL, **knobs, activity_cap=4, empty_result="omitted", fault_rate=0.05,
                                fault_kinds=("fault500", "html503", "drop", "truncate", "throttle", "deadlock404"))
    config = tap_config(emulator, START, backoff_max_tries=10, backoff_base_seconds=0.01)
    run = run_tap(tmp_path, config, catalog=catalog_selecting(ALL))
    assert_matches_truth(run, emulator.truth(START), ALL)
    assert emulator.stats()["injected_faults_total"] >= 1


# -- faults classified by their exact form ------------------------------------------------------------
def test_a_deadlock_whose_text_mentions_404_is_retried_not_skipped(emulator_factory, tmp_path):
    emulator = emulator_factory(**SMALL, fault_on=("ReportRangeMessageContactOpen:3:deadlock404",
                                                   "ReportMessageContactSent:2:deadlock404"))
    run = run_tap(tmp_path, tap_config(emulator, START), catalog=catalog_selecting(ALL))
    assert_matches_truth(run, emulator.truth(START), ALL)
    assert emulator.stats()["injected_faults"] == {"deadlock404": 2}
    assert sum("Retrying" in line and "deadlocked" in line for line in run.stderr.splitlines()) == 2
    assert "skipped" not in run.stderr


def test_every_request_has_one_metric_line_with_its_real_status(emulator_factory, tmp_path):
    """Singer METRIC lines: one http_request_duration timer per request the emulator answered, the
    retried ones included, each with the status it got (a 500 fault, a 503 page, a 200 whose body
    was cut off: failed all three)."""
    emulator = emulator_factory(**SMALL, fault_on=("ReportRangeMessageContactOpen:2:fault500",
                                                   "ReportMessageContactSent:3:html503",
                                                   "ReportRangeMessageContactClick:2:drop"))
    run = run_tap(tmp_path, tap_config(emulator, START), catalog=catalog_selecting(ALL))
    assert_matches_truth(run, emulator.truth(START), ALL)
    metrics = [json.loads(line.split("METRIC: ", 1)[1]) for line in run.stderr.splitlines() if "METRIC: " in line]
    assert {(m["type"], m["metric"]) for m in metrics} == {("timer", "http_request_duration")}
    assert all(m["value"] >= 0 for m in metrics)
    stats = emulator.stats()
    assert len(metrics) == stats["total_requests"], (len(metrics), stats["total_requests"])
    statuses = sorted((m["tags"]["endpoint"], m["tags"]["http_status_code"], m["tags"]["status"])
                      for m in metrics if m["tags"]["status"] != "succeeded")
    assert statuses == [("ReportMessageContactSent", 503, "failed"), ("ReportRangeMessageContactClick", 200, "failed"),
                        ("ReportRangeMessageContactOpen", 500, "failed")]
    assert all(m["tags"]["http_status_code"] == 200 for m in metrics if m["tags"]["status"] == "succeeded")


# -- a failed run stops at once ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["auth", "locked"])
def test_an_auth_fault_in_the_middle_of_the_pool_stops_every_request(emulator_factory, tmp_path, kind):
    workers = 8
    emulator = emulator_factory(**SMALL, latency_ms=30, fault_on=(f"*:40:{kind}",))
    run = run_tap(tmp_path, tap_config(emulator, START, max_workers=workers), catalog=catalog_selecting(ALL))
    assert run.returncode == 1
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("CRITICAL")]
    assert "refused the login" in line
    stats = emulator.stats()
    assert stats["first_fatal_fault_at"] == 40
    # Only requests already on their way when the fault came back may still arrive: none is sent after.
    assert stats["requests_after_first_fatal_fault"] <= workers - 1, stats
    assert "Retrying" not in run.stderr


def test_a_login_revoked_mid_run_is_refused_no_more_often_than_there_are_workers(emulator_factory, tmp_path):
    """Twelve workers, and the password changes while every slot is busy: only the requests already
    on the wire may be refused. A refused login is read while its request still holds its slot, so
    the run is cancelled before that slot can carry another login."""
    workers = 12
    emulator = emulator_factory(**SMALL, latency_ms=20)

    def revoke():
        while emulator.stats()["total_requests"] < 80:
            time.sleep(0.005)
        emulator._emulator.server_spec = dataclasses.replace(emulator.server, password="revoked")

    revoker = threading.Thread(target=revoke, daemon=True)
    revoker.start()
    run = run_tap(tmp_path, tap_config(emulator, START, max_workers=workers), catalog=catalog_selecting(ALL))
    revoker.join(timeout=5)
    assert run.returncode == 1
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("CRITICAL")]
    assert "InvalidLogonAttempt" in line
    refused = emulator.stats()["soap_faults"].get("InvalidLogonAttempt", 0)
    assert 1 <= refused <= workers, refused
    assert "Retrying" not in run.stderr


# -- crowded message windows ---------------------------------------------------------------------------
def test_a_capped_window_is_split_until_nothing_is_missing(emulator_factory, tmp_path):
    emulator = emulator_factory(lists=1, empty_lists=0, messages_per_list=2500, recipients=1,
                                subscribers_per_list=1, first_date="2024-01-01", last_date="2024-12-31",
                                activity_cap=1000)
    run = run_tap(tmp_path, tap_config(emulator, START, end_date="2025-01-01T00:00:00Z"),
                  catalog=catalog_selecting(["messages"]))
    assert_matches_truth(run, emulator.truth(START, end_date="2025-01-01T00:00:00Z"), ["messages"])
    assert "possibly incomplete" not in run.stderr


def test_a_capped_burst_that_no_split_can_recover_is_reported(emulator_factory, tmp_path):
    emulator = emulator_factory(lists=1, empty_lists=0, messages_per_list=20, recipients=1, subscribers_per_list=1,
                                burst_messages=700, activity_cap=600)
    run = run_tap(tmp_path, tap_config(emulator, START), catalog=catalog_selecting(["messages"]))
    assert run.returncode == 0, run.stderr[-2000:]
    got, truth = len(run.records("messages")), len(emulator.truth(START)["messages"])
    assert got < truth  # the cap hid messages the tap cannot get...
    (summary,) = _summary_lines(run.stderr, "possibly incomplete")  # ...and the tap says so
    assert "ListID 5001" in summary and int(re.search(r"\((\d+) items\)", summary).group(1)) >= 600


# -- bounded by what it reads ---------------------------------------------------------------------------
def test_an_endpoint_that_streams_gigabytes_is_refused_in_one_line(emulator_factory, tmp_path):
    """Started through bench/launch.py: Linux carries the forking process's peak RSS into the child,
    so only a small launcher lets the tap's own peak be measured."""
    import json
    import subprocess
    import sys
    from pathlib import Path
    from tests.e2e.tap_runner import TAP, _write
    emulator = emulator_factory(**SMALL, flood_bytes=2 << 30)
    config = _write(tmp_path / "config.json", tap_config(emulator, START))
    launcher = Path(__file__).resolve().parents[2] / "bench" / "launch.py"
    usage = tmp_path / "usage.json"
    done = subprocess.run([sys.executable, "-I", "-S", str(launcher), str(usage), str(TAP), "--config", config],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("CRITICAL")]
    assert "over 10 MB" in line or "max_reply_megabytes" in line
    assert '"RECORD"' not in done.stdout
    peak_mb = json.loads(usage.read_text())["maxrss_kb"] / 1024
    assert peak_mb < 200, f"peak RSS {peak_mb:.0f} MB"
    assert emulator.stats()["flood_bytes_sent"] < 200 << 20
