"""The records of the collected streams (lists, messages): read once per run, kept in memory,
shaped, in their order key's order. Every other stream hangs off them.

A WINDOW stream (messages: ReportListMessageActivity has a date range but no paging and no
published limit) is read per parent record and `interval_days` window; a reply of WINDOW_SPLIT_AT
items or more may be a cap nobody documented, so the window is asked again in halves, and a
window too small to split that is still that crowded is reported as possibly incomplete.

Memory: of a stream read per parent record, only the index (the fields its children and the walk
read) stays in memory. When the stream is selected, its whole records wait for their turn in one
output.RecordSpool per parent value, mostly on disk: a large account's messages would otherwise be
held as dicts (2 KB each) from the first window read to the last message written.
"""
from __future__ import annotations

import datetime as dt
import logging
from functools import cache
from typing import Collection, Iterator

from tap_listrak.client import ListrakClient
from tap_listrak.concurrency import ordered_pages, threads_for
from tap_listrak.config import Config
from tap_listrak.errors import NotFoundError
from tap_listrak.output import RecordSpool
from tap_listrak.plan import REQUEST_MARGIN, RunWindow, request_params, share_key
from tap_listrak.streams import WINDOW, Stream, children_of, parent_of, table
from tap_listrak.transform import RecordShaper, format_utc

LOGGER = logging.getLogger(__name__)
# Splits cost only calls of one cheap operation, so the bar is low enough to catch a cap of 500
# (GetMessageAnalyticsInformation's documented cap is 2,500).
WINDOW_SPLIT_AT = 500


