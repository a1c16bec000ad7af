"""python -m tests.emulator: first stdout line is the URL, serves until SIGTERM, --help names every knob."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.emulator import rawsoap
from tests.emulator.spec import DATASET_FIELDS, SERVER_FIELDS

ROOT = Path(__file__).resolve().parents[2]


def _start(args):
    process = subprocess.Popen([sys.executable, "-m", "tests.emulator", "--port", "0", *args], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, process.stdout.readline().strip()


def test_serves_until_sigterm(emulator_factory):
    reference = emulator_factory(lists=2, messages_per_list=3, page_size=5, event_date_format="us",
                                 fault_on=("GetContactListCollection:1:throttle",), vanish_msg_ids=(300007,))
    process, url = _start(reference.cli_args())
    try:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v31/IntegrationService.asmx")
        with urllib.request.urlopen(url + "?wsdl", timeout=5) as reply:
            assert url.encode() in reply.read()
        assert rawsoap.call(url, "GetContactListCollection")[0] == 500  # the rule came through
        params = {"MsgID": reference.data.msg_id(0, 1), "StartDate": "2000-01-01", "EndDate": "2100-01-01",
                  "Page": 1}
        served = rawsoap.call(url, "ReportRangeMessageContactOpen", params)[2]
        assert served == rawsoap.call(reference.url, "ReportRangeMessageContactOpen", params)[2]  # same bytes
        with urllib.request.urlopen(url.split("/v31/")[0] + "/_stats", timeout=5) as reply:
            assert json.load(reply)["requests"]["ReportRangeMessageContactOpen"] == 1
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_help_documents_every_knob():
    text = subprocess.run([sys.executable, "-m", "tests.emulator", "--help"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout
    flags = {"--" + name.replace("_", "-") for name in DATASET_FIELDS | SERVER_FIELDS} - {"--nil-items", "--page-sizes"}
    flags |= {"--no-nil-items", "--page-size-for", "--port", "--host"}
    missing = [flag for flag in flags if flag not in text]
    assert not missing


def test_bad_knob_is_refused():
    result = subprocess.run([sys.executable, "-m", "tests.emulator", "--click-rate", "0.9", "--open-rate", "0.1"],
                            cwd=ROOT, capture_output=True, text=True, timeout=20)
    assert result.returncode == 2 and "click_rate" in result.stderr


def test_describe_lists_the_account():
    result = subprocess.run([sys.executable, "-m", "tests.emulator", "--describe", "--lists", "2"], cwd=ROOT,
                            check=True, capture_output=True, text=True)
    described = json.loads(result.stdout)
    assert [len(entry["messages"]) for entry in described["lists"]] == [8, 0]


def test_cli_args_round_trip_every_knob():
    from tests.emulator.__main__ import build_parser
    from tests.emulator.options import cli_args, specs_from_args
    from tests.emulator.spec import split_knobs

    knobs = dict(lists=2, nil_items=False, burst_messages=40, activity_cap=25, flood_bytes=10, page_size=30, page_sizes=("ReportMessageContactSent=12",
                 "ReportRangeMessageContactOpen=5"), page_size_per_unit=True, page_jitter=4, nil_slot_rate=0.25,
                 nil_only_page=3, fault_on=("GetContactListCollection:2:throttle",), prohibited_ip=True,
                 as_of="2024-03-01T12:00:00.25+02:00", reporting_delay_hours=7.5)
    dataset, server = split_knobs(knobs)
    assert specs_from_args(build_parser().parse_args(cli_args(dataset, server))) == (dataset, server)
