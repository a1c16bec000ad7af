"""Running REST emulators from Python (tests, benchmarks, demos): start one, query it, stop it."""
from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Iterable, Optional

from .options import cli_args
from .server import RestEmulator
from .spec import RestServerSpec, split_knobs
from .truth import truth


class RestEmulatorHandle:
    """A running REST emulator on 127.0.0.1, in a background thread of this process.

    knobs: field names of tests.emulator.spec.DatasetSpec (the account; timezone defaults to America/New_York)
    and of tests.rest_emulator.spec.RestServerSpec (behaviour)."""

    def __init__(self, **knobs) -> None:
        dataset, server = split_knobs(knobs)
        self._emulator = RestEmulator(dataset, server).start()
        self.dataset = dataset
        self.data = self._emulator.data  # the generator shared with the SOAP emulator
        self.account = self._emulator.account  # the REST view of it
        self.root: str = self._emulator.root  # http://127.0.0.1:PORT (admin routes live here)
        self.base_url: str = self._emulator.base_url  # …/email/v1
        self.token_url: str = self._emulator.token_url  # …/OAuth2/Token

    @property
    def url(self) -> str:
        return self.base_url

    @property
    def server(self) -> RestServerSpec:
        return self._emulator.server_spec

    @property
    def client_id(self) -> str:
        return self.server.client_id

    @property
    def client_secret(self) -> str:
        return self.server.client_secret

    def config(self) -> dict:
        """The connection settings a REST client takes: base_url, token_url, client_id, client_secret."""
        return {"base_url": self.base_url, "token_url": self.token_url, "client_id": self.client_id,
                "client_secret": self.client_secret}

    def token(self) -> str:
        """A fresh access token (one POST to the token endpoint; counted in tokens_issued)."""
        body = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": self.client_id,
                                       "client_secret": self.client_secret}).encode()
        request = urllib.request.Request(self.token_url, body,
                                         {"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.load(reply)["access_token"]

    def stats(self) -> dict:
        return self._emulator.stats()

    def http_stats(self) -> dict:
        with urllib.request.urlopen(self.root + "/_stats", timeout=10) as reply:
            return json.load(reply)

    def reset(self) -> None:
        self._emulator.reset()

    def expire_tokens(self) -> None:
        """Every token issued so far expires now: the next call with one answers 401."""
        self._emulator.expire_tokens()

    def set_clock(self, as_of=...) -> dict:
        return self._emulator.set_clock(**({} if as_of is ... else {"as_of": as_of}))

    def truth(self, resources: Optional[Iterable[str]] = None, start_date=None, end_date=None, **options) -> dict:
        """Every item as served (wire form) with its path parameters, filtered like the server filters the same
        window; the server's knobs and clock apply. options: see tests.rest_emulator.truth.truth."""
        return truth(self.data, resources, start_date, end_date, server=self.server, **options)

    def cli_args(self) -> list[str]:
        """Knobs to start the same emulator as a subprocess: python -m tests.rest_emulator --port 0 *cli_args()."""
        return cli_args(self.dataset, self.server)

    def internal_errors(self) -> list[str]:
        with self._emulator._lock:
            return list(self._emulator.internal_errors)

    def stop(self) -> None:
        self._emulator.stop()

    def __enter__(self) -> "RestEmulatorHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
