"""How fast the emulator serves: requests/s and records/s with concurrent keep-alive clients.

    python -m tests.emulator.measure [--seconds 5] [--workers 8]

Starts the emulator as a subprocess (so client and server do not share one interpreter lock), warms
its caches with one pass over the requests, then replays them from `workers` threads for `seconds`,
for small pages (10 items) and full pages (2,500 items). The client only counts bytes and items, so
the figures are what the server sustains on this machine with the client beside it.
"""
from __future__ import annotations

import argparse
import http.client
import itertools
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from .rawsoap import NS, envelope

ROOT = Path(__file__).resolve().parents[2]
DATA = ["--lists", "2", "--empty-lists", "0", "--messages-per-list", "10", "--recipients", "10000",
        "--open-rate", "0.6", "--click-rate", "0.3", "--read-rate", "0.3"]
RANGE = {"StartDate": "2000-01-01T00:00:00", "EndDate": "2100-01-01T00:00:00"}
OPS = ("ReportMessageContactSent", "ReportRangeMessageContactOpen", "ReportRangeMessageContactClick",
       "ReportRangeMessageContactRead")


def requests_for(page_size: int) -> list[tuple[str, bytes, bytes]]:
    """(op, body, item tag) for every page of every message, ops interleaved as a tap's workers would."""
    from .data import Dataset
    from .options import add_knobs, specs_from_args

    parser = argparse.ArgumentParser()
    add_knobs(parser)
    dataset, _ = specs_from_args(parser.parse_args(DATA))
    data = Dataset(dataset)
    out = []
    for message in data.all_messages():
        events = data.events(message.list_index, message.index)
        sizes = {"ReportMessageContactSent": message.recipient_count,
                 "ReportRangeMessageContactOpen": len(events.opens),
                 "ReportRangeMessageContactClick": len(events.clicks),
                 "ReportRangeMessageContactRead": len(events.reads)}
        for op in OPS:
            item = {"ReportMessageContactSent": b"<WSMessageRecipient>", "ReportRangeMessageContactOpen": b"<WSContactOpen>",
                    "ReportRangeMessageContactClick": b"<WSContactClick>",
                    "ReportRangeMessageContactRead": b"<WSContactRead>"}[op]
            pages = max(1, -(-sizes[op] // page_size))
            for page in range(1, min(pages, 40) + 1):
                params = {"MsgID": message.MsgID, **({} if op == "ReportMessageContactSent" else RANGE), "Page": page}
                out.append((op, envelope(op, params).encode(), item))
    return out


def run(url: str, calls: list, seconds: float | None, workers: int) -> dict:
    """Replay calls round-robin for `seconds`, or each call once when seconds is None."""
    parts = urlsplit(url)
    feed = iter(calls) if seconds is None else itertools.cycle(calls)
    lock = threading.Lock()
    stop_at = time.monotonic() + (seconds if seconds is not None else 3600)
    totals = {"requests": 0, "records": 0, "bytes": 0, "errors": 0}

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine = {"requests": 0, "records": 0, "bytes": 0, "errors": 0}
        while time.monotonic() < stop_at:
            with lock:
                op, body, item = next(feed, (None, None, None))
            if op is None:
                break
            conn.request("POST", parts.path, body=body, headers={
                "Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}{op}"'})
            reply = conn.getresponse()
            data = reply.read()
            mine["requests"] += 1
            mine["bytes"] += len(data)
            if reply.status == 200:
                mine["records"] += data.count(item)
            else:
                mine["errors"] += 1
        conn.close()
        with lock:
            for key, value in mine.items():
                totals[key] += value

    started = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(worker) for _ in range(workers)]:
            future.result()
    elapsed = time.monotonic() - started
    return {"requests_per_s": totals["requests"] / elapsed, "records_per_s": totals["records"] / elapsed,
            "mb_per_s": totals["bytes"] / elapsed / 1e6, "records_per_request": totals["records"] / max(totals["requests"], 1),
            "errors": totals["errors"]}


def measure(page_size: int, seconds: float, workers: int) -> dict:
    server = subprocess.Popen([sys.executable, "-m", "tests.emulator", "--port", "0", "--page-size", str(page_size),
                               *DATA], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        calls = requests_for(page_size)
        run(url, calls, None, workers)  # one pass: generate and render the data once
        return run(url, calls, seconds, workers)
    finally:
        server.terminate()
        server.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator.measure", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args(argv)
    for label, size in (("small pages (10 items)", 10), ("full pages (2,500 items)", 2500)):
        figures = measure(size, args.seconds, args.workers)
        print(f"{label:26s} {figures['requests_per_s']:8.0f} req/s {figures['records_per_s']:10.0f} records/s "
              f"{figures['mb_per_s']:7.1f} MB/s  {figures['records_per_request']:7.1f} records/req  "
              f"errors {figures['errors']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
