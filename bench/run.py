"""`make bench`: the tap end to end against the emulator, next to the published SOAP tap, measured.

For each latency (default 0 ms and 100 ms) the emulator runs as its own process with a dataset of
about 150,000 records. On that one account, one after the other: `tap-listrak` syncs the nine
streams the published tap has with max_workers=1 and with the default, then, at 0 ms only by
default (`--peer-latencies`), the published singer-io tap `tap-listrak==1.1.0` (the peer, in its own
virtualenv, pointed at the emulator by `bench/peer.py`) syncs the same nine streams. Then ours syncs
the newer streams alone, and all of them. Each run is its own process; the table shows wall time,
the process's CPU time (its rusage), CPU µs per record, SOAP requests (the emulator's count),
records (RECORD lines), records/s and peak RSS; below it the speed-up of the default over
sequential, the ratios ours/peer, and at a latency above zero the latency limit requests × latency
÷ max_workers with our wall ÷ that limit. A pair of runs syncs the account and one with ten times
its records, and another syncs subscribed_contacts at 15,000 and at 150,000 contacts per list, to
show that peak memory does not grow with the data once the pool is full. Last, on accounts with
three and with thirty years of history (same density), a FULL_TABLE run next to a nightly
INCREMENTAL run one day later. Then the REST API (bench/rest.py): on the REST emulator with the
same data knobs at 100 ms, ours with REST credentials next to the published REST tap 2.0.8 (its
own virtualenv, pointed at the emulator by bench/peer_rest.py): records per shared stream, the
requests of each, and how 2.0.8 ends on the shared streams it cannot extract. The closing "goals"
lines are the three figures a change is judged by (docs/architecture.md, "What the tap writes
itself"): wall at 100 ms ÷ the latency limit, CPU per record against the published tap at 0 ms,
and peak RSS of the ten-times account ÷ the account's; and a fourth, the published REST tap's wall
÷ ours at 100 ms. `--rest-only` runs the REST part alone, `--no-rest` skips it.

Before the measured runs at each latency, one unmeasured run of ours fills the emulator's cache of
rendered units (`--cache-units`): every measured run, ours and the peer's, then meets a server whose
own work is the latency knob, not data generation sharing the machine's cores with the tap.

Both taps extract the same records: ours runs with include_test_messages (the peer always asks for
test messages), and the emulator leaves xsi:nil array items out (`--no-nil-items`): the peer
stops with a TypeError on the first one (see bench/peer.py; `--nil-items` shows it). Figures are ratios within one run:
the machine is noisy, absolute times are not comparable between machines.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench import rest
from bench.emulators import BenchFailure, Emulator, RestEmulator
from tap_listrak.catalog import build_catalog
from tap_listrak.config import SETTINGS
from tests.e2e.tap_runner import EMULATOR_PASSWORD, EMULATOR_USER, TAP, catalog_selecting

ROOT = Path(__file__).resolve().parent.parent
DATASET = dict(lists=4, messages_per_list=30, recipients=900, subscribers_per_list=5000)
QUICK_DATASET = dict(lists=3, messages_per_list=10, recipients=300, subscribers_per_list=1000)
# The emulator's defaults, except xsi:nil array items, which the peer cannot read, and its cache of rendered
# units, which holds the whole account: Listrak's own work happens on Listrak's machines, and the emulator
# generating data on this machine's two cores would be counted against whichever tap runs beside it.
EMULATOR_FLAGS = ["--no-nil-items", "--cache-units", "100000"]
START_DATE = "2022-01-01T00:00:00Z"
# What the published tap extracts: the side-by-side runs select these streams only.
PUBLISHED_STREAMS = ("lists", "messages", "message_sends", "message_opens", "message_clicks", "message_reads",
                     "message_unsubs", "message_bounces", "subscribed_contacts")
DEFAULT_WORKERS = next(s.default for s in SETTINGS if s.name == "max_workers")
LAUNCHER = ROOT / "bench" / "launch.py"
PEER_PYTHON = ROOT / ".venv-tools" / "tap-listrak-1.1.0" / "bin" / "python"
RUN_TIMEOUT = 1800  # seconds; a run still going then is killed (with its process group) and the bench fails
RECORD_LINE = re.compile(rb'^\{"type": ?"RECORD", ?"stream": ?"([^"]+)"', re.M)


@dataclass
class Result:
    label: str
    wall: float
    cpu: float
    records_by_stream: Counter
    requests_by_operation: dict[str, int]
    peak_rss_mb: float
    workers: int
    latency_ms: float
    other_requests: dict[str, int] = field(default_factory=dict)  # the WSDL GET and the like
    last_state: dict | None = None

    @property
    def records(self) -> int:
        return sum(self.records_by_stream.values())

    @property
    def requests(self) -> int:
        return sum(self.requests_by_operation.values())

    @property
    def cpu_us_per_record(self) -> float:
        return self.cpu / max(self.records, 1) * 1e6

    @property
    def records_per_second(self) -> float:
        return self.records / self.wall

    @property
    def latency_limit(self) -> float:
        """Seconds the run cannot beat: its requests, each waiting `latency`, `workers` at a time."""
        return self.requests * self.latency_ms / 1000 / self.workers


def launch(args: list[str], workdir: Path, stdout, stderr) -> dict:
    """Runs `args` through bench/launch.py (see there why) and returns its wall time and rusage."""
    usage_path = workdir / "rusage.json"
    usage_path.unlink(missing_ok=True)
    process = subprocess.Popen([sys.executable, "-I", "-S", str(LAUNCHER), str(usage_path), *args],
                               stdout=stdout, stderr=stderr, cwd=workdir, start_new_session=True)
    try:
        process.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise BenchFailure(f"{args[0]} still running after {RUN_TIMEOUT} s: killed")
    if not usage_path.exists():
        raise BenchFailure(f"the launcher failed (exit {process.returncode})")
    return json.loads(usage_path.read_text())


def run_measured(args: list[str], label: str, workdir: Path, emulator: Emulator, workers: int,
                 latency_ms: float, keep_stdout: bool, inspect=None) -> Result:
    """Runs one tap process and measures it; RECORD lines are counted from its stdout (kept in a
    file) or, when `keep_stdout` is false (our tap only), taken from its closing "Done:" line.
    `inspect`, if given, is called with the kept stdout (bytes) before the file is removed."""
    emulator.reset()
    log_path, out_path = workdir / "tap.log", workdir / "tap.out"
    with open(out_path if keep_stdout else os.devnull, "wb") as out, open(log_path, "wb") as log:
        usage = launch(args, workdir, out, log)
    text = log_path.read_text(errors="replace")
    if usage["exit"] != 0:
        raise BenchFailure(f"{label} failed (exit {usage['exit']}); the end of its log:\n"
                           + "\n".join(text.splitlines()[-30:]))
    last_state = None
    if keep_stdout:
        data = out_path.read_bytes()
        records = Counter(m.decode() for m in RECORD_LINE.findall(data))
        states = [line for line in data.splitlines() if line.startswith(b'{"type":"STATE"')]
        last_state = json.loads(states[-1])["value"] if states else None
        if inspect is not None:
            inspect(data)
        out_path.unlink()
    else:
        done = re.search(r"Done: (.*)", text)
        if not done:
            raise BenchFailure(f"{label}: no 'Done:' line in its log:\n" + "\n".join(text.splitlines()[-30:]))
        records = Counter({name: int(n) for name, n in re.findall(r"(\w+) (\d+)(?:,|$)", done.group(1))})
    requests = emulator.requests()
    soap = {op: n for op, n in requests.items() if not op.startswith("_")}
    other = {op: n for op, n in requests.items() if op.startswith("_")}
    if not records:
        raise BenchFailure(f"{label} extracted no records; the end of its log:\n"
                           + "\n".join(text.splitlines()[-30:]))
    return Result(label, usage["wall"], usage["utime"] + usage["stime"], records, soap, usage["maxrss_kb"] / 1024,
                  workers, latency_ms, other, last_state)


def rss_floor(workdir: Path) -> float:
    """Peak RSS the launcher reports for a program that uses almost none: below it, figures mean nothing."""
    return launch([sys.executable, "-I", "-S", "-c", "pass"], workdir, None, None)["maxrss_kb"] / 1024


def our_config(emulator: Emulator, workers: int, **settings) -> dict:
    return {"username": EMULATOR_USER, "password": EMULATOR_PASSWORD, "start_date": START_DATE,
            "endpoint_url": emulator.url, "max_workers": workers, "include_test_messages": True, **settings}


def all_streams() -> list[str]:
    return [entry["tap_stream_id"] for entry in build_catalog()["streams"]]


def run_ours(emulator: Emulator, workers: int, label: str, workdir: Path, latency_ms: float,
             keep_stdout: bool = False, state: dict | None = None, incremental=(), streams=None,
             tap: Path = TAP, catalog: dict | None = None, **settings) -> Result:
    (workdir / "config.json").write_text(json.dumps(our_config(emulator, workers, **settings)))
    (workdir / "catalog.json").write_text(json.dumps(catalog_selecting(
        all_streams() if streams is None else list(streams), incremental=incremental, base=catalog)))
    args = [str(tap), "--config", str(workdir / "config.json"), "--catalog", str(workdir / "catalog.json")]
    if state is not None:
        (workdir / "state.json").write_text(json.dumps(state))
        args += ["--state", str(workdir / "state.json")]
    return run_measured(args, label, workdir, emulator, workers, latency_ms, keep_stdout)


class Peer:
    """The published singer-io tap, run through bench/peer.py with its own virtualenv's python."""

    def __init__(self, python: Path, workdir: Path):
        if not python.exists():
            raise BenchFailure(f"{python} not found: `make peer` installs tap-listrak==1.1.0 there")
        # absolute(), not resolve(): the venv's python is a symlink to the base interpreter
        self.python, self.workdir = python.absolute(), workdir
        self.wrapper = str(ROOT / "bench" / "peer.py")
        self.config = workdir / "peer-config.json"
        self.config.write_text(json.dumps({"username": EMULATOR_USER, "password": EMULATOR_PASSWORD,
                                           "start_date": START_DATE}))
        self.properties = workdir / "peer-properties.json"

    def version(self) -> str:
        done = subprocess.run([str(self.python), "-c", "import platform; print(platform.python_version())"],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchFailure(f"{self.python} does not run: {done.stderr[-500:]}")
        return done.stdout.strip()

    def select_all(self, emulator: Emulator) -> list[str]:
        """The peer's own discovery output with every stream selected (it reads `--properties`)."""
        done = subprocess.run([str(self.python), self.wrapper, emulator.url + "?WSDL", "--config",
                               str(self.config), "--discover"], capture_output=True, text=True,
                              cwd=self.workdir, timeout=300)
        if done.returncode != 0:
            raise BenchFailure("the peer's discovery failed:\n" + "\n".join(done.stderr.splitlines()[-30:]))
        catalog = json.loads(done.stdout)
        for entry in catalog["streams"]:
            for item in entry["metadata"]:
                if not item["breadcrumb"]:
                    item["metadata"]["selected"] = True
        self.properties.write_text(json.dumps(catalog))
        return sorted(entry["tap_stream_id"] for entry in catalog["streams"])

    def run(self, emulator: Emulator, label: str, latency_ms: float) -> Result:
        return run_measured([str(self.python), self.wrapper, emulator.url + "?WSDL", "--config",
                             str(self.config), "--properties", str(self.properties)],
                            label, self.workdir, emulator, 1, latency_ms, keep_stdout=True)


HEADER = (f"{'run':<36}{'wall s':>8}{'CPU s':>8}{'CPU µs/rec':>11}{'requests':>9}{'records':>10}"
          f"{'records/s':>11}{'peak RSS MB':>12}")


def row(r: Result) -> str:
    return (f"{r.label:<36}{r.wall:>8.2f}{r.cpu:>8.2f}{r.cpu_us_per_record:>11.1f}{r.requests:>9,}"
            f"{r.records:>10,}{r.records_per_second:>11,.0f}{r.peak_rss_mb:>12.1f}")


def print_table(results: list[Result]) -> None:
    print(HEADER)
    for r in results:
        print(row(r))


def compare(ours: Result, peer: Result, latency: float) -> list[str]:
    lines = [f"ours/peer at {latency:g} ms: CPU per record {ours.cpu_us_per_record / peer.cpu_us_per_record:.2f}x, "
             f"wall {ours.wall / peer.wall:.3f}x (peer/ours {peer.wall / ours.wall:.1f}x), "
             f"requests {ours.requests:,}/{peer.requests:,}, peak RSS {ours.peak_rss_mb / peer.peak_rss_mb:.2f}x"]
    if ours.records_by_stream == peer.records_by_stream:
        lines.append(f"records per stream: equal ({len(ours.records_by_stream)} streams, {ours.records:,} records)")
    else:
        lines.append("records per stream DIFFER: " + ", ".join(
            f"{s} ours {ours.records_by_stream[s]} peer {peer.records_by_stream[s]}"
            for s in sorted(set(ours.records_by_stream) | set(peer.records_by_stream))
            if ours.records_by_stream[s] != peer.records_by_stream[s]))
    if latency > 0:
        lines.append(limit_line(peer, "peer"))
    return lines


def machine() -> str:
    return (f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latencies", default="0,100", help="emulator latencies in ms (default 0,100)")
    parser.add_argument("--peer-latencies", default="0",
                        help="latencies at which the published tap runs too (default 0: it is sequential, and at "
                             "100 ms its run alone takes minutes)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="the concurrent run's max_workers")
    parser.add_argument("--quick", action="store_true", help=f"a smaller account ({QUICK_DATASET})")
    parser.add_argument("--no-peer", action="store_true", help="skip the published tap's runs")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory-growth pair of runs")
    parser.add_argument("--no-incremental", action="store_true", help="skip the FULL_TABLE/INCREMENTAL comparison")
    parser.add_argument("--nil-items", action="store_true",
                        help="keep the emulator's xsi:nil array items (the peer then fails)")
    parser.add_argument("--peer-python", type=Path, default=PEER_PYTHON,
                        help="python of the virtualenv holding tap-listrak==1.1.0")
    parser.add_argument("--rest-peer-python", type=Path, default=rest.REST_PEER_PYTHON,
                        help="python of the virtualenv holding the published REST tap tap-listrak==2.0.8")
    parser.add_argument("--rest-latency", type=float, default=rest.REST_LATENCY_MS,
                        help="REST emulator latency in ms for the REST comparison (default %(default)s)")
    parser.add_argument("--no-rest", action="store_true", help="skip the REST comparison")
    parser.add_argument("--rest-only", action="store_true", help="only the REST comparison")
    args = parser.parse_args(argv)
    try:
        return bench(args)
    except BenchFailure as failure:
        print(f"\nbench FAILED: {failure}", file=sys.stderr, flush=True)
        return 1


def bench(args) -> int:
    dataset = QUICK_DATASET if args.quick else DATASET
    if args.rest_only:
        with tempfile.TemporaryDirectory(prefix="tap-listrak-bench-") as tmp:
            print(machine() + "\n", flush=True)
            comparison = rest_comparison(dataset, Path(tmp), args)
            print("=" * len(HEADER))
            print(machine())
            print("\n".join(comparison.summary()))
            print("\n".join(["", "goals:", comparison.goal()]))
        return 0
    latencies = [float(x) for x in args.latencies.split(",")]
    peer_latencies = {float(x) for x in args.peer_latencies.split(",") if x}
    flags = [] if args.nil_items else EMULATOR_FLAGS
    summary: list[Result] = []
    ratios: list[str] = []
    speedups: list[str] = []
    by_latency: dict[float, list[Result]] = {}
    with tempfile.TemporaryDirectory(prefix="tap-listrak-bench-") as tmp:
        workdir = Path(tmp)
        peer = None if args.no_peer else Peer(args.peer_python, workdir)
        print(machine() + (f"; peer Python {peer.version()}" if peer else ""))
        print(f"peak RSS floor (an empty Python run by the launcher): {rss_floor(workdir):.1f} MB")
        print(f"account: {dataset}, emulator flags {' '.join(flags) or 'none'}, start_date {START_DATE}\n",
              flush=True)
        for latency in latencies:
            with Emulator(latency, dataset, flags) as emulator:
                # Unmeasured: fills the emulator's cache, so that every measured run finds the same server.
                run_ours(emulator, args.workers, "warm-up", workdir, latency, streams=PUBLISHED_STREAMS)
                sequential = run_ours(emulator, 1, f"ours {latency:g} ms, max_workers=1", workdir, latency,
                                      streams=PUBLISHED_STREAMS)
                concurrent = run_ours(emulator, args.workers, f"ours {latency:g} ms, max_workers={args.workers}",
                                      workdir, latency, keep_stdout=peer is not None, streams=PUBLISHED_STREAMS)
                runs = [sequential, concurrent]
                if peer and latency in peer_latencies:
                    peer_streams = peer.select_all(emulator)
                    if peer_streams != sorted(concurrent.records_by_stream):
                        raise BenchFailure(f"the peer's streams {peer_streams} are not ours "
                                           f"{sorted(concurrent.records_by_stream)}")
                    runs.append(peer.run(emulator, f"peer 1.1.0 {latency:g} ms (sequential)", latency))
            summary += runs
            print_table(runs)
            speedups.append(f"speed-up at {latency:g} ms: {sequential.wall / concurrent.wall:.1f}x wall "
                            f"(max_workers={args.workers} over max_workers=1)")
            print(speedups[-1])
            if latency > 0:
                ratios.append(limit_line(concurrent, "ours"))
                print(ratios[-1])
            by_latency[latency] = runs
            if len(runs) > 2:
                ratios += compare(concurrent, runs[2], latency)
                print("\n".join(compare(concurrent, runs[2], latency)))
                if runs[2].other_requests:
                    print("peer's non-SOAP requests (not counted):",
                          ", ".join(f"{op} {n}" for op, n in sorted(runs[2].other_requests.items())))
            print("our requests by operation:", ", ".join(f"{op} {n}" for op, n in
                                                          sorted(concurrent.requests_by_operation.items())))
            if len(runs) > 2:
                print("peer requests by operation:", ", ".join(f"{op} {n}" for op, n in
                                                               sorted(runs[2].requests_by_operation.items())))
            print(flush=True)
        summary += newer_streams(dataset, flags, workdir, args.workers)
        memory = []
        if not args.no_memory:
            # The account grows tenfold in messages and contacts (pages stay at most a page).
            large = dict(dataset, messages_per_list=dataset["messages_per_list"] * 10,
                         subscribers_per_list=dataset["subscribers_per_list"] * 10)
            for label, data in (("1x account", dataset), ("10x account", large)):
                with Emulator(0, data, flags) as emulator:
                    memory.append(run_ours(emulator, args.workers, f"ours 0 ms, {label}", workdir, 0))
            print_table(memory)
            growth = (f"memory growth: {memory[1].records / memory[0].records:.1f}x the records, peak RSS "
                      f"{memory[0].peak_rss_mb:.1f} MB → {memory[1].peak_rss_mb:.1f} MB = "
                      f"{memory[1].peak_rss_mb / memory[0].peak_rss_mb:.2f}x")
            steady = steady_memory(dataset, flags, workdir, args.workers)
            memory += steady
            growth += (f"; once the pool is full (subscribed_contacts, {steady[0].records:,} → "
                       f"{steady[1].records:,} records): {steady[0].peak_rss_mb:.1f} MB → "
                       f"{steady[1].peak_rss_mb:.1f} MB = {steady[1].peak_rss_mb / steady[0].peak_rss_mb:.2f}x")
            print(growth, "\n", flush=True)
        nightly = [] if args.no_incremental else incremental(workdir, args.workers, args.quick)
        comparison = None if args.no_rest else rest_comparison(dataset, workdir, args)
        print("=" * len(HEADER))
        print(machine())
        print_table(summary + memory + nightly)
        print("\n".join(speedups + ratios))
        if memory:
            print(growth)
        if comparison:
            print("\n".join(comparison.summary()))
        print("\n".join(["", "goals:"] + goals(by_latency, memory[:2]) + ([comparison.goal()] if comparison else [])))
    return 0


@dataclass
class RestComparison:
    ours: Result
    peer: Result
    others: Result  # ours over the shared streams 2.0.8 does not extract to the end
    outcomes: dict[str, str]  # 2.0.8 with each of those streams alone
    ours_activity: tuple[int, int]  # ours' message_activity rows with an activityDate; those not before the send

    def records_lines(self) -> list[str]:
        ours = self.ours.records_by_stream + self.others.records_by_stream
        lines = [f"  {'stream':<31}{'ours':>9}{'2.0.8':>9}"]
        for stream in rest.SHARED_REST_STREAMS:
            if stream in self.outcomes:
                lines.append(f"  {stream:<31}{ours[stream]:>9,}{'—':>9}  2.0.8 alone: {self.outcomes[stream]}")
                continue
            mine, theirs = ours[stream], self.peer.records_by_stream[stream]
            note = "equal" if mine == theirs else "DIFFER"
            if stream == "message_activity" and mine != theirs:
                dated, from_send = self.ours_activity
                note += (": 2.0.8 asks dateType=Activity from the message's sendDate, so only recipients whose "
                         f"first activity is at or after the send ({'=' if theirs == from_send else '≠'} ours' "
                         f"{from_send:,}; ours with any activityDate {dated:,})")
            lines.append(f"  {stream:<31}{mine:>9,}{theirs:>9,}  {note}")
        return lines

    def requests_line(self, r: Result, name: str) -> str:
        return (f"{name} requests: {r.requests:,} (+{sum(r.other_requests.values())} token): "
                + ", ".join(f"{op} {n}" for op, n in sorted(r.requests_by_operation.items())))

    def ratio(self) -> float:
        return self.peer.wall / self.ours.wall

    def summary(self) -> list[str]:
        return ([f"REST at {self.ours.latency_ms:g} ms, published 2.0.8 and ours on {len(rest.PEER_REST_STREAMS)} "
                 f"shared streams ({', '.join(rest.PEER_REST_STREAMS)}): wall {self.peer.wall:.2f} s against "
                 f"{self.ours.wall:.2f} s = {self.ratio():.1f}x; CPU per record "
                 f"{self.peer.cpu_us_per_record:.1f} against {self.ours.cpu_us_per_record:.1f} µs",
                 "REST records per shared stream:"] + self.records_lines()
                + [self.requests_line(self.ours, "  ours"), self.requests_line(self.peer, "  2.0.8")]
                + ([limit_line(self.ours, "ours (REST)")] if self.ours.latency_ms > 0 else []))

    def goal(self) -> str:
        return (f"  wall at {self.ours.latency_ms:g} ms, published REST tap 2.0.8 ÷ ours "
                f"({len(rest.PEER_REST_STREAMS)} shared streams): {self.ratio():.1f}x ({self.peer.wall:.2f} s against "
                f"{self.ours.wall:.2f} s; goal ≥ 10x)")


def rest_comparison(dataset: dict, workdir: Path, args) -> RestComparison:
    """Ours with REST credentials and the published REST tap 2.0.8 on one REST emulator account (bench/rest.py)."""
    try:
        peer = rest.RestPeer(args.rest_peer_python, workdir)
    except FileNotFoundError as missing:
        raise BenchFailure(str(missing))
    latency, workers = args.rest_latency, args.workers
    others = [s for s in rest.SHARED_REST_STREAMS if s not in rest.PEER_REST_STREAMS]
    print(f"REST: account {dataset}, {latency:g} ms per request, start_date {rest.REST_START_DATE}", flush=True)
    with RestEmulator(latency, dataset) as emulator:
        try:
            peer_streams = peer.discover(emulator)
        except RuntimeError as failure:
            raise BenchFailure(str(failure))
        if peer_streams != sorted(rest.SHARED_REST_STREAMS):
            raise BenchFailure(f"2.0.8's streams {peer_streams} are not {sorted(rest.SHARED_REST_STREAMS)}")
        # Unmeasured: the emulator generates the account's data on first use.
        run_measured(rest.our_rest_args(emulator, workers, rest.SHARED_REST_STREAMS, workdir), "REST warm-up",
                     workdir, emulator, workers, latency, keep_stdout=False)
        activity = []
        ours = run_measured(rest.our_rest_args(emulator, workers, rest.PEER_REST_STREAMS, workdir),
                            f"ours REST {latency:g} ms, max_workers={workers}", workdir, emulator, workers, latency,
                            keep_stdout=True, inspect=lambda data: activity.append(rest.activity_counts(data)))
        published = run_measured(peer.run_args(emulator, rest.PEER_REST_STREAMS),
                                 f"published REST 2.0.8 {latency:g} ms (seq.)", workdir, emulator, 1, latency,
                                 keep_stdout=True)
        rest_others = run_measured(rest.our_rest_args(emulator, workers, others, workdir),
                                   f"ours REST {latency:g} ms, the other {len(others)}", workdir, emulator, workers,
                                   latency, keep_stdout=False)
        outcomes = {stream: peer.outcome(emulator, stream) for stream in others}
    comparison = RestComparison(ours, published, rest_others, outcomes, activity[0])
    print_table([ours, published, rest_others])
    print("\n".join(comparison.summary()), "\n", flush=True)
    return comparison


def limit_line(r: Result, name: str) -> str:
    return (f"latency limit at {r.latency_ms:g} ms, {name}: {r.requests:,} requests × {r.latency_ms:g} ms ÷ "
            f"{r.workers} workers = {r.latency_limit:.2f} s; wall ÷ limit = {r.wall / r.latency_limit:.2f}")


def goals(by_latency: dict[float, list[Result]], memory: list[Result]) -> list[str]:
    """The three figures a change is judged by, each from this run: wall time at 100 ms per request
    against the latency limit, CPU per record against the published tap at 0 ms, and peak RSS of
    the ten-times account against the account's."""
    lines = []
    if 100 in by_latency:
        ours = by_latency[100][1]
        lines.append(f"  wall at 100 ms ÷ latency limit: {ours.wall / ours.latency_limit:.2f} "
                     f"({ours.wall:.2f} s against {ours.latency_limit:.2f} s; goal ≤ 1.10)")
    if 0 in by_latency and len(by_latency[0]) > 2:
        ours, peer = by_latency[0][1], by_latency[0][2]
        lines.append(f"  CPU per record, published ÷ ours at 0 ms: {peer.cpu_us_per_record / ours.cpu_us_per_record:.1f}x "
                     f"({peer.cpu_us_per_record:.1f} against {ours.cpu_us_per_record:.1f} µs; goal ≥ 3x)")
    if len(memory) == 2:
        lines.append(f"  peak RSS, 10x account ÷ 1x: {memory[1].peak_rss_mb / memory[0].peak_rss_mb:.2f} "
                     f"({memory[0].peak_rss_mb:.1f} → {memory[1].peak_rss_mb:.1f} MB; goal ≤ 1.10)")
    return lines or ["  (none measured: run with latencies 0 and 100, the peer and the memory pair)"]


def steady_memory(dataset: dict, flags: list[str], workdir: Path, workers: int) -> list[Result]:
    """Peak RSS of one many-page stream at 15,000 and 150,000 contacts per list. Memory is bounded by
    the pool (a reply being read and a page waiting, per worker); a short run can end before every
    worker has held a full page at once, so a small account's peak understates the bound."""
    runs = []
    for contacts in (15_000, 150_000):
        with Emulator(0, dict(dataset, subscribers_per_list=contacts), flags) as emulator:
            runs.append(run_ours(emulator, workers, f"ours 0 ms, {contacts:,} contacts/list", workdir, 0,
                                 streams=["subscribed_contacts"]))
    print_table(runs)
    return runs


def newer_streams(dataset: dict, flags: list[str], workdir: Path, workers: int) -> list[Result]:
    """The streams the published tap does not have, alone and with the nine (at 0 ms)."""
    newer = [name for name in all_streams() if name not in PUBLISHED_STREAMS]
    with Emulator(0, dataset, flags) as emulator:
        runs = [run_ours(emulator, workers, "ours 0 ms, the newer streams only", workdir, 0, streams=newer),
                run_ours(emulator, workers, f"ours 0 ms, all {len(all_streams())} streams", workdir, 0)]
    print_table(runs)
    print("newer streams' requests by operation:", ", ".join(
        f"{op} {n}" for op, n in sorted(runs[0].requests_by_operation.items())), "\n", flush=True)
    return runs


# Three years of history, and thirty at the same density (messages and contacts a day): a nightly
# INCREMENTAL run should extract one day (plus the lookback) either way, where FULL_TABLE extracts
# the history. Contacts are spread over the history and two years before it (tests/emulator/data.py),
# hence 19,200 rather than 30,000 for the long account. One list of the emulator's is empty.
HISTORY = dict(lists=4, messages_per_list=110, recipients=150, subscribers_per_list=3000,
               first_date="2023-01-01", last_date="2025-12-31")
LONG_HISTORY = dict(HISTORY, messages_per_list=1100, subscribers_per_list=19200, first_date="1996-01-01")
QUICK_HISTORY = dict(HISTORY, recipients=30, subscribers_per_list=600)
QUICK_LONG_HISTORY = dict(LONG_HISTORY, recipients=30, subscribers_per_list=3840)
NIGHT = ("2025-11-20T02:00:00Z", "2025-11-21T02:00:00Z")
# A nightly run extracts a day and a day of lookback: far below this share of the history's records.
NIGHTLY_SHARE_LIMIT = 0.05


def incremental(workdir: Path, workers: int, quick: bool) -> list[Result]:
    keyed = [entry["tap_stream_id"] for entry in build_catalog()["streams"]
             if any(item["metadata"].get("valid-replication-keys") for item in entry["metadata"])]
    accounts = (("3-year", QUICK_HISTORY if quick else HISTORY),
                ("30-year", QUICK_LONG_HISTORY if quick else LONG_HISTORY))
    results, nightly = [], {}
    for name, data in accounts:
        runs = nightly_runs(name, data, keyed, workdir, workers)
        print_table(runs)
        in_keyed = [sum(n for stream, n in r.records_by_stream.items() if stream in keyed) for r in runs]
        if not in_keyed[0] or in_keyed[1] / in_keyed[0] > NIGHTLY_SHARE_LIMIT:
            raise BenchFailure(f"{name}: the nightly INCREMENTAL run extracted {in_keyed[1]:,} of the "
                               f"FULL_TABLE run's {in_keyed[0]:,} records of its streams")
        nightly[name] = (runs, in_keyed)
        print(f"{name}: records of the INCREMENTAL streams: FULL_TABLE {in_keyed[0]:,}, nightly {in_keyed[1]:,} "
              f"({in_keyed[1] / in_keyed[0]:.2%}). Requests: nightly {runs[1].requests:,} = "
              f"{runs[1].requests / runs[0].requests:.1%} of FULL_TABLE, {runs[2].requests:,} with a 60-day "
              "message walk\n", flush=True)
        results += runs
    (short, short_keyed), (long, long_keyed) = nightly["3-year"], nightly["30-year"]
    print(f"ten times the history: FULL_TABLE records {long_keyed[0] / short_keyed[0]:.1f}x; nightly INCREMENTAL "
          f"records {long_keyed[1] / max(short_keyed[1], 1):.2f}x, requests {long[1].requests / short[1].requests:.1f}x "
          f"(every message's event reports are still asked, and the message index is read whole), with a 60-day "
          f"walk {long[2].requests / short[2].requests:.1f}x\n", flush=True)
    return results


def nightly_runs(name: str, data: dict, keyed: list[str], workdir: Path, workers: int) -> list[Result]:
    """A FULL_TABLE run at the first night, then two INCREMENTAL runs at the next from its state."""
    with Emulator(0, data, EMULATOR_FLAGS) as emulator:
        start = f"{data['first_date']}T00:00:00Z"
        emulator.set_clock(NIGHT[0])
        # The streams that can be INCREMENTAL (their parents, lists and messages, are read anyway):
        # the others cost a FULL_TABLE run every night whatever the state says.
        full = run_ours(emulator, workers, f"{name}, FULL_TABLE", workdir, 0, keep_stdout=True,
                        start_date=start, end_date=NIGHT[0], streams=keyed)
        emulator.set_clock(NIGHT[1])
        runs = [full]
        for label, extra in (("nightly INCREMENTAL", {}), ("nightly, 60-day walk", {"incremental_message_days": 60})):
            runs.append(run_ours(emulator, workers, f"{name}, {label}", workdir, 0, keep_stdout=True,
                                 start_date=start, end_date=NIGHT[1], state=full.last_state, incremental=keyed,
                                 streams=keyed, **extra))
        return runs


if __name__ == "__main__":
    sys.exit(main())
