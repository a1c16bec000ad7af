"""Listrak values → Singer values: dates in every form Listrak may use, numbers JSON can hold, projection."""
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tap_listrak.errors import ProtocolError
from tap_listrak.streams import STREAMS_BY_NAME
from tap_listrak.transform import DateReader, RecordShaper, format_utc, project

UTC = dt.timezone.utc
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def utc():
    return DateReader(ZoneInfo("UTC"))


@pytest.fixture
def new_york():
    return DateReader(NEW_YORK)


# -- ISO text -------------------------------------------------------------------------------------
@pytest.mark.parametrize("fraction, micro", [
    ("", "000000"), (".1", "100000"), (".12", "120000"), (".123", "123000"), (".1234", "123400"),
    (".12345", "123450"), (".123456", "123456"),
    (".1234567", "123456"),  # .NET ticks: the 7th digit (100 ns) is below what RFC 3339 output keeps
])
@pytest.mark.parametrize("zone_suffix", ["", "Z"])
def test_iso_with_0_to_7_fractional_digits(utc, fraction, micro, zone_suffix):
    assert utc.to_rfc3339(f"2024-01-05T13:04:05{fraction}{zone_suffix}") == f"2024-01-05T13:04:05.{micro}Z"


@pytest.mark.parametrize("text, expected", [
    ("2024-01-05T13:04:05+02:00", "2024-01-05T11:04:05.000000Z"),
    ("2024-01-05T13:04:05-05:00", "2024-01-05T18:04:05.000000Z"),
    ("2024-01-05T13:04:05.25+0530", "2024-01-05T07:34:05.250000Z"),
    ("2024-01-05T23:30:00-01:00", "2024-01-06T00:30:00.000000Z"),   # crosses midnight
    ("2024-12-31T23:59:59.9999999-00:30", "2025-01-01T00:29:59.999999Z"),  # crosses the year
    ("2024-01-05 13:04:05", "2024-01-05T13:04:05.000000Z"),         # space instead of T
    ("  2024-01-05T13:04:05  ", "2024-01-05T13:04:05.000000Z"),     # padded element text
])
def test_iso_with_offsets_and_variants(utc, text, expected):
    assert utc.to_rfc3339(text) == expected


def test_an_explicit_offset_wins_over_the_configured_zone(new_york):
    assert new_york.to_rfc3339("2024-01-05T13:04:05Z") == "2024-01-05T13:04:05.000000Z"
    assert new_york.to_rfc3339("2024-07-05T13:04:05+01:00") == "2024-07-05T12:04:05.000000Z"


def test_date_only(utc, new_york):
    assert utc.to_rfc3339("2024-01-05") == "2024-01-05T00:00:00.000000Z"
    assert new_york.to_rfc3339("2024-01-05") == "2024-01-05T05:00:00.000000Z"   # EST, UTC-5
    assert utc.to_rfc3339("1/5/2024") == "2024-01-05T00:00:00.000000Z"


# -- US text --------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("1/5/2024 1:04:05 PM", "2024-01-05T13:04:05.000000Z"),
    ("1/5/2024 1:04:05 AM", "2024-01-05T01:04:05.000000Z"),
    ("1/5/2024 12:00:00 AM", "2024-01-05T00:00:00.000000Z"),     # midnight
    ("1/5/2024 12:30:00 PM", "2024-01-05T12:30:00.000000Z"),     # half past noon
    ("1/5/2024 12:59:59 AM", "2024-01-05T00:59:59.000000Z"),
    ("12/31/2024 11:59:59 PM", "2024-12-31T23:59:59.000000Z"),
    ("01/05/2024 01:04:05 pm", "2024-01-05T13:04:05.000000Z"),
    ("1/5/2024 1:04:05.123 PM", "2024-01-05T13:04:05.123000Z"),
    ("1/5/2024 13:04:05", "2024-01-05T13:04:05.000000Z"),        # 24-hour clock, no meridiem
])
def test_us_form(utc, text, expected):
    assert utc.to_rfc3339(text) == expected


# -- "no date" ------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [
    None, "", "0001-01-01T00:00:00", "0001-01-01T00:00:00Z", "0001-01-01", "1/1/0001 12:00:00 AM",
    "9999-12-31T23:59:59.9999999", "9999-12-31T23:59:59.999", "12/31/9999 11:59:59 PM",
    dt.datetime.min, dt.datetime.max, dt.datetime(1, 1, 1, tzinfo=UTC), dt.datetime.max.replace(tzinfo=UTC),
])
def test_dotnet_min_and_max_and_empty_are_no_date(utc, new_york, value):
    # In a zone west of UTC, MinValue would fall before year 1 if it were converted: it must not be.
    assert utc.to_rfc3339(value) is None
    assert new_york.to_rfc3339(value) is None


