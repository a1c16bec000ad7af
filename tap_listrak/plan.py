"""The plan of a run: which streams go together, in which order, and the units each is read in.

Pure: no request is made here. From the stream table, the selection, the state's positions and
the parents' records, it derives an ordered list of units; `runner.py` runs them.

- A unit is one request sequence (a parent record's report, paged to its end) or, for a stream
  read whole beforehand (`collected`), that parent record's share of its records.
- Units come in the parents' order (`order_key`), and a unit's state position is its parent
  record's order key: after an interruption, the next run skips what was written before. A BATCH
  unit covers several parent records, and its position is its last one's.
- Every requested date range is widened by REQUEST_MARGIN, and records are kept only when their
  own date lies in [start_date, end): whether Listrak's range ends are inclusive, and in which zone
  it reads them, are undocumented, and this is right under every answer.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Mapping

from tap_listrak.catalog import Selection
from tap_listrak.streams import BATCH, RANGE, TEST_MESSAGES, Stream, parent_of, table
from tap_listrak.transform import format_utc

REQUEST_MARGIN = dt.timedelta(days=1)


@dataclass(frozen=True)
class RunWindow:
    """[start, end) of the run, per stream, and how requests name it (Listrak reads naive local times).

    A FULL_TABLE stream starts at start_date; an INCREMENTAL one where `starts` says (its bookmark
    less the lookback). `floors` limits which messages an INCREMENTAL event stream walks."""
    start: dt.datetime
    end: dt.datetime
    lookback: dt.timedelta
    to_listrak: Callable[[dt.datetime], dt.datetime]
    starts: Mapping[str, dt.datetime] = field(default_factory=dict)
    floors: Mapping[str, dt.datetime] = field(default_factory=dict)
    list_ids: frozenset | None = None  # `list_ids`: the lists an account-wide stream's records are kept of
    start_text: str = field(init=False)
    end_text: str = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "start_text", format_utc(self.start))
        object.__setattr__(self, "end_text", format_utc(self.end))

    def start_of(self, stream: Stream) -> dt.datetime:
        return self.starts.get(stream.name, self.start)

    def walk_start(self, stream: Stream) -> dt.datetime:
        """Earliest send date of the parent messages a stream reads: its own start, or, for event
        streams, start_date less the message lookback (an event may come long after its send)."""
        if stream.snapshot:  # its records since start_date may change in any run: every parent since then
            low = self.start
        elif not stream.walks_lookback:
            return self.start_of(stream)
        else:
            low = self.start - self.lookback
        return max(low, self.floors[stream.name]) if stream.name in self.floors else low

    def reread_start(self, stream: Stream) -> dt.datetime:
        """Where a `reread` variant's range starts: the lookback before the stream's start, not before start_date."""
        return max(self.start, self.start_of(stream) - self.lookback)

    def request_range(self, low: dt.datetime, high: dt.datetime | None = None,
                      names: tuple[str, str] = ("StartDate", "EndDate")) -> dict:
        high = high or self.end
        return {names[0]: self.to_listrak(low - REQUEST_MARGIN), names[1]: self.to_listrak(high + REQUEST_MARGIN)}

    def windows(self, low: dt.datetime, days: int) -> list[tuple[dt.datetime, dt.datetime]]:
        step, windows = dt.timedelta(days=days), []
        while low < self.end:
            windows.append((low, min(low + step, self.end)))
            low = windows[-1][1]
        return windows

    def keeps(self, stream: Stream) -> Callable[[dict], bool]:
        """Whether a shaped record's own date lies in the stream's [start, end) (every record, for a
        stream without a date), and, for an account-wide stream, whether its list is one of `list_ids`."""
        dated, lists, wanted = self._dated(stream), stream.list_field, self.list_ids
        if lists is None or wanted is None:
            return dated
        return lambda record: record[lists] in wanted and dated(record)

    def _dated(self, stream: Stream) -> Callable[[dict], bool]:
        names = stream.record_dates
        if not names:
            return lambda record: True
        # A snapshot's records are bounded by start_date in every run (an INCREMENTAL run re-reads changes).
        low, high = format_utc(self.start if stream.snapshot else self.start_of(stream)), self.end_text
        # RFC 3339 UTC strings of one fixed width compare like the instants they name.
        if len(names) == 1:
            name = names[0]
            return lambda record: record[name] is not None and low <= record[name] < high

        def latest_in_range(record: dict) -> bool:
            latest = max((record[name] for name in names if record[name] is not None), default=None)
            return latest is not None and low <= latest < high

        return latest_in_range


@dataclass(frozen=True)
class Unit:
    selection: Selection
    position: list | None           # the stream's state position once this unit is written
    params: dict                    # request parameters, Page excepted
    parent_value: object = None     # the parent's field added to each record
    records: Iterable[dict] | None = None  # a collected stream's records, already read and shaped
    inherited: Mapping[str, object] | None = None  # the parent's fields the stream `inherits`, added to each record
    walks: tuple[dict, ...] = ()    # a batched_param's groups: more parameters of each walk, merged by key; () = one

    @property
    def stream(self) -> Stream:
        return self.selection.stream

    def describe(self) -> str:
        parent, value = self.stream.parent_field, self.parent_value
        if isinstance(value, list):  # a batch
            return f"{self.stream.name} of {len(value)} {parent}s {value[0]} to {value[-1]}"
        return f"{self.stream.name} of {parent} {value}" if parent else self.stream.name


def groups(selections: list[Selection], interrupted: str | None) -> list[list[Selection]]:
    """Parents before children; streamed siblings together (one walk over their parent keeps every
    worker busy across them); the group interrupted by the last run goes first.

    Groups go by depth, and at one depth a streamed group before a collected one: a collected
    parent (the message index) is read before its children's units are made, and the streamed
    group's units, whose parent is already in hand, keep the pool busy meanwhile. That also starts
    the long sequential walks (subscribed_contacts: every page of every list) early rather than
    leaving them as the run's tail."""
    result: list[list[Selection]] = []
    by_name = {selection.stream.name: selection for selection in selections}
    for stream in table(selections[0].stream.api if selections else "soap"):
        selection = by_name.get(stream.name)
        if selection is None:
            continue
        last = result[-1][0].stream if result else None
        if last is not None and not stream.collected and not last.collected and last.parent == stream.parent:
            result[-1].append(selection)
        else:
            result.append([selection])
    result.sort(key=lambda group: (_depth(group[0].stream), group[0].stream.collected))  # stable: table order
    first = next((group for group in result if interrupted in {s.stream.name for s in group}), None)
    if first:
        result.remove(first)
        result.insert(0, first)
    return result


