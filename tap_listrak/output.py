"""Singer messages on stdout as UTF-8 bytes, buffered: records are flushed before every STATE, so
a STATE never reaches the target ahead of the records it covers, and no per-record flush slows
the run.

RECORD lines are encoded by orjson (about 0.5 µs a record, several times the standard library's
speed); a Decimal is written digit for digit as a raw JSON number through orjson.Fragment. SCHEMA
and STATE messages, a few per unit, go through the standard library: a state file handed back by
a scheduler may hold any JSON (a 100-digit integer included), and those are written unchanged.
"""
from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import NamedTuple

import orjson


def _exact_number(value):
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(str(value))
    raise TypeError(f"{type(value).__name__} {value!r} cannot be written as a JSON number")


_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


class EncodedPage(NamedTuple):
    stream: str
    data: bytes  # RECORD lines, newline-terminated
    count: int


def encode_records(stream: str, records: list[dict]) -> EncodedPage:
    """A page of records as RECORD lines. Thread-safe; a page waiting to be written as bytes takes a
    fraction of the memory it takes as dicts."""
    head = b'{"type":"RECORD","stream":' + orjson.dumps(stream) + b',"record":'
    dumps = orjson.dumps
    try:
        data = b"".join([head + dumps(record, default=_exact_number) + b"}\n" for record in records])
    except orjson.JSONEncodeError as exc:  # a NaN or infinity has no JSON form: refused, never written
        raise ValueError(f"a record of {stream} cannot be written as JSON: {exc}") from None
    return EncodedPage(stream, data, len(records))


def joined(stream: str, pages: list[EncodedPage]) -> EncodedPage:
    """One page of RECORD lines from the batches it was encoded in (none: an empty page)."""
    if len(pages) == 1:
        return pages[0]
    return EncodedPage(stream, b"".join([page.data for page in pages]), sum(page.count for page in pages))


class SingerWriter:
    def __init__(self, stream=None):
        stream = stream or sys.stdout
        binary = getattr(stream, "buffer", None)
        if binary is not None:
            stream.flush()  # whatever the text layer holds goes first; from now on bytes only
            self._write_bytes, self._flush = binary.write, self._flush_both(stream, binary)
        else:  # a text stream without bytes underneath (tests' StringIO)
            self._write_bytes, self._flush = (lambda data: stream.write(data.decode("utf-8"))), stream.flush
        self.records_by_stream: dict[str, int] = {}

    @staticmethod
    def _flush_both(text, binary):
        def flush():
            binary.flush()
            text.flush()
        return flush

    def schema(self, stream: str, schema: dict, key_properties: tuple[str, ...]) -> None:
        self._write({"type": "SCHEMA", "stream": stream, "schema": schema,
                     "key_properties": list(key_properties)})

    def records(self, stream: str, records: list[dict]) -> None:
        self.write_encoded(encode_records(stream, records))

    def write_encoded(self, page: EncodedPage) -> None:
        """Writes RECORD lines encoded beforehand (on the worker that read them, see encode_records)."""
        self._write_bytes(page.data)
        self.records_by_stream[page.stream] = self.records_by_stream.get(page.stream, 0) + page.count

    def state(self, state: dict) -> None:
        self._write({"type": "STATE", "value": state})
        self._flush()

    def flush(self) -> None:
        self._flush()

    def _write(self, message: dict) -> None:
        self._write_bytes((_dumps(message) + "\n").encode("utf-8"))
