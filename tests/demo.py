"""`make demo`: the main job end to end, on this machine, with no Listrak account, on both APIs.

SOAP: starts the Listrak emulator as its own process, runs `tap-listrak --discover`, selects every
stream, runs a full sync, writes each stream to demo-output/<stream>.jsonl (a JSONL target) and the
last STATE to demo-output/state.json, then prints per-stream counts checked against the
emulator's ground truth, and `tap-listrak --probe` on the same account: its report goes to
demo-output/probe.json, its summary lines to the screen.

REST: then starts the REST emulator (the Email REST API v1 over the same kind of account), runs
discovery with REST credentials (`client_id`, `client_secret`), selects every REST stream, runs a
full sync into the same JSONL target under demo-output/rest/, and prints a second summary: each
stream's records against the REST emulator's ground truth, and the requests the emulator served;
then `tap-listrak --probe` with the REST credentials, its report in demo-output/rest/probe.json.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import simplejson

from tap_listrak.probe import summary_lines
from tests.e2e.tap_runner import EMULATOR_PASSWORD, EMULATOR_USER, TAP, canonical, catalog_selecting
from tests.emulator.spec import DatasetSpec
from tests.emulator.truth import truth
from tests.rest_emulator.harness import RestEmulatorHandle

OUT = Path("demo-output")
DATASET = dict(lists=4, messages_per_list=30, recipients=200, subscribers_per_list=400)
START_DATE = "2024-01-01T00:00:00Z"
REST_OUT = OUT / "rest"
REST_DATASET = dict(lists=3, messages_per_list=8, recipients=100, subscribers_per_list=300)
# Early enough for every item of the REST emulator's account: the REST summary compares with all of it.
REST_START_DATE = "2000-01-01T00:00:00Z"


def main() -> int:
    OUT.mkdir(exist_ok=True)
    emulator = start_emulator()
    try:
        url = emulator.stdout.readline().strip()
        print(f"Listrak emulator listening at {url}")
        config = {"username": EMULATOR_USER, "password": EMULATOR_PASSWORD, "start_date": START_DATE,
                  "endpoint_url": url}
        write_json(OUT / "config.json", config)
        catalog = json.loads(run(["--discover"], "discovery").stdout)
        write_json(OUT / "catalog.json", catalog_selecting([e["tap_stream_id"] for e in catalog["streams"]], base=catalog))
        started = time.monotonic()
        output = run(["--catalog", str(OUT / "catalog.json")], "sync").stdout
        elapsed = time.monotonic() - started
        report = json.loads(run(["--probe"], "probe").stdout)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    records = write_target(output)
    status = summarize(records, elapsed)
    write_json(OUT / "probe.json", report)
    print(f"\n`tap-listrak --probe` on the same account (report in {OUT / 'probe.json'}):")
    for line in summary_lines(report):
        print(line)
    return rest_demo() or status


def rest_demo() -> int:
    """The REST API: its emulator, discovery and a full sync with REST credentials, and a summary."""
    from tap_listrak.streams import REST_STREAMS

    REST_OUT.mkdir(parents=True, exist_ok=True)
    # The account as of now: the generator dates some events in the future, which a real account
    # cannot hold and a sync (whose end is its start time) leaves out.
    as_of = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    with RestEmulatorHandle(**REST_DATASET, as_of=as_of) as emulator:
        print(f"\nListrak REST emulator listening at {emulator.base_url}")
        config = {"client_id": emulator.client_id, "client_secret": emulator.client_secret,
                  "start_date": REST_START_DATE, "rest_base_url": emulator.base_url,
                  "rest_token_url": emulator.token_url}
        write_json(REST_OUT / "config.json", config)
        catalog = json.loads(run(["--discover"], "REST discovery", REST_OUT).stdout)
        names = [entry["tap_stream_id"] for entry in catalog["streams"]]
        write_json(REST_OUT / "catalog.json", catalog_selecting(names, base=catalog))
        emulator.reset()
        started = time.monotonic()
        output = run(["--catalog", str(REST_OUT / "catalog.json")], "REST sync", REST_OUT).stdout
        elapsed = time.monotonic() - started
        stats = emulator.stats()
        expected = emulator.truth([stream.name for stream in REST_STREAMS])
        probe = json.loads(run(["--probe"], "REST probe", REST_OUT).stdout)
    records = write_target(output, REST_OUT)
    total, failures = 0, 0
    print(f"\n{'REST stream':<32}{'records':>9}  as many as the ground truth")
    for name in names:
        got, want = len(records.get(name, [])), len(expected.get(name, []))
        failures += got != want
        total += got
        print(f"{name:<32}{got:>9}  {'yes' if got == want else f'NO (expected {want})'}")
    requests = stats["requests"]
    tokens = sum(requests.get("_token", {}).values())
    api = sum(sum(by_status.values()) for op, by_status in requests.items() if not op.startswith("_"))
    print(f"{'total':<32}{total:>9}  in {elapsed:.1f}s, {len(names)} streams, {api} API requests + {tokens} token "
          f"request(s)")
    print(f"\nREST output in {REST_OUT}/: one JSONL file per stream, state.json, catalog.json, logs.")
    write_json(REST_OUT / "probe.json", probe)
    print(f"\n`tap-listrak --probe` with the REST credentials (report in {REST_OUT / 'probe.json'}):")
    for line in summary_lines(probe):
        print(line)
    return 1 if failures else 0


def start_emulator() -> subprocess.Popen:
    args = [sys.executable, "-m", "tests.emulator", "--port", "0"]
    for knob, value in DATASET.items():
        args += [f"--{knob.replace('_', '-')}", str(value)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


def run(args: list[str], what: str, out: Path = OUT) -> subprocess.CompletedProcess:
    print(f"Running tap-listrak {what} ...")
    done = subprocess.run([str(TAP), "--config", str(out / "config.json"), *args], capture_output=True, text=True)
    log = out / f"{what.split()[-1]}.log"
    log.write_text(done.stderr, encoding="utf-8")
    if done.returncode != 0:
        sys.exit(f"tap-listrak {what} failed (exit {done.returncode}); see {log}:\n" + done.stderr[-2000:])
    return done


def write_target(output: str, out: Path = OUT) -> dict[str, list[dict]]:
    """A minimal JSONL target: one file per stream, and the last STATE."""
    records: dict[str, list[dict]] = {}
    state = None
    for line in output.splitlines():
        message = simplejson.loads(line, use_decimal=True)
        if message["type"] == "RECORD":
            records.setdefault(message["stream"], []).append(message["record"])
        elif message["type"] == "STATE":
            state = message["value"]
    for stream, rows in records.items():
        with open(out / f"{stream}.jsonl", "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(simplejson.dumps(row, use_decimal=True, ensure_ascii=False) + "\n")
    write_json(out / "state.json", state)
    return records


def summarize(records: dict[str, list[dict]], elapsed: float) -> int:
    expected = truth(DatasetSpec(**DATASET), START_DATE)
    total, failures = 0, 0
    print(f"\n{'stream':<22}{'records':>9}  matches ground truth")
    for stream, rows in expected.items():
        got = records.get(stream, [])
        same = canonical(got) == canonical(rows)
        failures += not same
        total += len(got)
        print(f"{stream:<22}{len(got):>9}  {'yes' if same else f'NO (expected {len(rows)})'}")
    print(f"{'total':<22}{total:>9}  in {elapsed:.1f}s ({total / elapsed:,.0f} records/s)")
    print(f"\nOutput in {OUT}/: one JSONL file per stream, state.json, catalog.json, logs.")
    return 1 if failures else 0


def write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
