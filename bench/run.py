"""`make bench`: the tap end to end against the emulator, sequential and concurrent, measured.

For each latency (default 0 ms and 50 ms) the emulator runs as its own process with a dataset of
about 150,000 records; `tap-listrak` syncs every stream into /dev/null with max_workers=1 and with
the default, and the table shows wall time, the tap's CPU time (its own rusage), CPU µs per record,
requests (the emulator's count), records, records/s, peak RSS, and the speed-up of the default
over sequential. A last pair of runs syncs the dataset and one with ten times its records, to
show that peak memory does not grow with the data. Figures are ratios within one run: the machine is
noisy, absolute times are not comparable between machines.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tap_listrak.catalog import build_catalog
from tap_listrak.config import SETTINGS
from tests.e2e.tap_runner import EMULATOR_PASSWORD, EMULATOR_USER, TAP, catalog_selecting

DATASET = dict(lists=4, messages_per_list=30, recipients=900, subscribers_per_list=5000)
START_DATE = "2022-01-01T00:00:00Z"
DEFAULT_WORKERS = next(s.default for s in SETTINGS if s.name == "max_workers")


@dataclass
class Result:
    label: str
    wall: float
    cpu: float
    records: int
    requests_by_operation: dict[str, int]
    peak_rss_mb: float

    @property
    def requests(self) -> int:
        return sum(self.requests_by_operation.values())

    @property
    def cpu_us_per_record(self) -> float:
        return self.cpu / max(self.records, 1) * 1e6

    @property
    def records_per_second(self) -> float:
        return self.records / self.wall


class Emulator:
    def __init__(self, latency_ms: float, dataset: dict):
        args = [sys.executable, "-m", "tests.emulator", "--port", "0", "--latency-ms", str(latency_ms)]
        for knob, value in dataset.items():
            args += [f"--{knob.replace('_', '-')}", str(value)]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        self.url = self.process.stdout.readline().strip()
        self.base = self.url.split("/v31/")[0]

    def requests(self) -> dict[str, int]:
        with urllib.request.urlopen(self.base + "/_stats", timeout=10) as reply:
            return json.load(reply)["requests"]

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.base + "/_reset", method="POST"), timeout=10).close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def run_tap(emulator: Emulator, workers: int, label: str, workdir: Path) -> Result:
    config = {"username": EMULATOR_USER, "password": EMULATOR_PASSWORD, "start_date": START_DATE,
              "endpoint_url": emulator.url, "max_workers": workers}
    (workdir / "config.json").write_text(json.dumps(config))
    (workdir / "catalog.json").write_text(json.dumps(catalog_selecting(
        [entry["tap_stream_id"] for entry in build_catalog()["streams"]])))
    emulator.reset()
    started = time.monotonic()
    with open(os.devnull, "w") as devnull, open(workdir / "tap.log", "w") as log:
        process = subprocess.Popen([str(TAP), "--config", str(workdir / "config.json"), "--catalog",
                                    str(workdir / "catalog.json")], stdout=devnull, stderr=log)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    text = (workdir / "tap.log").read_text()
    if status != 0:
        sys.exit(f"tap-listrak failed ({label}):\n{text[-2000:]}")
    done = re.search(r"Done: (.*)", text).group(1)
    records = sum(int(count) for count in re.findall(r" (\d+)(?:,|$)", done))
    return Result(label, wall, usage.ru_utime + usage.ru_stime, records, emulator.requests(),
                  usage.ru_maxrss / 1024)


def print_table(results: list[Result]) -> None:
    print(f"{'run':<34}{'wall s':>8}{'CPU s':>8}{'CPU µs/rec':>11}{'requests':>9}{'records':>9}"
          f"{'records/s':>11}{'peak RSS MB':>12}")
    for r in results:
        print(f"{r.label:<34}{r.wall:>8.2f}{r.cpu:>8.2f}{r.cpu_us_per_record:>11.1f}{r.requests:>9}"
              f"{r.records:>9}{r.records_per_second:>11,.0f}{r.peak_rss_mb:>12.1f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latencies", default="0,50", help="emulator latencies in ms (default 0,50)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="the concurrent run's max_workers")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory-growth pair of runs")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for latency in (float(x) for x in args.latencies.split(",")):
            emulator = Emulator(latency, DATASET)
            try:
                sequential = run_tap(emulator, 1, f"{latency:g} ms, max_workers=1", workdir)
                concurrent = run_tap(emulator, args.workers, f"{latency:g} ms, max_workers={args.workers}", workdir)
            finally:
                emulator.stop()
            results += [sequential, concurrent]
            print_table([sequential, concurrent])
            print(f"speed-up at {latency:g} ms: {sequential.wall / concurrent.wall:.1f}x wall")
            print("requests by operation:", ", ".join(f"{op} {n}" for op, n in
                                                      sorted(concurrent.requests_by_operation.items())), "\n",
                  flush=True)
        if not args.no_memory:
            # The account grows tenfold in messages and contacts (pages stay at most a page).
            small = DATASET
            large = dict(DATASET, messages_per_list=DATASET["messages_per_list"] * 10,
                         subscribers_per_list=DATASET["subscribers_per_list"] * 10)
            pair = []
            for label, dataset in (("150k-record account", small), ("10x account", large)):
                emulator = Emulator(0, dataset)
                try:
                    pair.append(run_tap(emulator, args.workers, f"0 ms, {label}", workdir))
                finally:
                    emulator.stop()
            print_table(pair)
            print(f"memory growth: {pair[1].records / pair[0].records:.1f}x the records, "
                  f"{pair[1].peak_rss_mb / pair[0].peak_rss_mb:.2f}x the peak RSS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
