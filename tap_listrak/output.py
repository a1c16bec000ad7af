"""Singer messages on stdout, buffered: records are flushed before every STATE, so a STATE never
reaches the target ahead of the records it covers, and no per-record flush slows the run."""
from __future__ import annotations

import sys

import simplejson

_dumps = simplejson.JSONEncoder(use_decimal=True, ensure_ascii=False, allow_nan=False,
                                separators=(",", ":")).encode


class SingerWriter:
    def __init__(self, stream=None):
        self.out = stream or sys.stdout
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
