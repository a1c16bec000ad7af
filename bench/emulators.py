"""The two emulators as processes of their own, for the benchmark: `python -m tests.emulator` (SOAP)
and `python -m tests.rest_emulator` (REST), started with a latency and an account, counted and reset
over their admin routes, stopped on leaving a `with` block."""
from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class BenchFailure(Exception):
    pass


class Emulator:
    """The SOAP emulator; `url` is its service address."""
    MODULE, SERVICE_PATH = "tests.emulator", "/v31/"

    def __init__(self, latency_ms: float, dataset: dict, flags: list[str] = ()):
        args = [sys.executable, "-m", self.MODULE, "--port", "0", "--latency-ms", str(latency_ms), *flags]
        for knob, value in dataset.items():
            args += [f"--{knob.replace('_', '-')}", str(value)]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http"):
            self.stop()
            raise BenchFailure(f"the emulator did not start: {' '.join(args)}")
        self.base = self.url.split(self.SERVICE_PATH)[0]

    def requests(self) -> dict[str, int]:
        """Requests by operation."""
        with urllib.request.urlopen(self.base + "/_stats", timeout=10) as reply:
            return json.load(reply)["requests"]

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.base + "/_reset", method="POST"), timeout=10).close()

    def set_clock(self, as_of: str) -> None:
        request = urllib.request.Request(self.base + "/_clock", data=json.dumps({"as_of": as_of}).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).close()

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class RestEmulator(Emulator):
    """The REST emulator; `url` is its base address (…/email/v1), `token_url` its token endpoint."""
    MODULE, SERVICE_PATH = "tests.rest_emulator", "/email/v1"

    def __init__(self, latency_ms: float, dataset: dict, flags: list[str] = ()):
        # The account as of now: the generator dates some events in the future, which no real account
        # holds, and a sync (whose end is its start time) leaves them out where 2.0.8 reads them.
        as_of = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        super().__init__(latency_ms, dataset, ["--as-of", as_of, *flags])
        self.token_url = self.base + "/OAuth2/Token"

    def requests(self) -> dict[str, int]:
        """Requests by operationId (`_token` for the token endpoint), every status together."""
        with urllib.request.urlopen(self.base + "/_stats", timeout=10) as reply:
            return {op: sum(by_status.values()) for op, by_status in json.load(reply)["requests"].items()}