def _depth(stream: Stream) -> int:
    depth = 0
    while stream.parent:
        stream, depth = parent_of(stream), depth + 1
    return depth


def request_params(stream: Stream, parent: dict | None, run: RunWindow, include_test_messages: bool,
                   window: tuple[dt.datetime, dt.datetime] | None = None) -> dict:
    params = {stream.parent_field: parent[stream.parent_field]} if stream.parent_field and parent else {}
    if parent:  # a REST route's other path parameters: the parent's ancestors' ids
        params.update((name, parent[name]) for name in stream.route_fields)
    params.update(stream.constants)
    if RANGE in stream.params:
        names = stream.range_params
        params.update(run.request_range(*window, names=names) if window else
                      run.request_range(run.start_of(stream), names=names))
    if TEST_MESSAGES in stream.params:
        params["IncludeTestMessages"] = include_test_messages
    return params


def order_key(parent: Stream, record: dict) -> list:
    return [record[name] for name in parent.order_key]


def share_key(stream: Stream, record: dict):
    """Which parent record a collected stream's record belongs to: the parent's field, with the fields
    it inherits when it has any (a REST id may be unique only within its list)."""
    if not stream.inherits:
        return record[stream.parent_field]
    return tuple(record[name] for name in (*stream.inherits, stream.parent_field))


def batched_ids(stream: Stream, source_records: Iterable[dict]) -> dict[object, list]:
    """A `batched_param`'s ids by the parent value of the units they go with: the `field` of the source's
    records (in their order), by their `parent_field` value (contacts: the segmentation field ids by listId)."""
    batched, ids = stream.batched_param, {}
    for record in source_records:
        ids.setdefault(record[stream.parent_field], []).append(record[batched.field])
    return ids


def walks(stream: Stream, ids: list | None) -> tuple[dict, ...]:
    """The walks of a unit of a stream with a `batched_param`: one per group of up to `size` ids (a list, sent
    comma-separated), none when there are no ids (the request without the parameter)."""
    batched = stream.batched_param
    if batched is None or not ids:
        return ()
    return tuple({batched.param: ids[i:i + batched.size]} for i in range(0, len(ids), batched.size))