# -- datetime objects (xsd:dateTime read by zeep) -------------------------------------------------
def test_naive_datetime_is_in_the_configured_zone(utc, new_york):
    naive = dt.datetime(2024, 1, 5, 13, 4, 5, 123456)
    assert utc.to_rfc3339(naive) == "2024-01-05T13:04:05.123456Z"
    assert new_york.to_rfc3339(naive) == "2024-01-05T18:04:05.123456Z"


def test_aware_datetime_keeps_its_own_offset(utc, new_york):
    aware = dt.datetime(2024, 1, 5, 13, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert utc.to_rfc3339(aware) == "2024-01-05T11:04:05.000000Z"
    assert new_york.to_rfc3339(aware) == "2024-01-05T11:04:05.000000Z"


# -- a zone with daylight saving time -------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("2024-01-15T12:00:00", "2024-01-15T17:00:00.000000Z"),   # EST, UTC-5
    ("2024-07-04T12:00:00", "2024-07-04T16:00:00.000000Z"),   # EDT, UTC-4
    ("7/4/2024 12:00:00 PM", "2024-07-04T16:00:00.000000Z"),
    ("2024-03-10T01:59:59", "2024-03-10T06:59:59.000000Z"),   # last second of EST
    ("2024-03-10T03:00:00", "2024-03-10T07:00:00.000000Z"),   # first second of EDT
    ("2024-11-03T00:30:00", "2024-11-03T04:30:00.000000Z"),   # still EDT
    ("2024-11-03T02:30:00", "2024-11-03T07:30:00.000000Z"),   # EST again
    ("2024-12-31T22:00:00", "2025-01-01T03:00:00.000000Z"),   # the UTC date is the next year
])
def test_new_york_wall_time_to_utc(new_york, text, expected):
    assert new_york.to_rfc3339(text) == expected
    assert new_york.to_rfc3339(dt.datetime.fromisoformat(text) if "T" in text else text) == expected


def test_utc_like_zones_need_no_conversion():
    # A zone at offset 0 all year reads like UTC.
    assert DateReader(ZoneInfo("Africa/Abidjan")).to_rfc3339("2024-07-04T12:00:00") == "2024-07-04T12:00:00.000000Z"
    # London is at UTC in winter but not in summer.
    london = DateReader(ZoneInfo("Europe/London"))
    assert london.to_rfc3339("2024-01-04T12:00:00") == "2024-01-04T12:00:00.000000Z"
    assert london.to_rfc3339("2024-07-04T12:00:00") == "2024-07-04T11:00:00.000000Z"


# -- garbage --------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [
    "not a date", "2024-13-01", "2024-02-30T00:00:00", "2024-01-05T25:00:00", "2024-01-05T13:61:00",
    "13/45/2024", "1/5/2024 13:04:05 PM", "1/5/2024 0:00:00 AM", "2024/01/05", "05.01.2024", "1704460800",
    "2024-01-05T13:04:05+25", "2024-01-05T13:04:05+24:00", "2024-01-05T13:04:05-99:00",
    "2024-01-05Tnoon", 20240105, 1.5, Decimal("1"), ["2024-01-05"], dt.date(2024, 1, 5),
])
def test_garbage_is_a_protocol_error(utc, value):
    with pytest.raises(ProtocolError):
        utc.to_rfc3339(value)


# -- requests -------------------------------------------------------------------------------------
def test_to_listrak_gives_naive_wall_time(utc, new_york):
    instant = dt.datetime(2024, 7, 4, 16, 0, tzinfo=UTC)
    assert new_york.to_listrak(instant) == dt.datetime(2024, 7, 4, 12, 0)
    assert new_york.to_listrak(instant).tzinfo is None
    assert utc.to_listrak(instant) == dt.datetime(2024, 7, 4, 16, 0)
    assert new_york.to_listrak(dt.datetime(2024, 1, 15, 12, 0, tzinfo=UTC)) == dt.datetime(2024, 1, 15, 7, 0)


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"])
def test_to_listrak_round_trip(zone):
    reader = DateReader(ZoneInfo(zone))
    start = dt.datetime(2024, 3, 9, 0, 0, 0, 250000, tzinfo=UTC)
    # every 37 minutes across the US spring change and beyond, so many offsets and minutes are crossed
    for step in range(0, 60 * 24 * 3, 37):
        instant = start + dt.timedelta(minutes=step)
        sent = reader.to_listrak(instant)
        assert sent.tzinfo is None
        assert reader.to_rfc3339(sent) == format_utc(instant)
        assert reader.to_rfc3339(sent.isoformat()) == format_utc(instant)


