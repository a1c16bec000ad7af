"""Two builds of the tap on one emulator account, run in turn: `python -m bench.ab TAP_A TAP_B`, or
`python -m bench.ab TAP_A --variant NAME` (B: this checkout with one part swapped, bench/variant.py).

The project keeps a hand-written replacement of a library's work only if removing it makes the
benchmark account's sync, at 100 ms per request with the default workers, 5 % slower in wall time
or 10 % higher in peak RSS (docs/architecture.md, "What the tap writes itself"). This measures
exactly that: build A and build B (each a `tap-listrak` executable, e.g. of two virtualenvs or
worktrees) alternate on the same emulator, every stream selected, and the medians of their wall
time, CPU time and peak RSS are printed with B's ratio to A.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.run import (DATASET, DEFAULT_WORKERS, EMULATOR_FLAGS, ROOT, Emulator, Result, our_config, print_table,
                       run_ours)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tap_a", type=Path)
    parser.add_argument("tap_b", type=Path, nargs="?")
    parser.add_argument("--variant", help="B is this checkout run through bench.variant NAME")
    parser.add_argument("--latency", type=float, default=100.0, help="ms per request (default 100)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each build (default 3)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    args = parser.parse_args(argv)
    if (args.tap_b is None) == (args.variant is None):
        parser.error("give TAP_B or --variant, one of them")
    # absolute(), not resolve(): a virtualenv's executables are found through their own path
    args.tap_a = args.tap_a.absolute()
    args.tap_b = args.tap_b and args.tap_b.absolute()
    results: dict[str, list[Result]] = {"A": [], "B": []}
    with tempfile.TemporaryDirectory(prefix="tap-listrak-ab-") as tmp, \
            Emulator(args.latency, DATASET, EMULATOR_FLAGS) as emulator:
        workdir = Path(tmp)
        if args.variant:
            args.tap_b = variant_executable(args.variant, workdir)
        # Each build with its own discovery's catalog: two versions may not have the same fields.
        catalogs = {tap: discovered(tap, emulator, workdir) for tap in (args.tap_a, args.tap_b)}
        run_ours(emulator, args.workers, "warm-up", workdir, args.latency, tap=args.tap_a,
                 catalog=catalogs[args.tap_a])
        for round_ in range(1, args.rounds + 1):
            for name, tap in (("A", args.tap_a), ("B", args.tap_b)):
                results[name].append(run_ours(emulator, args.workers, f"{name} round {round_}", workdir,
                                              args.latency, tap=tap, catalog=catalogs[tap]))
    print_table(results["A"] + results["B"])
    a, b = (_medians(results[name]) for name in ("A", "B"))
    limit = results["A"][0].latency_limit
    for name, m in (("A", a), ("B", b)):
        print(f"{name}: median wall {m['wall']:.2f} s ({m['wall'] / limit:.3f} of the latency limit {limit:.2f} s), "
              f"CPU {m['cpu']:.2f} s, peak RSS {m['rss']:.1f} MB")
    print(f"B ÷ A: wall {b['wall'] / a['wall']:.3f}, CPU {b['cpu'] / a['cpu']:.3f}, peak RSS {b['rss'] / a['rss']:.3f}")
    if results["A"][0].records_by_stream != results["B"][0].records_by_stream:
        print("records per stream DIFFER between A and B")
        return 1
    return 0


def discovered(tap: Path, emulator: Emulator, workdir: Path) -> dict:
    (workdir / "config.json").write_text(json.dumps(our_config(emulator, DEFAULT_WORKERS)))
    done = subprocess.run([str(tap), "--config", str(workdir / "config.json"), "--discover"], capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"{tap} --discover failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def variant_executable(name: str, workdir: Path) -> Path:
    """An executable that runs this checkout's tap through bench.variant NAME."""
    path = workdir / f"tap-listrak-{name}"
    path.write_text(f'#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m bench.variant {name} "$@"\n')
    path.chmod(0o755)
    return path


def _medians(runs: list[Result]) -> dict[str, float]:
    return {"wall": statistics.median(r.wall for r in runs), "cpu": statistics.median(r.cpu for r in runs),
            "rss": statistics.median(r.peak_rss_mb for r in runs)}


if __name__ == "__main__":
    sys.exit(main())
