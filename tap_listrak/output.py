"""Singer messages on stdout, buffered: records are flushed before every STATE, so a STATE never
reaches the target ahead of the records it covers, and no per-record flush slows the run."""
from __future__ import annotations

import json
import sys
from typing import NamedTuple
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


class EncodedPage(NamedTuple):
    stream: str
    text: str  # RECORD lines, newline-terminated
    count: int


def encode_records(stream: str, records: list[dict]) -> EncodedPage:
    """A page of records as RECORD lines. Thread-safe; a page waiting to be written as text takes a
    quarter of the memory it takes as dicts."""
    head = '{"type":"RECORD","stream":' + _dumps(stream) + ',"record":'
    return EncodedPage(stream, "".join([head + _dumps(record) + "}\n" for record in records]), len(records))


class SingerWriter:
    def __init__(self, stream=None):
        self.out = stream or _utf8(sys.stdout)
        self.records_by_stream: dict[str, int] = {}

    def schema(self, stream: str, schema: dict, key_properties: tuple[str, ...]) -> None:
        self._write({"type": "SCHEMA", "stream": stream, "schema": schema,
                     "key_properties": list(key_properties)})

    def records(self, stream: str, records: list[dict]) -> None:
        self.write_encoded(encode_records(stream, records))

    def write_encoded(self, page: "EncodedPage") -> None:
        """Writes RECORD lines encoded beforehand (on the client's reader thread, see encode_records)."""
        self.out.write(page.text)
        self.records_by_stream[page.stream] = self.records_by_stream.get(page.stream, 0) + page.count

    def state(self, state: dict) -> None:
        self._write({"type": "STATE", "value": state})
        self.out.flush()

    def flush(self) -> None:
        self.out.flush()

    def _write(self, message: dict) -> None:
        self.out.write(_dumps(message) + "\n")
