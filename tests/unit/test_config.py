"""Reading and checking the config: every bad value is one ConfigError that names the key and the fix."""
import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from tap_listrak.config import load_config, parse_config
from tap_listrak.errors import ConfigError

UTC = dt.timezone.utc
PASSWORD = "Pw-7f3a9c-\u00e9t\u00e9-\U0001F511"
BASE = {"username": "api-user", "password": PASSWORD, "start_date": "2024-01-01T00:00:00Z"}


def config(**changes):
    raw = {**BASE, **changes}
    return parse_config({key: value for key, value in raw.items() if value is not ...})


def error_of(**changes) -> str:
    with pytest.raises(ConfigError) as caught:
        config(**changes)
    message = str(caught.value)
    assert "\n" not in message  # the CLI prints one line
    return message


# -- required keys ----------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["username", "password", "start_date"])
@pytest.mark.parametrize("value", [..., None, ""])
def test_required_key_missing_or_empty(key, value):
    message = error_of(**{key: value})
    assert repr(key) in message
    assert "add" in message  # says what to do, not only what is wrong


@pytest.mark.parametrize("key", ["username", "start_date"])
def test_required_key_of_blanks_counts_as_empty(key):
    assert repr(key) in error_of(**{key: "   "})


def test_config_must_be_an_object():
    for raw in ([BASE], "config", 3, None):
        with pytest.raises(ConfigError, match="JSON object"):
            parse_config(raw)


# -- defaults ---------------------------------------------------------------------------------------
def test_defaults_are_the_documented_ones():
    c = config()
    assert c.username == "api-user" and c.password == PASSWORD
    assert c.end_date is None
    assert c.endpoint_url == "https://webservices.listrak.com/v31/IntegrationService.asmx"
    assert c.request_timeout == 300
    assert c.user_agent.startswith("tap-listrak/")
    assert c.list_ids is None
    assert c.interval_days == 365
    assert c.include_test_messages is False
    assert c.message_lookback_days == 30
    assert c.listrak_timezone == ZoneInfo("UTC")
    assert c.max_workers == 12
    assert c.backoff_max_tries == 5
    assert c.backoff_max_seconds == 600
    assert c.backoff_base_seconds == 2
    assert c.incremental_lookback_hours == 24
    assert c.incremental_message_days is None


def test_null_or_blank_optional_keys_take_the_default():
    c = config(end_date=None, list_ids="", listrak_timezone="", max_workers=None, user_agent="  ")
    assert c.end_date is None and c.list_ids is None and c.max_workers == 12
    assert c.listrak_timezone == ZoneInfo("UTC") and c.user_agent.startswith("tap-listrak/")


def test_secrets_are_password_and_username():
    assert set(config().secrets) == {PASSWORD, "api-user"}


def test_secrets_stay_out_of_the_repr():
    text = repr(config(username="user-5821"))
    assert PASSWORD not in text and "user-5821" not in text
    assert "max_workers=12" in text


# -- dates ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("2024-01-01", dt.datetime(2024, 1, 1, tzinfo=UTC)),                       # naive date: UTC
    ("2024-03-05T10:20:30", dt.datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),  # naive date-time: UTC
    ("2024-03-05T10:20:30Z", dt.datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
    ("2024-03-05T10:20:30+02:00", dt.datetime(2024, 3, 5, 8, 20, 30, tzinfo=UTC)),
    ("2024-03-05T22:00:00-05:00", dt.datetime(2024, 3, 6, 3, 0, tzinfo=UTC)),
])
def test_start_date_becomes_an_aware_utc_instant(text, expected):
    start = config(start_date=text).start_date
    assert start == expected
    assert start.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("value", ["not a date", "2024-13-01", "01/05/2024", 20240101, ["2024-01-01"]])
def test_start_date_not_a_date(value):
    message = error_of(start_date=value)
    assert "'start_date'" in message and "2024-01-01" in message  # names the key and shows the form


def test_end_date_must_follow_start_date():
    assert config(end_date="2024-02-01").end_date == dt.datetime(2024, 2, 1, tzinfo=UTC)
    for end in ("2024-01-01T00:00:00Z", "2023-12-31"):
        message = error_of(end_date=end)
        assert "'end_date'" in message and "'start_date'" in message
    # the same instant written with another offset is not later
    assert "'end_date'" in error_of(end_date="2024-01-01T01:00:00+01:00")


# -- numbers ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["request_timeout", "backoff_max_seconds", "backoff_base_seconds"])
@pytest.mark.parametrize("value", ["abc", "1,5", True, [1], {"s": 1}])
def test_number_of_the_wrong_type(key, value):
    assert repr(key) in error_of(**{key: value})


def test_numbers_given_as_text_are_read():
    c = config(request_timeout="12.5", max_workers="3", interval_days=" 7 ", backoff_max_tries="2")
    assert (c.request_timeout, c.max_workers, c.interval_days, c.backoff_max_tries) == (12.5, 3, 7, 2)
    assert isinstance(c.max_workers, int)


@pytest.mark.parametrize("key", ["interval_days", "max_workers", "backoff_max_tries", "message_lookback_days"])
@pytest.mark.parametrize("value", ["abc", "2.5", 2.5, True, "--5", "5-"])
def test_whole_number_of_the_wrong_type(key, value):
    assert repr(key) in error_of(**{key: value})