def test_format_utc():
    assert format_utc(dt.datetime(2024, 1, 5, 8, 4, 5, 7, tzinfo=dt.timezone(dt.timedelta(hours=-5)))) == \
        "2024-01-05T13:04:05.000007Z"
    # Always six fractional digits, whole seconds included, and four year digits.
    assert format_utc(dt.datetime(2024, 1, 5, 8, 4, 5)) == "2024-01-05T08:04:05.000000Z"
    assert format_utc(dt.datetime(999, 12, 31, 23, 59, 59, 999999)) == "0999-12-31T23:59:59.999999Z"


# -- records --------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "inf"])
def test_shaper_turns_non_finite_numbers_into_null(utc, bad):
    shaper = RecordShaper((), ("OpenPercent",), utc)
    assert shaper.shape({"OpenPercent": Decimal(bad)}) == {"OpenPercent": None}


def test_shaper_leaves_exact_numbers_and_other_fields_alone(utc):
    messages = STREAMS_BY_NAME["messages"]
    shaper = RecordShaper(messages.date_fields, messages.number_fields, utc)
    percent = Decimal("0.333333333333333333")
    item = {"MsgID": 9, "Subject": "NaN", "SendDate": "1/5/2024 1:04:05 PM", "OpenPercent": percent,
            "OrderTotal": Decimal("-0.00"), "AverageOrderValue": Decimal("1E+3"), "ClickerPercent": None,
            "ReadPercent": Decimal("NaN"), "RemovePercent": Decimal("Infinity")}
    record = shaper.shape(item)
    assert record["OpenPercent"] is percent
    assert str(record["OrderTotal"]) == "-0.00" and str(record["AverageOrderValue"]) == "1E+3"
    assert record["ClickerPercent"] is None and record["ReadPercent"] is None and record["RemovePercent"] is None
    assert record["Subject"] == "NaN" and record["MsgID"] == 9
    assert record["SendDate"] == "2024-01-05T13:04:05.000000Z"
    assert "DeliverCount" not in record  # absent fields stay absent


def test_shaper_only_touches_its_number_fields(utc):
    shaper = RecordShaper(("OpenDate",), ("OpenPercent",), utc)
    nan = Decimal("NaN")
    record = shaper.shape({"Other": nan, "OpenDate": "", "OpenPercent": Decimal("0.5")})
    assert record["Other"] is nan and record["OpenDate"] is None and record["OpenPercent"] == Decimal("0.5")


def test_shaper_reports_a_bad_date(utc):
    with pytest.raises(ProtocolError):
        RecordShaper(("OpenDate",), (), utc).shape({"OpenDate": "yesterday"})


def test_project():
    record = {"a": 1, "b": None, "c": [1]}
    assert project(record, None) is record
    assert project(record, frozenset({"a", "c"})) == {"a": 1, "c": [1]}
    assert project(record, frozenset({"b", "z"})) == {"b": None}   # unknown names add nothing
    assert project(record, frozenset()) == {}
    assert record == {"a": 1, "b": None, "c": [1]}                 # the input is not changed


def test_a_nested_repeated_field_becomes_one_record_per_element_with_its_parent_fields():
    from tap_listrak.transform import flattener
    flatten = flattener("WSProfileAttributes", (("ListID", "ListID"), ("HeaderID", "HeaderID"),
                                                ("Name", "HeaderName"), ("Position", "HeaderPosition")))
    header = {"HeaderID": 9, "ListID": 7, "Position": 2, "Name": "Prefs",
              "WSProfileAttributes": [{"AttributeID": 1, "HeaderID": 9, "DataType": "Text", "MaxLength": 50,
                                       "Position": 1, "Name": "Size"},
                                      {"AttributeID": 2, "HeaderID": 9, "DataType": "Date", "MaxLength": 0,
                                       "Position": 2, "Name": None}]}
    empty = {"HeaderID": 10, "ListID": 7, "Position": 3, "Name": None, "WSProfileAttributes": []}
    records = flatten([header, empty])
    assert records == [
        {"ListID": 7, "HeaderID": 9, "HeaderName": "Prefs", "HeaderPosition": 2, "AttributeID": 1, "DataType": "Text",
         "MaxLength": 50, "Position": 1, "Name": "Size"},
        {"ListID": 7, "HeaderID": 9, "HeaderName": "Prefs", "HeaderPosition": 2, "AttributeID": 2, "DataType": "Date",
         "MaxLength": 0, "Position": 2, "Name": None}]
