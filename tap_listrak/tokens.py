"""The REST API's access token: OAuth2 client credentials, fetched once, kept, and renewed before
it runs out.

Listrak's tokens live `expires_in` seconds (3599 in every recorded grant); a token is renewed
RENEW_BEFORE seconds before that, so no request is sent with one about to expire. A token the API
refuses anyway (HTTP 401: revoked, or the clock was off) is renewed once by the client; many
workers refused at once renew it once, not once each (`renew(stale)`).
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from tap_listrak.errors import ProtocolError

RENEW_BEFORE = 60.0  # seconds before expires_in runs out


class Tokens:
    """Thread-safe. `fetch()` asks the token endpoint and returns its JSON object."""

    def __init__(self, fetch: Callable[[], dict], clock: Callable[[], float] = time.monotonic):
        self._fetch, self._clock = fetch, clock
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()
        self.grants = 0
        # The last grant as issued (read by --probe): its expires_in, whatever its type, and when it was asked.
        self.issued_expires_in: object = None
        self.granted_at: float | None = None

    def get(self) -> str:
        """A token good for at least RENEW_BEFORE seconds more."""
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._grant()
            return self._token

    def renew(self, stale: str) -> str:
        """A new token unless another thread already replaced `stale`."""
        with self._lock:
            if self._token == stale or self._token is None:
                self._grant()
            return self._token

    @property
    def current(self) -> str | None:
        return self._token

    def _grant(self) -> None:
        asked = self._clock()
        reply = self._fetch()
        token, lifetime = reply.get("access_token"), reply.get("expires_in")
        self.issued_expires_in, self.granted_at = lifetime, asked
        if not isinstance(token, str) or not token:
            raise ProtocolError("the token endpoint's reply has no access_token: check rest_token_url")
        if isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)) or lifetime <= 0:
            lifetime = 3599  # Listrak's; a reply without it is read as Listrak's usual lifetime
        # Renewed RENEW_BEFORE seconds early, or halfway through a lifetime shorter than twice that.
        self._token = token
        self._renew_at = asked + float(lifetime) - min(RENEW_BEFORE, float(lifetime) / 2)
        self.grants += 1