@pytest.mark.parametrize("key", ["request_timeout", "interval_days", "max_workers", "backoff_max_tries",
                                 "backoff_max_seconds"])
@pytest.mark.parametrize("value", [0, -1, "-3"])
def test_zero_or_negative_where_positive_is_needed(key, value):
    message = error_of(**{key: value})
    assert repr(key) in message and "greater than 0" in message


@pytest.mark.parametrize("key", ["message_lookback_days", "backoff_base_seconds"])
def test_zero_allowed_negative_not(key):
    assert getattr(config(**{key: 0}), key) == 0
    assert "0 or more" in error_of(**{key: -1})


@pytest.mark.parametrize("key", ["request_timeout", "backoff_max_seconds", "backoff_base_seconds"])
@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity"])
def test_numbers_must_be_finite(key, value):
    assert repr(key) in error_of(**{key: value})


def test_json_nan_literal_is_refused():
    # Python's json module reads the non-standard NaN literal as a float.
    raw = json.loads('{"username": "u", "password": "p", "start_date": "2024-01-01", "request_timeout": NaN}')
    with pytest.raises(ConfigError, match="request_timeout"):
        parse_config(raw)


# -- booleans ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [(True, True), (False, False), ("true", True), ("false", False),
                                             ("True", True), (" FALSE ", False)])
def test_booleans_and_their_text_forms(value, expected):
    assert config(include_test_messages=value).include_test_messages is expected


@pytest.mark.parametrize("value", ["yes", "1", 1, 0, "t", [True]])
def test_boolean_of_the_wrong_type(value):
    assert "'include_test_messages'" in error_of(include_test_messages=value)


# -- list_ids ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    ([1, 2], {1, 2}), ("1,2", {1, 2}), (" 10 , 20 ", {10, 20}), ("7", {7}), (["3", "4"], {3, 4}),
    ([5, 5], {5}), ("1,2,", {1, 2}),
])
def test_list_ids_as_list_or_comma_separated_text(value, expected):
    ids = config(list_ids=value).list_ids
    assert ids == frozenset(expected)
    assert all(type(i) is int for i in ids)


@pytest.mark.parametrize("value", ["a,b", [1.5], [True], 12, {"1": 2}, [], ",", [[1]]])
def test_list_ids_of_the_wrong_shape(value):
    assert "'list_ids'" in error_of(list_ids=value)


# -- strings, URL, zone -----------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["username", "endpoint_url", "user_agent", "listrak_timezone"])
def test_string_of_the_wrong_type(key):
    message = error_of(**{key: 42})
    assert repr(key) in message and "string" in message


@pytest.mark.parametrize("url", ["ftp://webservices.listrak.com/v31/IntegrationService.asmx",
                                 "webservices.listrak.com/v31/IntegrationService.asmx", "https://", "not a url"])
def test_bad_endpoint_url(url):
    message = error_of(endpoint_url=url)
    assert "'endpoint_url'" in message and "https://webservices.listrak.com" in message


def test_http_endpoint_on_another_host_is_accepted():
    assert config(endpoint_url="http://127.0.0.1:8080/soap").endpoint_url == "http://127.0.0.1:8080/soap"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "EST-ish", "../../etc/passwd", "/etc/localtime"])
def test_unknown_time_zone(zone):
    message = error_of(listrak_timezone=zone)
    assert "'listrak_timezone'" in message and "America/New_York" in message


def test_known_time_zone():
    assert config(listrak_timezone="America/New_York").listrak_timezone == ZoneInfo("America/New_York")


# -- the password is never quoted back --------------------------------------------------------------
@pytest.mark.parametrize("changes", [
    {"password": [PASSWORD]}, {"password": {"value": PASSWORD}}, {"password": 7345612},
    {"password": ""}, {"password": None}, {"username": ""}, {"username": 12},
    {"start_date": "garbage"}, {"end_date": "2020-01-01"}, {"request_timeout": "abc"}, {"max_workers": 0},
    {"list_ids": "x"}, {"endpoint_url": "ftp://x"}, {"listrak_timezone": "Nowhere/Else"},
    {"include_test_messages": "maybe"}, {"backoff_base_seconds": -1},
])
def test_password_never_in_an_error(changes):
    message = error_of(**changes)
    assert PASSWORD not in message and PASSWORD[:10] not in message
    assert "7345612" not in message


def test_password_never_in_a_file_error(tmp_path):
    broken = tmp_path / "config.json"
    broken.write_text('{"username": "u", "password": "%s", "start_date": 2024-01-01}' % PASSWORD, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(str(broken))
    assert "not valid JSON" in str(caught.value) and PASSWORD not in str(caught.value)


# -- the file ---------------------------------------------------------------------------------------
def test_load_config_reads_a_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**BASE, "list_ids": "3,4"}), encoding="utf-8")
    assert load_config(str(path)).list_ids == frozenset({3, 4})


def test_load_config_missing_or_not_an_object(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(str(tmp_path / "nope.json"))
    path = tmp_path / "list.json"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ConfigError, match="JSON object"):
        load_config(str(path))
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"username": "r\u00e9mi"}'.encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(str(latin))
