"""Values as Listrak sends them → values as the Singer schema promises them.

Dates: Listrak writes local wall time without an offset, in a zone it does not document, sometimes
as ISO-like text and sometimes in the US form (`1/5/2024 1:04:05 PM`), with 0 to 7 fractional
digits. Every form is read, interpreted in `listrak_timezone` unless it carries its own offset, and
written as RFC 3339 UTC with six fractional digits. .NET's DateTime.MinValue/MaxValue mean "no
date" and become null.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from tap_listrak.errors import ProtocolError

UTC = dt.timezone.utc

_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?")
_US = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})"
    r"(?:\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*([AaPp][Mm])?)?")
_NO_DATE_YEARS = (1, 9999)


class DateReader:
    """Turns Listrak date values (text or datetime) into RFC 3339 UTC strings."""

    def __init__(self, zone: dt.tzinfo):
        self.zone = zone
        self.zone_is_utc = dt.datetime(2000, 1, 1, tzinfo=zone).utcoffset() == dt.timedelta(0) and \
            dt.datetime(2000, 7, 1, tzinfo=zone).utcoffset() == dt.timedelta(0)

    def to_rfc3339(self, value) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, dt.datetime):
            return self._from_datetime(value)
        if isinstance(value, str):
            return self._from_text(value.strip())
        raise ProtocolError(f"unexpected date value of type {type(value).__name__}: the reply does not match "
                            "the Listrak v31 contract")

    def _from_text(self, text: str) -> str | None:
        match = _ISO.fullmatch(text)
        if match:
            year, month, day, hour, minute, second, fraction, offset = match.groups()
            meridiem = None
        else:
            match = _US.fullmatch(text)
            if not match:
                raise ProtocolError(f"unrecognised date {text!r} in a Listrak reply: expected ISO 8601 or "
                                    "M/D/YYYY h:mm:ss AM/PM")
            month, day, year, hour, minute, second, fraction, meridiem = match.groups()
            offset = None
        year = int(year)
        if year in _NO_DATE_YEARS:
            return None
        hour = int(hour or 0)
        if meridiem:
            if not 1 <= hour <= 12:
                raise ProtocolError(f"unrecognised date {text!r} in a Listrak reply: hour out of range")
            hour = hour % 12 + (12 if meridiem.lower() == "pm" else 0)
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        try:
            value = dt.datetime(year, int(month), int(day), hour, int(minute or 0), int(second or 0), micro)
            if offset:
                value = value.replace(tzinfo=_parse_offset(offset))
        except ValueError:
            raise ProtocolError(f"unrecognised date {text!r} in a Listrak reply: not a calendar date "
                                "or not a UTC offset") from None
        return self._from_datetime(value)

    def _from_datetime(self, value: dt.datetime) -> str | None:
        if value.year in _NO_DATE_YEARS:
            return None
        if value.tzinfo is None:
            if not self.zone_is_utc:
                value = value.replace(tzinfo=self.zone).astimezone(UTC)
        else:
            value = value.astimezone(UTC)
        return (f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
                f"{value.second:02d}.{value.microsecond:06d}Z")

    def to_listrak(self, value: dt.datetime) -> dt.datetime:
        """An aware instant → the naive local time Listrak expects in a request."""
        return value.astimezone(self.zone).replace(tzinfo=None)


def _parse_offset(text: str) -> dt.tzinfo:
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if minutes > 59:  # dt.timezone itself refuses 24 hours or more
        raise ValueError(f"minutes out of range in offset {text!r}")
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def format_utc(value: dt.datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
