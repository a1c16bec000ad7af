"""Which API a config selects, and the REST API's settings."""
from zoneinfo import ZoneInfo

import pytest

from tap_listrak.config import parse_config
from tap_listrak.errors import ConfigError

SOAP = {"username": "api-user", "password": "Pw-soap-secret", "start_date": "2024-01-01"}
REST = {"client_id": "client-4711", "client_secret": "Cs-rest-secret-0042", "start_date": "2024-01-01"}


def error_of(raw: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_client_id_and_secret_select_rest_with_its_defaults():
    config = parse_config(REST)
    assert config.api == "rest" and config.rest
    assert config.rest_base_url == "https://api.listrak.com/email/v1"
    assert config.rest_token_url == "https://auth.listrak.com/OAuth2/Token"
    # The REST API writes Eastern wall-clock times (docs/architecture.md, decisions).
    assert config.listrak_timezone == ZoneInfo("America/New_York")
    assert "Cs-rest-secret-0042" in config.secrets and "client-4711" in config.secrets
    assert "Cs-rest-secret-0042" not in repr(config)


def test_username_and_password_select_soap_with_utc_unchanged():
    config = parse_config(SOAP)
    assert config.api == "soap" and not config.rest
    assert config.listrak_timezone == ZoneInfo("UTC")


def test_both_pairs_need_api_to_say_which():
    message = error_of({**SOAP, **REST})
    assert "'api'" in message and "soap" in message and "rest" in message
    assert "Cs-rest-secret-0042" not in message and "Pw-soap-secret" not in message
    assert parse_config({**SOAP, **REST, "api": "rest"}).rest
    assert not parse_config({**SOAP, **REST, "api": "SOAP"}).rest


def test_an_explicit_zone_wins_for_rest():
    assert parse_config({**REST, "listrak_timezone": "UTC"}).listrak_timezone == ZoneInfo("UTC")


@pytest.mark.parametrize("missing", ["client_id", "client_secret"])
def test_half_a_rest_pair_names_the_missing_key(missing):
    raw = {key: value for key, value in REST.items() if key != missing}
    assert repr(missing) in error_of(raw)


def test_api_rest_without_rest_credentials_names_them():
    assert "'client_id'" in error_of({**SOAP, "api": "rest"})


def test_bad_api_and_urls():
    assert "'api'" in error_of({**REST, "api": "graphql"})
    assert "'rest_base_url'" in error_of({**REST, "rest_base_url": "api.listrak.com"})
    assert "'rest_token_url'" in error_of({**REST, "rest_token_url": "ftp://x"})


def test_no_credentials_at_all_names_both_ways():
    message = error_of({"start_date": "2024-01-01"})
    assert "'username'" in message and "client_id" in message
