"""A green run is a complete run, whatever Listrak answers: through the CLI, against the emulator
serving each answer the facts leave open, the tap returns exactly the ground truth or says why not."""
import re

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