class Parents:
    def __init__(self, config: Config, client: ListrakClient, run: RunWindow, shapers: dict[str, RecordShaper],
                 written: Collection[str] = ()):
        self.config = config
        self.client = client
        self.run = run
        self.shapers = shapers
        self.written = frozenset(written)  # the selected streams: their whole records are kept to be written
        self._records: dict[str, list[dict]] = {}
        self._shares: dict[str, dict[object, RecordSpool]] = {}
        self.skipped: list[str] = []    # parent records Listrak says no longer exist
        self.uncertain: list[str] = []  # replies that may be capped

    def records(self, stream: Stream, since: dt.datetime | None = None) -> list[dict]:
        """The stream's records (sent since `since`, for a dated one), read on first use, in order:
        whole for the root (the lists), the index only for a stream read per parent record."""
        if stream.name not in self._records:
            self._records[stream.name] = self._read(stream, since or self.run.start)
        return self._records[stream.name]

    def shares(self, stream: Stream) -> dict[object, RecordSpool]:
        """A written stream read per parent record: its whole records by parent value, each share in
        order. Handed over once (the caller holds them until they are written)."""
        return self._shares.pop(stream.name, {})

    def release(self, stream: Stream) -> list[dict]:
        """Keeps of the stream's records only what its children and the walk read (their keys, the
        order key, the event date): the rest of a list's fields is not held for the rest of the run.
        The records already handed out are not changed."""
        kept = self._records[stream.name] = [_index_entry(stream, record) for record in self._records[stream.name]]
        return kept

    def _read(self, stream: Stream, since: dt.datetime) -> list[dict]:
        if stream.parent is None:
            records = self._restricted(stream, [self.shapers[stream.name].shape(item)
                                                for item in self.client.items(stream.operation)])
        else:
            records = self._read_per_parent(stream, since)
        return sorted(records, key=lambda record: [record[name] for name in stream.order_key])

    def _restricted(self, stream: Stream, records: list[dict]) -> list[dict]:
        """`list_ids` restricts the lists (the only root stream)."""
        wanted = self.config.list_ids
        if wanted is None:
            return records
        key = stream.order_key[0]
        missing = sorted(wanted - {record[key] for record in records})
        if missing:
            LOGGER.warning("list_ids names ListIDs this user cannot see: %s (check list_ids and the user's list "
                           "access in Listrak)", missing)
        return [record for record in records if record[key] in wanted]

    def _read_per_parent(self, stream: Stream, since: dt.datetime) -> list[dict]:
        parent = parent_of(stream)
        windows = self.run.windows(since, self.config.interval_days) if stream.unit == WINDOW else [None]
        # The parent read as far back as this stream's walk needs (a collected parent that is not the root).
        units = [(record, window) for record in self.records(parent, since) for window in windows]

        def fetch(unit) -> Iterator[list[dict]]:
            record, window = unit
            if window is None:
                shape = self.shapers[stream.name].shape
                params = request_params(stream, record, self.run, self.config.include_test_messages,
                                        (since, self.run.end) if stream.date_ranged else None)
                # The parent's fields the records carry (when the items do not name their parent).
                added = {name: record[name] for name in stream.inherits}
                if stream.added_field:
                    added[stream.added_field] = record[stream.parent_field]
                return ([shape({**added, **item}) for item in page]
                        for page in self.client.pages(stream.operation, **params))
            return self._window(stream, record, *window)

        index: list[dict] = []
        seen: set[tuple] = set()
        shares = self._shares.setdefault(stream.name, {}) if stream.name in self.written else None
        for (record, _), pages in ordered_pages(units, fetch, threads_for(self.config.max_workers)):
            try:
                for page in pages:
                    self._collect(stream, page, seen, index, shares)
            except NotFoundError as exc:
                unit = f"{stream.name} of {stream.parent_field} {record[stream.parent_field]}"
                LOGGER.warning("%s: skipped: %s", unit, exc)
                self.skipped.append(unit)
        return index

    @staticmethod
    def _collect(stream: Stream, page: list[dict], seen: set[tuple], index: list[dict],
                 shares: dict[object, RecordSpool] | None) -> None:
        """Adds a page's records, once each by key, to the index and (if written) to their parent
        value's share. A reply listing a key twice counts its last; a key another reply (window)
        already gave is that record again."""
        fresh: dict[tuple, dict] = {}
        for item in page:
            fresh[tuple(item[name] for name in stream.key_properties)] = item
        records = [item for key, item in fresh.items() if key not in seen]
        seen.update(fresh)
        index.extend(_index_entry(stream, record) for record in records)
        if shares is not None:
            by_value: dict[object, list[dict]] = {}
            for record in sorted(records, key=lambda record: [record[name] for name in stream.order_key]):
                by_value.setdefault(share_key(stream, record), []).append(record)
            for value, share in by_value.items():
                shares.setdefault(value, RecordSpool()).extend(share)

    def _window(self, stream: Stream, parent: dict, low: dt.datetime, high: dt.datetime) -> Iterator[list[dict]]:
        params = request_params(stream, parent, self.run, self.config.include_test_messages, (low, high))
        page = self.client.request(stream.operation, **params)
        name = f"{stream.name} of {stream.parent_field} {parent[stream.parent_field]}"
        if page.slots >= WINDOW_SPLIT_AT:
            if high - low > 2 * REQUEST_MARGIN:
                # So many items in one reply may be a cap we do not know of: ask again in halves.
                middle = low + (high - low) / 2
                LOGGER.info("%s: %d items in one window, splitting it", name, page.slots)
                yield from self._window(stream, parent, low, middle)
                yield from self._window(stream, parent, middle, high)
                return
            # The request already spans its smallest useful width (the window plus a day each side).
            window = f"{name} sent {format_utc(low)} to {format_utc(high)}"
            LOGGER.warning("%s: %d items in one reply of a window that cannot be split further; Listrak may cap "
                           "such replies, so some may be missing", window, page.slots)
            self.uncertain.append(f"{window} ({page.slots} items)")
        shape, field = self.shapers[stream.name].shape, stream.event_date
        low_text, high_text = format_utc(low), format_utc(high)
        # Windows never overlap: a record dated exactly on a boundary belongs to the later window.
        yield [record for record in map(shape, page.items)
               if record[field] is not None and low_text <= record[field] < high_text]


def _index_entry(stream: Stream, record: dict) -> dict:
    """What the children and the walk read of a record: their parent key and the fields they inherit,
    the order key, the event date."""
    return {name: record[name] for name in _index_fields(stream) if name in record}


@cache
def _index_fields(stream: Stream) -> tuple[str, ...]:
    children = children_of(stream.name, stream.api)
    # The streams whose batched_param takes this stream's ids read the id and their parent's field.
    takers = [taker for taker in table(stream.api) if taker.batched_param and taker.batched_param.source == stream.name]
    needed = (*stream.order_key, *(child.parent_field for child in children),
              *(name for child in children for name in child.inherits), stream.event_date,
              *(name for taker in takers for name in (taker.parent_field, taker.batched_param.field)))
    return tuple(name for name in dict.fromkeys(needed) if name is not None)
