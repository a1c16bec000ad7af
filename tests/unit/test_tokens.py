"""The access token: fetched once, kept, renewed before expires_in runs out, renewed once for many."""
import pytest

from tap_listrak.errors import ProtocolError
from tap_listrak.tokens import RENEW_BEFORE, Tokens


class Endpoint:
    def __init__(self, lifetime=3599):
        self.calls, self.lifetime = 0, lifetime

    def __call__(self):
        self.calls += 1
        return {"access_token": f"token-{self.calls}", "token_type": "bearer", "expires_in": self.lifetime}


def test_the_token_is_kept_until_shortly_before_it_expires():
    now = [1000.0]
    endpoint = Endpoint()
    tokens = Tokens(endpoint, clock=lambda: now[0])
    assert tokens.get() == "token-1" and tokens.get() == "token-1"
    now[0] += 3599 - RENEW_BEFORE - 1
    assert tokens.get() == "token-1"
    now[0] += 2
    assert tokens.get() == "token-2" and endpoint.calls == 2


def test_a_refused_token_is_renewed_once_for_every_request_that_held_it():
    endpoint = Endpoint()
    tokens = Tokens(endpoint)
    stale = tokens.get()
    assert tokens.renew(stale) == "token-2"
    assert tokens.renew(stale) == "token-2"  # a second worker refused with the same token: no new grant
    assert endpoint.calls == 2


def test_a_grant_without_a_token_is_outside_the_contract():
    with pytest.raises(ProtocolError, match="access_token"):
        Tokens(lambda: {"error": "x"}).get()


def test_the_last_grant_is_kept_as_issued_for_the_probe():
    now = [50.0]
    tokens = Tokens(Endpoint(lifetime=120), clock=lambda: now[0])
    assert tokens.issued_expires_in is None and tokens.granted_at is None
    tokens.get()
    assert tokens.issued_expires_in == 120 and tokens.granted_at == 50.0
    tokens = Tokens(lambda: {"access_token": "t"})
    tokens.get()
    assert tokens.issued_expires_in is None and tokens.grants == 1  # read as 3599, shown as missing
