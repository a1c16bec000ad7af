"""Singer messages on stdout as UTF-8 bytes, buffered: records are flushed before every STATE, so
a STATE never reaches the target ahead of the records it covers, and no per-record flush slows
the run. A target that stops reading (a broken pipe) ends the run with errors.OutputClosedError.

RECORD lines are encoded by orjson (several times the standard library's speed); a Decimal is written digit for digit as a raw JSON number through orjson.Fragment. SCHEMA
and STATE messages, a few per unit, go through the standard library: a state file handed back by
a scheduler may hold any JSON (a 100-digit integer included), and those are written unchanged.
"""
from __future__ import annotations

import json
import pickle
import sys
from contextlib import contextmanager
from decimal import Decimal
from typing import Callable, Iterator, NamedTuple

import orjson

from tap_listrak.errors import OutputClosedError
from tap_listrak.spool import Spool


def _exact_number(value):
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(str(value))
    raise TypeError(f"{type(value).__name__} {value!r} cannot be written as a JSON number")


_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


@contextmanager
def to_target():
    """Writes to stdout within; a closed pipe (the target stopped reading) is OutputClosedError."""
    try:
        yield
    except BrokenPipeError:
        raise OutputClosedError("the target stopped reading the tap's output (broken pipe): the run stops here, "
                                "and the last STATE the target received (if any) marks what it has") from None


SPOOL_MEMORY = 16 * 1024  # bytes of a SpooledPage or RecordSpool kept in memory


class EncodedPage(NamedTuple):
    stream: str
    data: bytes  # RECORD lines, newline-terminated
    count: int

    def write_to(self, write: Callable[[bytes], object]) -> None:
        write(self.data)


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


class SpooledPage:
    """A page's RECORD lines, encoded batch by batch as its reply is read (`extend`, see
    replies.Page): in memory up to SPOOL_MEMORY bytes, in an anonymous temporary file beyond. A page
    waits for every unit before its own to be written, and a dozen workers each read ahead: held in
    memory, those pages would make peak memory follow page size (a full page of 2,500 records is
    ~300 KB) rather than stay flat."""

    def __init__(self, stream: str, encode: Callable[[list[dict]], EncodedPage]):
        self.stream = stream
        self.count = 0
        self._encode = encode
        self._spool = Spool(SPOOL_MEMORY)

    def extend(self, items: list[dict]) -> None:
        page = self._encode(items)
        self._spool.write(page.data)
        self.count += page.count

    def write_to(self, write: Callable[[bytes], object]) -> None:
        """Copies the lines to `write` and frees the page."""
        try:
            for chunk in self._spool.chunks(SPOOL_MEMORY):
                write(chunk)
        finally:
            self._spool.close()


class RecordSpool:
    """Shaped records kept for later (a collected stream's share of one parent: the messages of a
    list), pickled batch by batch: in memory up to SPOOL_MEMORY bytes, in an anonymous temporary
    file beyond. As dicts, a large account's message index would take 2 KB a message for the whole
    of its read. Read back with `batches()`, as often as needed."""

    def __init__(self):
        self._spool = Spool(SPOOL_MEMORY)

    def extend(self, records: list[dict]) -> None:
        if records:
            self._spool.write(pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL))

    def batches(self) -> Iterator[list[dict]]:
        """The records, batch by batch, in the order they were added."""
        file = self._spool.file
        file.seek(0)
        while True:
            try:
                yield pickle.load(file)
            except EOFError:
                return

    def __iter__(self) -> Iterator[dict]:
        for batch in self.batches():
            yield from batch


MERGE_CACHE_KB = 1024  # page cache of a MergedRecords database; the rest is on disk


class MergedRecords:
    """Items of several walks over one collection (the same request, each with another group of ids), merged
    by key: one item per key (the first walk's, or the first that had the key), whose `field` holds every
    walk's elements, in walk order. Kept in a temporary sqlite3 database on disk, not as dicts: a list's
    contacts may number hundreds of thousands, and memory stays at the database's page cache
    (MERGE_CACHE_KB) whatever their number. Read back once (`batches`), in the order keys were first seen;
    `close` deletes the file."""

    def __init__(self, key: tuple[str, ...], field: str):
        import sqlite3
        self._key, self._field, self._walk = key, field, 0
        # "": a private temporary database on disk; used by the one worker that reads the unit.
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        for statement in (f"PRAGMA cache_size=-{MERGE_CACHE_KB}", "PRAGMA journal_mode=OFF", "PRAGMA synchronous=OFF",
                          "CREATE TABLE item (seq INTEGER PRIMARY KEY, key BLOB UNIQUE, item BLOB)",
                          "CREATE TABLE part (key BLOB, walk INTEGER, part BLOB)", "BEGIN"):
            self._db.execute(statement)

    def add(self, items: list[dict]) -> None:
        """Items of the current walk."""
        dumps, items_rows, parts = pickle.dumps, [], []
        for item in items:
            key = dumps(tuple(item[name] for name in self._key))
            elements = item.pop(self._field, None)
            items_rows.append((key, dumps(item, protocol=pickle.HIGHEST_PROTOCOL)))
            if elements:
                parts.append((key, self._walk, dumps(elements, protocol=pickle.HIGHEST_PROTOCOL)))
        self._db.executemany("INSERT OR IGNORE INTO item (key, item) VALUES (?, ?)", items_rows)
        self._db.executemany("INSERT INTO part VALUES (?, ?, ?)", parts)

    def next_walk(self) -> None:
        self._walk += 1

    def batches(self, size: int) -> Iterator[list[dict]]:
        """The merged items, `size` at a time."""
        self._db.execute("CREATE INDEX part_key ON part (key, walk)")
        rows = self._db.execute("SELECT item.seq, item.item, part.part FROM item LEFT JOIN part ON part.key = item.key "
                                "ORDER BY item.seq, part.walk, part.rowid")
        batch: list[dict] = []
        current, item = None, None
        for seq, data, part in rows:
            if seq != current:
                if item is not None:
                    batch.append(item)
                    if len(batch) == size:
                        yield batch
                        batch = []
                current, item = seq, pickle.loads(data)
                item[self._field] = []
            if part is not None:
                item[self._field].extend(pickle.loads(part))
        if item is not None:
            batch.append(item)
        if batch:
            yield batch

    def close(self) -> None:
        self._db.close()


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

    def write_encoded(self, page: EncodedPage | SpooledPage) -> None:
        """Writes RECORD lines encoded beforehand (on the worker that read them, see encode_records)."""
        with to_target():
            page.write_to(self._write_bytes)
        self.records_by_stream[page.stream] = self.records_by_stream.get(page.stream, 0) + page.count

    def state(self, state: dict) -> None:
        """Writes a STATE after the lines before it and flushes them together: the target gets the
        bytes in order, so a STATE never reaches it ahead of (or without) the records it covers."""
        self._write({"type": "STATE", "value": state})
        self.flush()

    def flush(self) -> None:
        with to_target():
            self._flush()

    def _write(self, message: dict) -> None:
        with to_target():
            self._write_bytes((_dumps(message) + "\n").encode("utf-8"))
