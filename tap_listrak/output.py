"""Singer messages on stdout, buffered: records are flushed before every STATE, so a STATE never
reaches the target ahead of the records it covers, and no per-record flush slows the run."""
from __future__ import annotations

import json
import sys
from decimal import Decimal

import simplejson


def _exact_number(value):
    # simplejson's use_decimal writes Decimal('NaN') as a bare NaN (not JSON) despite allow_nan=False;
    # this refuses it like a float NaN and writes every finite Decimal digit for digit.
    if isinstance(value, Decimal):
        if value.is_finite():
            return simplejson.RawJSON(str(value))
        raise ValueError(f"{value} is not a JSON number")
    raise TypeError(f"{type(value).__name__} {value!r} cannot be written as JSON")


_exact_dumps = simplejson.JSONEncoder(use_decimal=False, default=_exact_number, ensure_ascii=False, allow_nan=False,
                                      separators=(",", ":")).encode
_fast_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def _dumps(value) -> str:
    """The standard library's C encoder for most records (3x faster); simplejson when a Decimal
    must be written digit for digit (the stdlib encoder refuses Decimal with a TypeError)."""
    try:
        return _fast_dumps(value)
    except TypeError:
        return _exact_dumps(value)


def _utf8(out):
    # A Windows pipe or a Latin-1 locale gives stdout another encoding; targets read UTF-8.
    reconfigure = getattr(out, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(encoding="utf-8")
    return out


class SingerWriter:
    def __init__(self, stream=None):
        self.out = stream or _utf8(sys.stdout)
        self.records_by_stream: dict[str, int] = {}

    def schema(self, stream: str, schema: dict, key_properties: tuple[str, ...]) -> None:
        self._write({"type": "SCHEMA", "stream": stream, "schema": schema,
                     "key_properties": list(key_properties)})

    def records(self, stream: str, records: list[dict]) -> None:
        write = self.out.write
        head = '{"type":"RECORD","stream":' + _dumps(stream) + ',"record":'
        for record in records:
            write(head + _dumps(record) + "}\n")
        self.records_by_stream[stream] = self.records_by_stream.get(stream, 0) + len(records)

    def state(self, state: dict) -> None:
        self._write({"type": "STATE", "value": state})
        self.out.flush()

    def flush(self) -> None:
        self.out.flush()

    def _write(self, message: dict) -> None:
        self.out.write(_dumps(message) + "\n")
