"""Runs a plan's units on the worker pool and writes what they read: RECORD lines in unit order,
and a STATE after each unit, so a STATE always covers exactly the units before it.

Each page is flattened (a stream with a nested repeated field: one record per element), given the
parent's fields the stream declares (`parent_field`, `inherits`), shaped, bounded
to the run window (and, for an account-wide stream, to `list_ids`), projected to the selected fields and encoded as
RECORD lines on the thread that read it, batch by batch as the reply arrives; the writer only copies
text to stdout.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Collection, Iterable, Iterator

from tap_listrak.client import ListrakClient
from tap_listrak.concurrency import ordered_pages, threads_for
from tap_listrak.errors import NotFoundError
from tap_listrak.output import EncodedPage, MergedRecords, SingerWriter, SpooledPage, encode_records
from tap_listrak.plan import RunWindow, Unit
from tap_listrak.progress import Progress
from tap_listrak.state import State
from tap_listrak.transform import RecordShaper, flattener, project

LOGGER = logging.getLogger(__name__)


def _nothing() -> None:
    pass


@dataclass
class Group:
    """Streams synced together: their units, and what to do (on the writer's side) before the first
    of them is written and after the last."""
    label: str
    units: Collection[Unit]          # a list, or plan.LazyUnits
    started: Callable[[], None] = _nothing
    finished: Callable[[], None] = _nothing


@dataclass(frozen=True)
class _Boundary:
    """A group's start or end in the line of units: no request, only its action, run in order."""
    action: Callable[[], None]


class Runner:
    def __init__(self, client: ListrakClient, writer: SingerWriter, state: State, run: RunWindow,
                 shapers: dict[str, RecordShaper], progress: Progress, max_workers: int):
        self.client = client
        self.writer = writer
        self.state = state
        self.run = run
        self.shapers = shapers
        self.progress = progress
        self.max_workers = max_workers
        self.skipped: list[str] = []  # units Listrak says no longer exist

    def run_groups(self, groups: Iterable[Group]) -> None:
        """Runs the groups' units on the pool as one line: the next group's first requests go out
        while this group's last units are still in flight, so the pool never drains between groups
        (at Listrak's latency each drain would cost a few round trips). Records and STATE still come
        out in order: a group's `started` runs before its first unit is written, `finished` after
        its last. `groups` is read lazily, as the pool reaches each group."""
        for unit, pages in ordered_pages(self._line(groups), self._fetch, threads_for(self.max_workers)):
            if isinstance(unit, _Boundary):
                unit.action()
            else:
                self._write(unit, pages)

    def _line(self, groups: Iterable[Group]) -> Iterator[Unit | _Boundary]:
        for group in groups:
            yield _Boundary(lambda group=group: self._start(group))
            yield from group.units
            yield _Boundary(lambda group=group: self._finish(group))

    def _start(self, group: Group) -> None:
        group.started()
        self.progress.start(group.label, len(group.units), "units")

    def _finish(self, group: Group) -> None:
        self.progress.finish()
        group.finished()

    def _write(self, unit: Unit, pages: Iterator[EncodedPage | SpooledPage]) -> None:
        count = 0
        try:
            for page in pages:
                self.writer.write_encoded(page)
                count += page.count
        except NotFoundError as exc:
            LOGGER.warning("%s: skipped: %s", unit.describe(), exc)
            self.skipped.append(unit.describe())
        if unit.position is not None:
            self.state.set_syncing(unit.stream.name)
            self.state.set_position(unit.stream.name, self.run.start, self.run.end, unit.position)
            self.writer.state(self.state.value)
        self.progress.advance(count)

    def _fetch(self, unit: Unit | _Boundary) -> Iterator[EncodedPage | SpooledPage]:
        if isinstance(unit, _Boundary):
            return iter(())
        encode = self._encoder(unit)
        # Encoded batch by batch (as the reply is read, or from a collected stream's share), into a
        # page that spills to disk past a few batches: neither a page's dicts nor its lines are ever
        # held whole in memory.
        spool = lambda: SpooledPage(unit.stream.name, encode)  # noqa: E731
        if unit.records is not None:
            return iter([_spooled(unit.records, spool())])
        if len(unit.walks) > 1:
            return self._merged(unit, spool)
        params = {**unit.params, **unit.walks[0]} if unit.walks else unit.params
        if unit.stream.paged:
            return self.client.pages(unit.stream.operation, spool, **params)
        return iter([self.client.items(unit.stream.operation, spool, **params)])

    def _merged(self, unit: Unit, spool: Callable[[], SpooledPage]) -> Iterator[SpooledPage]:
        """A unit of several walks (a batched_param's groups): every walk read to its end into one
        MergedRecords (on disk), then its merged items encoded into one page. The unit's STATE comes after it,
        so an interrupted unit is walked again whole."""
        stream = unit.stream
        merged = MergedRecords(stream.item_key, stream.batched_param.merged)
        try:
            for walk in unit.walks:
                params = {**unit.params, **walk}
                pages = self.client.pages(stream.operation, **params) if stream.paged else \
                    [self.client.items(stream.operation, **params)]
                for items in pages:
                    merged.add(items)
                merged.next_walk()
            page = spool()
            for batch in merged.batches(RECORD_BATCH):
                page.extend(batch)
        finally:
            merged.close()
        yield page

    def _encoder(self, unit: Unit) -> Callable[[list[dict]], EncodedPage]:
        """Shapes (unless already shaped), bounds, projects and encodes a page of items."""
        stream, fields = unit.stream, unit.selection.fields
        shape = (lambda item: item) if unit.records is not None else self.shapers[stream.name].shape
        keeps = self.run.keeps(stream)
        added, value, inherited = stream.added_field, unit.parent_value, unit.inherited
        expand = flattener(stream.flatten, stream.outer_fields) if stream.flatten and unit.records is None else None
        merged, by = (stream.batched_param.merged, stream.batched_param.field) if stream.batched_param else (None, None)

        def encode(items: list[dict]) -> EncodedPage:
            records = []
            for item in expand(items) if expand else items:
                if merged and item.get(merged):  # one element per id, ordered by id, whatever walk gave it
                    item[merged] = sorted({element[by]: element for element in item[merged]}.values(),
                                          key=lambda element: element[by])
                if added:
                    item[added] = value
                record = shape(item)
                if inherited:  # the parent's values, already shaped
                    record.update(inherited)
                if keeps(record):
                    records.append(record if fields is None else project(record, fields))
            return encode_records(stream.name, records)

        return encode


RECORD_BATCH = 256  # records of a collected share encoded at a time


def _spooled(records: Iterable[dict], page: SpooledPage) -> SpooledPage:
    batch = []
    for record in records:
        batch.append(record)
        if len(batch) == RECORD_BATCH:
            page.extend(batch)
            batch = []
    page.extend(batch)
    return page
