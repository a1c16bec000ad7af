"""The benchmark account's output as sorted RECORD lines, for holding a change to "same output".

`python -m bench.same_output OUT [--tap PATH]` syncs every stream of the benchmark account (bench/run.py's
DATASET and emulator flags, at 0 ms, with a fixed end_date so that two runs ask for the same window)
and writes the RECORD lines, sorted, to OUT. Two commits' files compared with `cmp` (or `diff`, to
see which streams differ) tell whether a change altered what a target receives.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.run import DATASET, EMULATOR_FLAGS, Emulator, all_streams, our_config
from tests.e2e.tap_runner import TAP, catalog_selecting

END_DATE = "2026-01-01T00:00:00Z"


def record_lines(tap: Path, workdir: Path, workers: int) -> list[bytes]:
    with Emulator(0, DATASET, EMULATOR_FLAGS) as emulator:
        config = our_config(emulator, workers, end_date=END_DATE)
        (workdir / "config.json").write_text(json.dumps(config))
        (workdir / "catalog.json").write_text(json.dumps(catalog_selecting(all_streams())))
        done = subprocess.run([str(tap), "--config", str(workdir / "config.json"), "--catalog",
                               str(workdir / "catalog.json")], capture_output=True, timeout=1800)
    if done.returncode != 0:
        sys.exit(f"the tap failed (exit {done.returncode}):\n{done.stderr.decode(errors='replace')[-3000:]}")
    return sorted(line for line in done.stdout.splitlines() if line.startswith(b'{"type":"RECORD"'))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="file to write the sorted RECORD lines to")
    parser.add_argument("--tap", type=Path, default=TAP, help="the tap-listrak executable (default: this venv's)")
    parser.add_argument("--workers", type=int, default=12)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tap-listrak-output-") as tmp:
        lines = record_lines(args.tap, Path(tmp), args.workers)
    args.out.write_bytes(b"\n".join(lines) + b"\n")
    print(f"{len(lines):,} RECORD lines written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
