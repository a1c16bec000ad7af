"""The REST probe's pure rules, and the probe run in-process against the REST emulator where a rule
needs an account (a budget smaller than the default, a clock of its own)."""
import datetime as dt

import pytest

from tap_listrak import rest_probe
from tap_listrak.config import parse_config
from tap_listrak.errors import NotFoundError, ProtocolError
from tap_listrak.probe import exit_code, summary_lines
from tests.conftest import SMALL_REST_DATASET


@pytest.mark.parametrize("texts,form", [
    (["2019-01-14T12:44:40.65", "2019-01-14T12:44:41", "2019-01-14T12:44:42.123"], "trimmed"),
    (["2019-01-14T12:44:40", "2019-01-14T12:44:41"], "seconds"),
    (["2019-01-14T12:44:40.650", "2019-01-14T12:44:41.123"], "fixed-3"),
    (["2019-01-14T12:44:40.6500000", "2019-01-14T12:44:41.1234567"], "fixed-7"),
    (["2019-01-14T12:44:40.650", "2019-01-14T12:44:41"], "mixed"),
    (["2019-01-14T12:44:40.5Z", "2019-01-14T12:44:41-05:00"], "trimmed"),
    (["not a date"], None), ([], None),
])
def test_the_fraction_form_of_the_dates(texts, form):
    assert rest_probe.fraction_form(texts) == form


def test_offsets_are_read_off_the_dates():
    assert rest_probe.offsets_of(["2019-01-14T12:44:40.65", "2019-01-14T12:44:41"]) == []
    assert rest_probe.offsets_of(["2019-01-14T12:44:40Z", "2019-01-14T12:44:41.5-05:00", "2019-01-15T01:00:00Z"]) \
        == ["-05:00", "Z"]
    assert rest_probe.offsets_of(["2019-01-14"]) == []  # a date alone has no time, so no offset


@pytest.mark.parametrize("cursor,kind", [
    ("MTIzLjRhYmM", "url-safe token"), ("12345", "number"), ("https://api.listrak.com/email/v1/x?cursor=2", "uri"),
    ("a b/c+d", "token needing URL encoding"),
])
def test_a_cursor_is_described_by_its_length_and_characters_only(cursor, kind):
    assert rest_probe.cursor_form(cursor) == {"length": len(cursor), "characters": kind}


def test_an_error_is_shown_by_its_status_and_code_only():
    said = ProtocolError("List/{listId}/Contact: HTTP 400 ERROR_INVALID_PARAMETER: An invalid value was supplied "
                         "for someone@example.com.: the request was refused")
    assert rest_probe.error_code(said) == "HTTP 400 ERROR_INVALID_PARAMETER"
    assert rest_probe.error_code(NotFoundError("HTTP 404")) == "HTTP 404"
    assert rest_probe.error_code(ProtocolError("the reply is not whole JSON")) == "ProtocolError"


@pytest.mark.parametrize("minutes,verdict", [(11, False), (600, False), (10, True), (0, True), (-60, True),
                                             (-61, None), (-60 * 24 * 30, None)])
def test_the_zone_verdict_of_the_latest_past_date(minutes, verdict):
    assert rest_probe.zone_verdict(dt.timedelta(minutes=minutes)) is verdict


def _config(emulator, **settings):
    return parse_config({"client_id": emulator.client_id, "client_secret": emulator.client_secret,
                         "start_date": "2000-01-01T00:00:00Z", "rest_base_url": emulator.base_url,
                         "rest_token_url": emulator.token_url, "request_timeout": 10, "backoff_base_seconds": 0.01,
                         **settings})


def _run(emulator, budget=rest_probe.MAX_REQUESTS, now=None, **settings):
    config = _config(emulator, **settings)
    tokens = []
    report, failure = rest_probe.probe(rest_probe.make_clients(config, tokens.append), config, now=now,
                                       budget=budget)
    return report, failure, tokens


@pytest.mark.parametrize("budget", [10, 16, 25])
def test_a_smaller_budget_is_never_passed_and_what_it_left_out_says_so(rest_emulator_factory, budget):
    emulator = rest_emulator_factory(**SMALL_REST_DATASET)
    report, failure, _ = _run(emulator, budget=budget)
    assert failure is None
    assert report["requests"] == emulator.stats()["total_requests"] <= budget
    cut = [name for name, found in report["observations"].items() if "budget" in found["evidence"]]
    assert cut, report["observations"]
    assert exit_code(report, failure) == 0


def test_every_token_granted_is_handed_over_for_redaction_and_kept_out_of_the_report(rest_emulator_factory):
    emulator = rest_emulator_factory(**SMALL_REST_DATASET)
    report, _, tokens = _run(emulator)
    assert len(tokens) == emulator.stats()["tokens_issued"] == 2  # the probe's, and the second grant's
    text = repr(report) + "\n".join(summary_lines(report))
    assert not [token for token in tokens if token in text]
    assert emulator.client_secret not in text and emulator.client_id not in text


def test_a_clock_behind_the_account_reads_its_dates_in_the_future(rest_emulator_factory):
    # A date known to lie in the past that reads after the probe's clock: listrak_timezone does not hold.
    emulator = rest_emulator_factory(**SMALL_REST_DATASET)
    report, failure, _ = _run(emulator, now=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    check = next(a for a in report["assumptions"] if a["name"] == "listrak_timezone")
    assert check["holds"] is False and check["setting"] == "listrak_timezone"
    assert exit_code(report, failure) == 1
    assert any("DOES NOT HOLD listrak_timezone" in line and "[setting: listrak_timezone]" in line
               for line in summary_lines(report))


def test_a_token_refused_inside_its_lifetime_does_not_hold(rest_emulator_factory):
    # The third API call finds its token dead: renewed once, the probe goes on, and says so.
    emulator = rest_emulator_factory(**SMALL_REST_DATASET, fault_on=("*:3:token-expired",))
    report, failure, _ = _run(emulator)
    assert failure is None
    check = next(a for a in report["assumptions"] if a["name"] == "token_lifetime")
    assert check["holds"] is False and "inside its expires_in" in check["advice"]
    assert report["requests"] == emulator.stats()["total_requests"] <= 60
