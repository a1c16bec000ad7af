"""Running emulators from Python (tests, benchmarks, demos): start one, query it, stop it."""
from __future__ import annotations

import json
import urllib.request
from typing import Iterable, Optional

from .options import cli_args
from .server import Emulator
from .spec import ServerSpec, split_knobs
from .truth import truth


class EmulatorHandle:
    """A running emulator on 127.0.0.1, in a background thread of this process."""

    def __init__(self, **knobs) -> None:
        dataset, server = split_knobs(knobs)
        self._emulator = Emulator(dataset, server).start()
        self.url: str = self._emulator.url
        self.wsdl_url: str = self._emulator.wsdl_url
        self.dataset = dataset
        self.data = self._emulator.data  # the generator, e.g. to pick MsgIDs

    @property
    def server(self) -> ServerSpec:
        """The behaviour knobs, the clock as it is now included."""
        return self._emulator.server_spec

    @property
    def base_url(self) -> str:
        return self.url.split("/v31/")[0]

    @property
    def soap_headers(self) -> dict:
        """The WSUser header as zeep takes it: client.service.Op(..., _soapheaders=handle.soap_headers)."""
        return {"WSUser": {"UserName": self.server.username, "Password": self.server.password}}

    def stats(self) -> dict:
        return self._emulator.stats()

    def http_stats(self) -> dict:
        with urllib.request.urlopen(self.base_url + "/_stats", timeout=10) as reply:
            return json.load(reply)

    def reset(self) -> None:
        self._emulator.reset()

    def set_clock(self, as_of=..., reporting_delay_hours=...) -> dict:
        """Move the clock for every following request, like POST /_clock; an argument left out keeps its value,
        as_of=None removes the clock. -> the new settings (as /_clock answers them)."""
        changes = {"as_of": as_of, "reporting_delay_hours": reporting_delay_hours}
        return self._emulator.set_clock(**{k: v for k, v in changes.items() if v is not ...})

    def truth(self, start_date, end_date=None, lookback_days: float = 30, list_ids: Optional[Iterable[int]] = None,
              include_test_messages: bool = False, as_of=..., reporting_delay_hours=...) -> dict[str, list[dict]]:
        """The ground truth; as_of and reporting_delay_hours default to the emulator's clock as it is now."""
        server = self.server
        return truth(self.data, start_date, end_date, lookback_days, list_ids, include_test_messages,
                     server.event_date_format, server.as_of if as_of is ... else as_of,
                     server.reporting_delay_hours if reporting_delay_hours is ... else reporting_delay_hours)

    def cli_args(self) -> list[str]:
        """Knobs to start the same emulator as a subprocess: python -m tests.emulator --port 0 *cli_args()."""
        return cli_args(self.dataset, self.server)

    def record_calls(self) -> None:
        """From now on keep every SOAP call read (its operation and parameters), for calls()."""
        with self._emulator._log_lock:
            self._emulator.calls = []

    def calls(self) -> list[tuple[str, dict]]:
        """The SOAP calls read since record_calls() (or the last reset()), in arrival order: (operation,
        parameters as the service read them: ints, booleans, naive UTC datetimes, tuples for arrays)."""
        with self._emulator._log_lock:
            return list(self._emulator.calls or [])

    def internal_errors(self) -> list[str]:
        """Tracebacks of the emulator's own failures so far (each also answered as a soap:Server fault)."""
        with self._emulator._log_lock:
            return list(self._emulator.internal_errors)

    def stop(self) -> None:
        self._emulator.stop()

    def __enter__(self) -> "EmulatorHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
