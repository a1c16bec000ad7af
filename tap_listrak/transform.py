"""Values as Listrak sends them → values as the Singer schema promises them.

Dates: Listrak writes local wall time without an offset, in a zone it does not document, sometimes
as ISO-like text and sometimes in the US form (`1/5/2024 1:04:05 PM`), with 0 to 7 fractional
digits. Every form is read (the standard library's parsers: `datetime.fromisoformat`, then
`strptime` for the US form), interpreted in `listrak_timezone` unless it carries its own offset,
and written as RFC 3339 UTC with six fractional digits. .NET's DateTime.MinValue/MaxValue mean "no
date" and become null.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Callable

from tap_listrak.errors import ProtocolError

UTC = dt.timezone.utc
# The US form, as .NET writes it under en-US: with or without seconds, fraction and meridiem.
_US_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M:%S.%f %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S",
               "%m/%d/%Y %H:%M:%S.%f", "%m/%d/%Y %H:%M", "%m/%d/%Y")
_NO_DATE_YEARS = (1, 9999)


class DateReader:
    """Turns Listrak date values (text or datetime) into RFC 3339 UTC strings."""

    def __init__(self, zone: dt.tzinfo):
        self.zone = zone
        self.zone_is_utc = dt.datetime(2000, 1, 1, tzinfo=zone).utcoffset() == dt.timedelta(0) and \
            dt.datetime(2000, 7, 1, tzinfo=zone).utcoffset() == dt.timedelta(0)

    def to_rfc3339(self, value) -> str | None:
        if type(value) is str:  # the common case first: this runs for every date of every record
            if not value:
                return None
            return self._from_datetime(_parse(value))
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return self._from_datetime(value)
        raise ProtocolError(f"unexpected date value of type {type(value).__name__}: the reply does not match "
                            "the Listrak v31 contract")

    def _from_datetime(self, value: dt.datetime) -> str | None:
        if value.year in _NO_DATE_YEARS:
            return None  # .NET's MinValue/MaxValue: converting them could leave the calendar
        if value.tzinfo is None:
            if not self.zone_is_utc:
                value = value.replace(tzinfo=self.zone)
        return format_utc(value)

    def to_listrak(self, value: dt.datetime) -> dt.datetime:
        """An aware instant → the naive local time Listrak expects in a request."""
        return value.astimezone(self.zone).replace(tzinfo=None)


def _parse(text: str) -> dt.datetime:
    """ISO 8601 (0–7 fractional digits, with or without offset) by the standard library's C parser;
    then the US form. ISO first: it is what Listrak is seen to write, and the cheaper of the two."""
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        text = text.strip()  # padded element text: rare, so stripped only when the first try fails
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    for form in _US_FORMATS:
        try:
            return dt.datetime.strptime(text, form)
        except ValueError:
            continue
    raise ProtocolError(f"unrecognised date {text!r} in a Listrak reply: expected ISO 8601 or "
                        "M/D/YYYY h:mm:ss AM/PM")


def format_utc(value: dt.datetime) -> str:
    """The one RFC 3339 form the tap writes: UTC, six fractional digits, Z (a naive value is UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    # isoformat() writes six fractional digits unless there are none; its timespec= keyword says
    # the same at a higher cost, and this runs for every date.
    return value.isoformat() + ("Z" if value.microsecond else ".000000Z")


class RecordShaper:
    """Normalises one stream's raw items into schema-valid records."""

    def __init__(self, date_fields: tuple[str, ...], number_fields: tuple[str, ...], dates: DateReader):
        self.date_fields = date_fields
        self.number_fields = number_fields
        self.dates = dates

    def shape(self, item: dict) -> dict:
        to_rfc3339 = self.dates.to_rfc3339
        for field in self.date_fields:
            if field in item:
                item[field] = to_rfc3339(item[field])
        for field in self.number_fields:
            value = item.get(field)
            if type(value) is Decimal and not value.is_finite():
                item[field] = None  # a .NET double may be NaN or INF (0/0 rates); JSON has no such number
        return item


def project(record: dict, fields: frozenset[str] | None) -> dict:
    """Keeps only the selected fields (None = all)."""
    if fields is None:
        return record
    return {key: value for key, value in record.items() if key in fields}


def flattener(nested: str, outer_fields: tuple[tuple[str, str], ...]) -> Callable[[list[dict]], list[dict]]:
    """Items → one record per element of their repeated field `nested`, each with the item's fields named in
    `outer_fields` (item field, record field) before its own. An item with no element yields no record."""
    def flatten(items: list[dict]) -> list[dict]:
        records = []
        for item in items:
            outer = {record_name: item[name] for name, record_name in outer_fields}
            records.extend({**outer, **element} for element in item[nested])
        return records

    return flatten
