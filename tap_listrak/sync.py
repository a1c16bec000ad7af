"""The sync walk: which streams, in which order, over which parents, and when STATE is written.

- `lists` is one call; every other stream hangs off the lists (subscribed_contacts, messages) or
  off the messages (the six message_* streams).
- Messages are listed once per run with ReportListMessageActivity over `interval_days` windows
  and kept as a small index; every message_* stream walks that index.
- Event streams walk messages sent since start_date − message_lookback_days, so that a message
  sent just before start_date still gives its events that happened after it; `messages` and
  `message_sends` walk only the messages sent since start_date.
- Every requested date range is widened by REQUEST_MARGIN and the records are then kept only when
  their own date lies in [start_date, end): whether Listrak's range ends are inclusive, and in
  which zone it reads them, are undocumented, and this is right under every answer.
- The six message_* streams walk the index together, one unit per (message, stream), so the
  worker pool stays full across them; each stream keeps its own position.
- A STATE follows each finished unit (a list, or a message's report), after that unit's records.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Callable, Iterator

from tap_listrak.client import ListrakClient
from tap_listrak.concurrency import ordered_pages
from tap_listrak.config import Config
from tap_listrak.errors import Cancelled, ListrakError, NotFoundError
from tap_listrak.output import EncodedPage, SingerWriter, encode_records
from tap_listrak.progress import Progress
from tap_listrak.state import State
from tap_listrak.streams import STREAMS, STREAMS_BY_NAME, Stream
from tap_listrak.transform import DateReader, RecordShaper, format_utc, project

LOGGER = logging.getLogger(__name__)
REQUEST_MARGIN = dt.timedelta(days=1)
# ReportListMessageActivity has no paging and no published limit; a reply this large is re-asked in
# halves rather than trusted to be complete (GetMessageAnalyticsInformation's cap is 2,500). Splits
# cost only calls of this one operation, so the bar is set low enough to catch a cap of 500.
WINDOW_SPLIT_AT = 500


@dataclass(frozen=True)
class Selection:
    """A selected stream and the fields to emit (None: all of them)."""
    stream: Stream
    fields: frozenset[str] | None
    schema: dict


@dataclass(frozen=True)
class Message:
    list_id: int
    msg_id: int
    send_date: str  # RFC 3339 UTC

    @property
    def position(self) -> list:
        return [self.list_id, self.send_date, self.msg_id]


class Sync:
    def __init__(self, config: Config, client: ListrakClient, selections: list[Selection], state: State,
                 writer: SingerWriter, now: dt.datetime | None = None, progress: Progress | None = None):
        self.config = config
        self.client = client
        self.selections = {selection.stream.name: selection for selection in selections}
        self.state = state
        self.writer = writer
        self.progress = progress or Progress()
        self.dates = DateReader(config.listrak_timezone)
        self.start = config.start_date
        self.end = config.end_date or state.resumable_end(self.start, set(self.selections)) or \
            (now or dt.datetime.now(dt.timezone.utc))
        self.start_text, self.end_text = format_utc(self.start), format_utc(self.end)
        self.shapers = {stream.name: RecordShaper(stream.date_fields, stream.number_fields, self.dates)
                        for stream in STREAMS}
        self._lists: list[dict] | None = None
        self._messages: dict[int, list[dict]] | None = None
        self.skipped: list[str] = []    # units Listrak says no longer exist
        self.uncertain: list[str] = []  # replies that may be capped

    # -- the run ------------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._run()
        except Cancelled:
            raise self.client.failure or Cancelled("the run was stopped") from None  # the cause, not its echo
        except BaseException as exc:
            # Whatever ends the run stops every request still queued or waiting for a retry.
            self.client.cancel(exc if isinstance(exc, ListrakError) else Cancelled(f"the run failed: {exc!r}"))
            raise

    def _run(self) -> None:
        LOGGER.info("Extracting %s to %s", self.start_text, self.end_text)
        if self.selections:
            self.lists()  # every stream needs them; a bad endpoint fails here, before anything is printed
        for selection in self.selections.values():
            self.writer.schema(selection.stream.name, selection.schema, selection.stream.key_properties)
        for group in self.stream_groups():
            self.sync_group(group)
        self.state.clear_progress()
        self.writer.state(self.state.value)
        self._summary()

    def _summary(self) -> None:
        LOGGER.info("Done: %s", ", ".join(f"{name} {count}" for name, count in
                                          sorted(self.writer.records_by_stream.items())) or "no records")
        LOGGER.info("Requests: %d (%s); HTTP statuses: %s", sum(self.client.requests_by_operation.values()),
                    ", ".join(f"{op} {n}" for op, n in sorted(self.client.requests_by_operation.items())),
                    dict(sorted(self.client.statuses.items())))
        for what, items in (("skipped", self.skipped), ("possibly incomplete", self.uncertain)):
            if items:
                LOGGER.warning("%s %d unit%s: %s", what, len(items), "" if len(items) == 1 else "s", "; ".join(items))

    def stream_groups(self) -> list[list[Selection]]:
        """Parents before children, the message_* streams together (one walk over the messages keeps
        every worker busy across them); the group interrupted by the last run goes first."""
        groups: list[list[Selection]] = []
        for stream in STREAMS:
            selection = self.selections.get(stream.name)
            if selection is None:
                continue
            if stream.parent == "messages" and groups and groups[-1][0].stream.parent == "messages":
                groups[-1].append(selection)
            else:
                groups.append([selection])
        syncing = self.state.currently_syncing
        interrupted = next((group for group in groups if syncing in {s.stream.name for s in group}), None)
        if interrupted:
            groups.remove(interrupted)
            groups.insert(0, interrupted)
            LOGGER.info("Resuming with %s, interrupted in the last run", syncing)
        elif syncing:
            LOGGER.info("The last run was interrupted in %s, which is not selected now; its progress is dropped",
                        syncing)
        return groups

    def sync_group(self, group: list[Selection]) -> None:
        progress = {s.stream.name: self.state.progress(s.stream.name, self.start, self.end) for s in group}
        pending = [s for s in group if progress[s.stream.name] != "complete"]
        for name in sorted(set(progress) - {s.stream.name for s in pending}):
            LOGGER.info("%s: already complete for this run window, skipped", name)
        if not pending:
            return
        self.state.set_syncing(pending[0].stream.name)
        self.writer.state(self.state.value)
        for selection in pending:
            position = progress[selection.stream.name]
            LOGGER.info("%s: syncing%s", selection.stream.name, f" from position {position}" if position else "")
        stream = pending[0].stream
        if stream.parent == "messages":
            self._sync_message_reports(pending, progress)
        else:
            walk = {"lists": self._sync_lists, "messages": self._sync_messages,
                    "subscribed_contacts": self._sync_subscribed_contacts}[stream.name]
            walk(pending[0], progress[stream.name])
        for selection in pending:
            self.state.set_complete(selection.stream.name, self.start, self.end)
        self.state.set_syncing(None)
        self.writer.state(self.state.value)

    # -- per stream ---------------------------------------------------------------------------------
    def _sync_lists(self, selection: Selection, _progress) -> None:
        self._emit(selection, [dict(record) for record in self.lists()])

    def _sync_messages(self, selection: Selection, progress) -> None:
        index = self.message_index()
        lists = self._lists_after(progress)
        self.progress.start(selection.stream.name, len(lists), "lists")
        for list_record in lists:
            list_id = list_record["ListID"]
            records = [dict(m) for m in index.get(list_id, []) if m["SendDate"] >= self.start_text]
            self._emit(selection, records)
            self._advance(selection, [list_id])
            self.progress.advance(len(records))
        self.progress.finish()

    def _sync_subscribed_contacts(self, selection: Selection, progress) -> None:
        stream = selection.stream

        def fetch(unit) -> Iterator[list[dict]]:
            _, (list_id,) = unit
            return self.client.pages(stream.operation, self._page_encoder(selection, "ListID", list_id),
                                     ListID=list_id, **self._request_range(self.start))

        units = [(selection, [record["ListID"]]) for record in self._lists_after(progress)]
        self._walk_units(selection.stream.name, units, fetch, "lists")

    def _sync_message_reports(self, selections: list[Selection], progress: dict) -> None:
        """The message_* streams: one unit per (message, stream), message by message."""
        earliest = min(self.start_text if s.stream.event_date is None else self._walk_start_text()
                       for s in selections)
        units = [(selection, message.position)
                 for message in self._walk_messages(earliest) for selection in selections
                 if self._wants(selection.stream, message, progress[selection.stream.name])]

        def fetch(unit) -> Iterator[list[dict]]:
            selection, (_, _, msg_id) = unit
            stream = selection.stream
            dates = self._request_range(self.start) if stream.date_ranged else {}
            return self.client.pages(stream.operation, self._page_encoder(selection, "MsgID", msg_id),
                                     MsgID=msg_id, **dates)

        self._walk_units("message reports", units, fetch, "message reports")

    def _wants(self, stream: Stream, message: "Message", position) -> bool:
        if position is not None and message.position <= position:
            return False  # written before the last run was interrupted
        # Sends happen at the send date: only messages sent since start_date have sends in range.
        return stream.event_date is not None or message.send_date >= self.start_text

    # -- walking units ------------------------------------------------------------------------------
    def _walk_units(self, label: str, units: list[tuple[Selection, list]], fetch: Callable,
                    unit_name: str) -> None:
        """Runs (selection, position) units on the worker pool; STATE after each, in order."""
        self.progress.start(label, len(units), unit_name)
        for (selection, position), pages in ordered_pages(units, fetch, self.config.max_workers):
            count = 0
            try:
                for page in pages:
                    self.writer.write_encoded(page)
                    count += page.count
            except NotFoundError as exc:
                self._skip(f"{selection.stream.name} {self._unit_name(selection, position)}", exc)
            self.state.set_syncing(selection.stream.name)
            self._advance(selection, position)
            self.progress.advance(count)
        self.progress.finish()

    def _skip(self, unit: str, exc: Exception) -> None:
        LOGGER.warning("%s: skipped: %s", unit, exc)
        self.skipped.append(unit)

    @staticmethod
    def _unit_name(selection: Selection, position: list) -> str:
        return f"ListID {position[0]}" if len(position) == 1 else f"MsgID {position[-1]} of ListID {position[0]}"

    def _advance(self, selection: Selection, position: list) -> None:
        self.state.set_position(selection.stream.name, self.start, self.end, position)
        self.writer.state(self.state.value)

    def _page_encoder(self, selection: Selection, parent_key: str,
                      parent_id: int) -> Callable[[list[dict]], EncodedPage]:
        """Shapes, bounds, projects and encodes a page, on the thread that reads replies (client._read)."""
        stream, fields = selection.stream, selection.fields
        shape = self.shapers[stream.name].shape
        in_range = self._in_range(stream.event_date)

        def encode(items: list[dict]) -> EncodedPage:
            records = []
            for item in items:
                item[parent_key] = parent_id
                record = shape(item)
                if in_range(record):
                    records.append(record if fields is None else project(record, fields))
            return encode_records(stream.name, records)

        return encode

    def _in_range(self, field: str | None) -> Callable[[dict], bool]:
        if field is None:
            return lambda record: True
        low, high = self.start_text, self.end_text
        # RFC 3339 UTC strings of one fixed width compare like the instants they name.
        return lambda record: record[field] is not None and low <= record[field] < high

    def _emit(self, selection: Selection, records: list[dict]) -> None:
        if records:
            fields = selection.fields
            self.writer.records(selection.stream.name,
                                records if fields is None else [project(record, fields) for record in records])

    # -- parents ------------------------------------------------------------------------------------
    def lists(self) -> list[dict]:
        if self._lists is None:
            shape = self.shapers["lists"].shape
            records = [shape(item) for item in self.client.items("GetContactListCollection")]
            wanted = self.config.list_ids
            if wanted is not None:
                missing = sorted(wanted - {record["ListID"] for record in records})
                if missing:
                    LOGGER.warning("list_ids names ListIDs this user cannot see: %s (check list_ids and the "
                                   "user's list access in Listrak)", missing)
                records = [record for record in records if record["ListID"] in wanted]
            self._lists = sorted(records, key=lambda record: record["ListID"])
        return self._lists

    def _lists_after(self, progress) -> list[dict]:
        return [record for record in self.lists() if progress is None or [record["ListID"]] > progress[:1]]

    def _walk_start_text(self) -> str:
        return format_utc(self.start - dt.timedelta(days=self.config.message_lookback_days))

    def _walk_messages(self, earliest: str) -> list[Message]:
        index = self.message_index()
        return [Message(record["ListID"], record["MsgID"], record["SendDate"])
                for list_record in self.lists() for record in index.get(list_record["ListID"], [])
                if record["SendDate"] >= earliest]

    def message_index(self) -> dict[int, list[dict]]:
        """Every message of the lists sent in [walk start, end), by list, ordered by (SendDate, MsgID)."""
        if self._messages is None:
            needs_lookback = any(selection.stream.parent == "messages" and selection.stream.event_date
                                 for selection in self.selections.values())
            walk_start = self.start - dt.timedelta(days=self.config.message_lookback_days) if needs_lookback \
                else self.start
            units = [(record["ListID"], window) for record in self.lists() for window in self._windows(walk_start)]
            index: dict[int, dict[int, dict]] = {}
            for (list_id, _), pages in ordered_pages(units, self._fetch_window, self.config.max_workers):
                try:
                    for records in pages:
                        for record in records:
                            index.setdefault(list_id, {})[record["MsgID"]] = record
                except NotFoundError as exc:
                    self._skip(f"messages of ListID {list_id}", exc)
            self._messages = {list_id: sorted(by_id.values(), key=lambda m: (m["SendDate"], m["MsgID"]))
                              for list_id, by_id in index.items()}
        return self._messages

    def _windows(self, walk_start: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
        step = dt.timedelta(days=self.config.interval_days)
        windows, low = [], walk_start
        while low < self.end:
            high = min(low + step, self.end)
            windows.append((low, high))
            low = high
        return windows

    def _fetch_window(self, unit) -> Iterator[list[dict]]:
        list_id, (low, high) = unit
        page = self.client.request(STREAMS_BY_NAME["messages"].operation, ListID=list_id,
                                   IncludeTestMessages=self.config.include_test_messages,
                                   **self._request_range(low, high))
        items = page.items
        if page.slots >= WINDOW_SPLIT_AT:
            if high - low > 2 * REQUEST_MARGIN:
                # So many messages in one reply may be a cap we do not know of: ask again in halves.
                middle = low + (high - low) / 2
                LOGGER.info("list %s: %d messages in one window, splitting it", list_id, page.slots)
                for half in ((low, middle), (middle, high)):
                    yield from self._fetch_window((list_id, half))
                return
            # The request already spans its smallest useful width (the window plus a day each side).
            window = f"messages of ListID {list_id} sent {format_utc(low)} to {format_utc(high)}"
            LOGGER.warning("%s: %d messages in one reply of a window that cannot be split further; Listrak may "
                           "cap such replies, so some messages may be missing", window, page.slots)
            self.uncertain.append(f"{window} ({page.slots} messages)")
        shape = self.shapers["messages"].shape
        low_text, high_text = format_utc(low), format_utc(high)
        # Windows never overlap: a message sent exactly on a boundary belongs to the later window.
        yield [record for record in map(shape, items)
               if record["SendDate"] is not None and low_text <= record["SendDate"] < high_text]

    def _request_range(self, low: dt.datetime, high: dt.datetime | None = None) -> dict:
        high = high or self.end
        return {"StartDate": self.dates.to_listrak(low - REQUEST_MARGIN),
                "EndDate": self.dates.to_listrak(high + REQUEST_MARGIN)}
