"""Runs `tap-listrak --probe` as a subprocess and reads its report, for the SOAP and REST probe tests:
each variant's emulator is started once per module and probed once."""
from __future__ import annotations

import json
import subprocess
from typing import Callable

from tests.e2e.tap_runner import TAP, _write


class Probed:
    """One probe's exit status, output and report (None when it printed none), and the emulator it ran on."""

    def __init__(self, emulator, done: subprocess.CompletedProcess):
        self.emulator, self.returncode, self.stdout, self.stderr = emulator, done.returncode, done.stdout, done.stderr
        self.report = json.loads(done.stdout) if done.stdout.strip() else None

    def observed(self, name):
        return self.report["observations"][name]["value"]

    def assumption(self, name):
        return next(a for a in self.report["assumptions"] if a["name"] == name)

    @property
    def critical(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("CRITICAL")]


def run_probe(tmp_path, config: dict) -> subprocess.CompletedProcess:
    args = [str(TAP), "--config", _write(tmp_path / "config.json", config), "--probe"]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, encoding="utf-8")


class ProbedVariants:
    """probed(variant) → Probed: `start(knobs)` starts that variant's emulator on first use, `probe(tmp_path,
    emulator)` runs the probe against it; both once per variant. stop() ends every emulator."""

    def __init__(self, tmp_path_factory, variants: dict, start: Callable, probe: Callable):
        self.tmp_path_factory, self.variants, self.start, self.probe = tmp_path_factory, variants, start, probe
        self.runs: dict[str, Probed] = {}

    def __call__(self, variant: str) -> Probed:
        if variant not in self.runs:
            emulator = self.start(self.variants[variant])
            self.runs[variant] = Probed(emulator, self.probe(self.tmp_path_factory.mktemp(variant), emulator))
            assert not emulator.internal_errors()
        return self.runs[variant]

    def stop(self) -> None:
        for run in self.runs.values():
            run.emulator.stop()
