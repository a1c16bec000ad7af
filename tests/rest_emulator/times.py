"""Dates on the REST wire: what the server writes (Eastern wall time, no offset, Json.NET's trimmed fraction)
and what it reads (startDate/endDate in the forms clients send)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Optional

from tests.emulator.times import DOTNET_MIN, Clock

DOTNET_MIN_TEXT = "0001-01-01T00:00:00"
_UTC = timezone.utc
# Offset-less forms an ASP.NET model binder reads besides ISO 8601 (US culture), as clients send them.
_US_FORMS = ("%m-%d-%Y", "%m/%d/%Y", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%m-%d-%Y %H:%M:%S")


def render(utc: Optional[datetime], clock: Clock, form: str = "trimmed") -> Optional[str]:
    """A naive UTC instant -> the account's wall time as Listrak writes it; None stays None (JSON null),
    .NET's minimum date is 0001-01-01T00:00:00 in every zone."""
    if utc is None:
        return None
    if utc == DOTNET_MIN:
        return DOTNET_MIN_TEXT
    local = clock.to_local(utc)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if form == "seconds" or (form == "trimmed" and not local.microsecond):
        return text
    if form == "milliseconds":
        return f"{text}.{local.microsecond // 1000:03d}"
    return text + "." + f"{local.microsecond:06d}".rstrip("0")


def rendered_instant(utc: datetime, form: str) -> datetime:
    """The instant a rendered date names (the seconds form drops the fraction; milliseconds keeps what the
    generator holds, which is milliseconds)."""
    return utc.replace(microsecond=0) if form == "seconds" and utc != DOTNET_MIN else utc


def parse_request_date(text: str, clock: Clock, naive_zone: str = "account") -> datetime:
    """startDate/endDate -> naive UTC instant. Accepts yyyy-MM-dd, ISO 8601 date-times with or without a
    fraction, Z or an offset, and US-culture MM-dd-yyyy / MM/dd/yyyy [time]. An offset-less value is wall time
    of the account's zone (naive_zone "account") or UTC ("utc"). Raises ValueError otherwise."""
    value = text.strip()
    if not value:
        raise ValueError("empty date")
    parsed: Optional[datetime] = None
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in "zZ" else value)
    except ValueError:
        for form in _US_FORMS:
            try:
                parsed = datetime.strptime(value, form)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValueError(f"unreadable date {text!r}")
    if parsed.tzinfo is not None:
        return parsed.astimezone(_UTC).replace(tzinfo=None)
    return parsed if naive_zone == "utc" else clock.to_utc(parsed)


def in_range(moment: Optional[datetime], start: Optional[datetime], end: Optional[datetime],
             ends: str = "inclusive") -> bool:
    """moment within [start, end] with the bounds the range_ends knob makes inclusive; None bounds are open;
    an item without that date (None) is never in a bounded range."""
    if start is None and end is None:
        return True
    if moment is None:
        return False
    start_open = ends in ("exclusive", "start-exclusive")
    end_open = ends in ("exclusive", "end-exclusive")
    if start is not None and (moment < start or (start_open and moment == start)):
        return False
    if end is not None and (moment > end or (end_open and moment == end)):
        return False
    return True


def local_day(clock: Clock, d: date, days: int = 0, seconds: int = 0) -> datetime:
    """A wall time of the account (d + days at the given second of the day) -> UTC, out of DST gaps and folds."""
    local = datetime.combine(d, datetime.min.time()) + timedelta(days=days, seconds=seconds)
    return clock.to_utc(clock.unambiguous(local))
