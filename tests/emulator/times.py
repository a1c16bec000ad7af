"""Time handling: the account's zone, parsing request dates, and every lexical form dates take.

Internally every instant is a naive datetime in UTC with millisecond precision. DOTNET_MIN stands for
.NET DateTime.MinValue, which Listrak sends where it has no date; it is never converted between zones.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

DOTNET_MIN = datetime.min
_UTC = timezone.utc
_HOUR = timedelta(hours=1)


class Clock:
    """Converts between UTC instants and wall-clock time of the emulated account's zone."""

    def __init__(self, tz_name: str = "UTC") -> None:
        self.name = tz_name
        self.is_utc = tz_name in ("UTC", "Etc/UTC", "Z")
        self.zone = _UTC if self.is_utc else ZoneInfo(tz_name)

    def to_local(self, utc: datetime) -> datetime:
        if self.is_utc or utc == DOTNET_MIN:
            return utc
        return utc.replace(tzinfo=_UTC).astimezone(self.zone).replace(tzinfo=None)

    def to_utc(self, local: datetime) -> datetime:
        """Local wall time -> UTC instant (fold=0 for ambiguous times, as most clients do)."""
        if self.is_utc:
            return local
        try:
            return local.replace(tzinfo=self.zone).astimezone(_UTC).replace(tzinfo=None)
        except OverflowError:
            return DOTNET_MIN if local.year < 2 else datetime.max

    def unambiguous(self, local: datetime) -> datetime:
        """Move a generated wall time out of a DST gap or fold, so it names exactly one instant."""
        if self.is_utc:
            return local
        for _ in range(4):
            first = local.replace(tzinfo=self.zone, fold=0)
            second = local.replace(tzinfo=self.zone, fold=1)
            if first.utcoffset() == second.utcoffset():
                return local
            local += _HOUR
        return local


def parse_request_datetime(text: str, clock: Clock) -> datetime:
    """xsd:dateTime (or date-only, as old clients send) -> UTC instant.

    Naive values are wall time of the account's zone; values with an offset or Z are exact.
    Raises ValueError on anything else.
    """
    text = text.strip()
    if not text:
        raise ValueError("empty date")
    if len(text) == 10:
        parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
    else:
        parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return clock.to_utc(parsed)
    try:
        return parsed.astimezone(_UTC).replace(tzinfo=None)
    except OverflowError:
        return DOTNET_MIN if parsed.year < 2 else datetime.max


def _fraction(dt: datetime) -> str:
    # .NET trims trailing zeros of the fraction and drops it entirely when it is zero.
    if not dt.microsecond:
        return ""
    return "." + f"{dt.microsecond:06d}".rstrip("0")


def xsd_datetime(local: datetime) -> str:
    """xsd:dateTime as .NET XmlSerializer writes an Unspecified DateTime: no offset."""
    return local.isoformat(timespec="seconds") + _fraction(local)


def event_date(local: datetime, form: str) -> str:
    """The string-typed event dates (OpenDate, ClickDate, ReadDate, BounceDate) in one of three forms."""
    if form == "iso-fraction":
        return xsd_datetime(local)
    if form == "iso":
        return local.isoformat(timespec="seconds")
    hour12 = local.hour % 12 or 12
    ampm = "AM" if local.hour < 12 else "PM"
    return f"{local.month}/{local.day}/{local.year} {hour12}:{local.minute:02d}:{local.second:02d} {ampm}"


def event_date_precision(utc: datetime, form: str) -> datetime:
    """What survives rendering: the iso and us forms drop the fraction."""
    return utc if form == "iso-fraction" else utc.replace(microsecond=0)


def rfc3339(utc: datetime | None) -> str | None:
    """The tap's output form: UTC, exactly six fractional digits, Z. DOTNET_MIN -> None."""
    if utc is None or utc == DOTNET_MIN:
        return None
    return utc.isoformat(timespec="microseconds") + "Z"


def to_utc_instant(value: str | datetime) -> datetime:
    """A caller's bound (ISO string or datetime; naive means UTC) -> naive UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip())
    if value.tzinfo is not None:
        value = value.astimezone(_UTC).replace(tzinfo=None)
    return value