def units(group: list[Selection], positions: dict[str, list | None], parent: Stream | None,
          parent_records: list[dict], run: RunWindow, include_test_messages: bool,
          collected: Mapping[str, Iterable[dict] | Mapping[object, Iterable[dict]]] | None = None,
          batched: Mapping[str, Mapping[object, list]] | None = None) -> list[Unit]:
    """The units of a group, parent record by parent record, each stream's after its position.

    `collected`: for a collected stream, its records (shaped, in order), which its units then carry:
    the root's as one list, the others' by parent value (parents.Parents.shares).
    `batched`: for a stream with a `batched_param`, its ids by parent value (`batched_ids`)."""
    return list(iter_units(group, positions, parent, parent_records, run, include_test_messages, collected,
                           batched))


class LazyUnits:
    """A group's units, made as the pool takes them (a large account's units never all exist at
    once), with their count for the progress line."""

    def __init__(self, *args):
        self._args = args
        self._count: int | None = None

    def __iter__(self) -> Iterator[Unit]:
        return iter_units(*self._args)

    def __len__(self) -> int:
        if self._count is None:
            self._count = sum(1 for _ in iter_units(*self._args))
        return self._count


def iter_units(group: list[Selection], positions: dict[str, list | None], parent: Stream | None,
               parent_records: list[dict], run: RunWindow, include_test_messages: bool,
               collected: Mapping[str, Iterable[dict] | Mapping[object, Iterable[dict]]] | None = None,
               batched: Mapping[str, Mapping[object, list]] | None = None) -> Iterator[Unit]:
    """`units`, one at a time."""
    if parent is None:  # the account: one unit, and no position short of "complete"
        for selection in group:
            yield Unit(selection, None, request_params(selection.stream, None, run, include_test_messages),
                       records=(collected or {}).get(selection.stream.name))
        return
    shares = collected or {}
    walk_starts = {s.stream.name: format_utc(run.walk_start(s.stream)) for s in group}
    batches = {s.stream.name: _Batch(s) for s in group if s.stream.unit == BATCH}
    for record in parent_records:
        key = order_key(parent, record)
        for selection in group:
            stream = selection.stream
            # A stream of variants is done with a parent record once its last variant is.
            variants = stream.variants_for(selection.incremental)
            last = key + [len(variants) - 1] if variants else key
            if not _pending(positions[stream.name], last, parent.event_date, record, walk_starts[stream.name]):
                continue
            value = record[stream.parent_field]
            inherited = {name: record[name] for name in stream.inherits} or None
            walked = walks(stream, (batched or {}).get(stream.name, {}).get(value))
            if stream.name in batches:
                yield from batches[stream.name].add(value, key)
            elif stream.name in shares:
                yield Unit(selection, key, {}, value, shares[stream.name].get(share_key(stream, record), []),
                           inherited)
            elif variants:  # one unit per variant, each with its own position
                for index, variant in enumerate(variants):
                    if not _pending(positions[stream.name], key + [index], None, record, ""):
                        continue
                    since = (run.reread_start(stream), run.end) if variant.reread and stream.date_ranged else None
                    params = request_params(stream, record, run, include_test_messages, since)
                    yield Unit(selection, key + [index], {**params, **dict(variant.params)}, value,
                               inherited=inherited, walks=walked)
            else:
                yield Unit(selection, key, request_params(stream, record, run, include_test_messages), value,
                           inherited=inherited, walks=walked)
    for batch in batches.values():
        yield from batch.flush()


def _pending(position: list | None, key: list, parent_date: str | None, record: dict, walk_start: str) -> bool:
    if position is not None and key <= position:
        return False  # written before the last run was interrupted
    # A message sent before the stream's walk start has nothing in range.
    return not (parent_date and record[parent_date] < walk_start)


class _Batch:
    """Collects a BATCH stream's parent values; a unit once `batch_size` are in (and the rest at the end)."""

    def __init__(self, selection: Selection):
        self.selection, self.values, self.key = selection, [], None

    def add(self, value, key: list) -> list[Unit]:
        self.values.append(value)
        self.key = key
        return self.flush() if len(self.values) == self.selection.stream.batch_size else []

    def flush(self) -> list[Unit]:
        if not self.values:
            return []
        stream, values = self.selection.stream, self.values
        self.values = []
        # An ArrayOfInt is a sequence of <int> elements: zeep takes it as {"int": [...]}.
        params = {stream.batch_param: {"int": values}, **dict(stream.constants)}
        return [Unit(self.selection, self.key, params, values)]
