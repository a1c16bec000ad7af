"""A sync run: the parents first, then each group of streams the plan orders, then the summary.

What to read comes from the stream table (`streams.py`) through the plan (`plan.py`); the
collected parents are read by `parents.py`; units run on the pool in `runner.py`. Nothing here
knows a stream by name.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Iterator

from tap_listrak.catalog import Selection
from tap_listrak.client import ListrakClient
from tap_listrak.config import Config
from tap_listrak.errors import Cancelled, ListrakError
from tap_listrak.output import SingerWriter
from tap_listrak import plan
from tap_listrak.parents import Parents
from tap_listrak.progress import Progress
from tap_listrak.runner import Group, Runner
from tap_listrak.state import COMPLETE, State
from tap_listrak.streams import Stream, by_name, parent_of, table
from tap_listrak.transform import DateReader, RecordShaper, format_utc

LOGGER = logging.getLogger(__name__)


class Sync:
    def __init__(self, config: Config, client: ListrakClient, selections: list[Selection], state: State,
                 writer: SingerWriter, now: dt.datetime | None = None, progress: Progress | None = None):
        self.config = config
        self.client = client
        self.selections = selections
        self.state = state
        self.writer = writer
        dates = DateReader(config.listrak_timezone)
        end = config.end_date or state.resumable_end(config.start_date, {s.stream.name for s in selections}) or \
            (now or dt.datetime.now(dt.timezone.utc))
        self.run_window = plan.RunWindow(config.start_date, end, dt.timedelta(days=config.message_lookback_days),
                                         dates.to_listrak, *self._incremental_bounds(end), list_ids=config.list_ids)
        self.streams = table(config.api)
        shapers = {stream.name: RecordShaper(stream.date_fields, stream.number_fields, dates)
                   for stream in self.streams}
        self._selected = {selection.stream.name for selection in selections}
        self.parents = Parents(config, client, self.run_window, shapers, written=self._selected)
        self.runner = Runner(client, writer, state, self.run_window, shapers, progress or Progress(),
                             config.max_workers)

    def _incremental_bounds(self, end: dt.datetime) -> tuple[dict, dict]:
        """Where each INCREMENTAL stream starts (its bookmark less the lookback, never before
        start_date), and which messages its walk is limited to (incremental_message_days)."""
        config, starts, floors = self.config, {}, {}
        lookback = dt.timedelta(hours=config.incremental_lookback_hours)
        for selection in self.selections:
            name = selection.stream.name
            bookmark = self.state.replicated_until(name) if selection.incremental else None
            if bookmark is not None:
                starts[name] = min(max(config.start_date, bookmark - lookback), end)
                LOGGER.info("%s: INCREMENTAL from %s (bookmark %s less %g h)", name, format_utc(starts[name]),
                            format_utc(bookmark), config.incremental_lookback_hours)
            elif selection.incremental:
                LOGGER.info("%s: INCREMENTAL, no bookmark yet: from start_date", name)
            if selection.incremental and config.incremental_message_days:
                floors[name] = end - dt.timedelta(days=config.incremental_message_days)
        return starts, floors

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
        LOGGER.info("Extracting %s to %s", self.run_window.start_text, self.run_window.end_text)
        roots = {stream.name for stream in self.streams if stream.parent is None and stream.collected}
        for name in sorted(roots & self._needed_parents()):
            # Read before anything is printed: a wrong endpoint fails here, with nothing for a target.
            self.parents.records(by_name(self.config.api)[name])
        for selection in self.selections:
            self.writer.schema(selection.stream.name, selection.schema, selection.stream.key_properties)
        syncing = self.state.currently_syncing
        groups = plan.groups(self.selections, syncing)
        if syncing and groups and any(syncing == s.stream.name for s in groups[0]):
            LOGGER.info("Resuming with %s, interrupted in the last run", syncing)
        elif syncing:
            LOGGER.info("The last run was interrupted in %s, which is not selected now; its position is dropped",
                        syncing)
        self.runner.run_groups(self._group_runs(groups))
        self.state.clear_positions()
        self.writer.state(self.state.value)
        self._summary()

    def _needed_parents(self) -> set[str]:
        """Every stream whose records some selected stream is read by (its ancestors)."""
        needed = set()
        for selection in self.selections:
            stream = selection.stream
            while stream.parent:
                needed.add(stream.parent)
                stream = parent_of(stream)
            if stream.collected:
                needed.add(stream.name)
        return needed

    def _group_runs(self, groups: list[list[Selection]]) -> Iterator[Group]:
        """Each group with streams left to sync, built when the pool reaches it (its units may need a
        parent read first, such as the message index)."""
        for group in groups:
            positions = {s.stream.name: self.state.position(s.stream.name, self.run_window.start,
                                                            self.run_window.end) for s in group}
            pending = [s for s in group if positions[s.stream.name] != COMPLETE]
            for name in sorted(set(positions) - {s.stream.name for s in pending}):
                LOGGER.info("%s: already complete for this run window, skipped", name)
            if pending:
                yield Group(", ".join(s.stream.name for s in pending), self._units(pending, positions),
                            lambda pending=pending, positions=positions: self._started(pending, positions),
                            lambda pending=pending: self._finished(pending))

    def _started(self, pending: list[Selection], positions: dict) -> None:
        self.state.set_syncing(pending[0].stream.name)
        self.writer.state(self.state.value)
        for selection in pending:
            position = positions[selection.stream.name]
            LOGGER.info("%s: syncing%s", selection.stream.name, f" from position {position}" if position else "")

    def _finished(self, pending: list[Selection]) -> None:
        for selection in pending:
            self.state.set_complete(selection.stream.name, self.run_window.start, self.run_window.end)
            if selection.stream.replication_key:  # everything before the run's end is written now
                self.state.set_replicated_until(selection.stream.name, selection.stream.replication_key,
                                                self.run_window.end)
        self.state.set_syncing(None)
        self.writer.state(self.state.value)

    def _units(self, group: list[Selection], positions: dict) -> plan.LazyUnits:
        first = group[0].stream
        parent = parent_of(first)
        collected = None
        if first.collected:  # a collected stream is alone in its group
            records = self.parents.records(first, self._walk_start(first))
            # Its units carry its records until they are written (the root's in a list, the others'
            # spooled per parent); from now on only the fields its children need are kept.
            collected = {first.name: records if first.parent is None else self.parents.shares(first)}
            self.parents.release(first)
        parent_records = self.parents.records(parent, self._walk_start(parent)) if parent else []
        if parent and parent.name not in self._selected:
            parent_records = self.parents.release(parent)  # read only to walk it: its other fields are never written
        # A batched_param's ids (contacts: each list's segmentation fields), read before the units are made.
        batched = {s.stream.name: plan.batched_ids(s.stream, self.parents.records(
            by_name(self.config.api)[s.stream.batched_param.source])) for s in group if s.stream.batched_param}
        return plan.LazyUnits(group, positions, parent, parent_records, self.run_window,
                              self.config.include_test_messages, collected, batched)

    def _walk_start(self, stream: Stream) -> dt.datetime:
        """How far back a collected stream is read: as far as the streams selected under it walk."""
        walkers = [s.stream for s in self.selections if stream.name in _ancestors(s.stream)]
        return min([self.run_window.start] + [self.run_window.walk_start(child) for child in walkers])

    def _summary(self) -> None:
        LOGGER.info("Done: %s", ", ".join(f"{name} {count}" for name, count in
                                          sorted(self.writer.records_by_stream.items())) or "no records")
        LOGGER.info("Requests: %d (%s); HTTP statuses: %s", sum(self.client.requests_by_operation.values()),
                    ", ".join(f"{op} {n}" for op, n in sorted(self.client.requests_by_operation.items())),
                    dict(sorted(self.client.statuses.items())))
        throttling = self.client.slots.summary()
        if throttling:
            LOGGER.warning("Throttled: %s", throttling)
        skipped = self.parents.skipped + self.runner.skipped
        for what, items in (("skipped", skipped), ("possibly incomplete", self.parents.uncertain)):
            if items:
                LOGGER.warning("%s %d unit%s: %s", what, len(items), "" if len(items) == 1 else "s", "; ".join(items))


def _ancestors(stream: Stream) -> set[str]:
    names = set()
    while stream.parent:
        names.add(stream.parent)
        stream = parent_of(stream)
    return names
