"""The tap's state: where an interrupted run stopped, so the next run goes on from there.

Shape (keys the tap does not know, at any level, are carried over unchanged):

    {"currently_syncing": "message_opens",
     "bookmarks": {
       "lists":         {"run_start": S, "run_end": E, "complete": true},
       "message_opens": {"run_start": S, "run_end": E, "position": [ListID, SendDate, MsgID],
                         "replication_key": "OpenDate", "replication_key_value": B}}}

`replication_key_value` (Singer's convention) is the end of the last run that extracted the
stream completely: an INCREMENTAL run starts there, less the lookback. It is written with the
stream's completion, after every record before it, and kept across runs; streams that have a
replication key write it in FULL_TABLE runs too, so a switch to INCREMENTAL starts where the last
complete run ended.

A stream's `position` is the last unit (list, or message of a list) whose records were all
written. A position counts only for the same run window (run_start, run_end): a resumed run keeps
the interrupted run's end, so its walk covers the same messages in the same order. A run that
completes clears every position, and the next run is a full one again (full-table replication).
`currently_syncing` is Singer's top-level key, read and written by singer-python's helpers.
"""
from __future__ import annotations

import copy
import datetime as dt

import singer

from tap_listrak.errors import StateError
from tap_listrak.streams import TABLES, by_name


def _ours(name: str) -> bool:
    """A bookmark of either API's streams (a state belongs to the API that wrote it; the shapes are the same)."""
    return any(name in by_name(api) for api in TABLES)
from tap_listrak.transform import format_utc

RUN_KEYS = ("run_start", "run_end", "position", "complete")
COMPLETE = "complete"


class State:
    def __init__(self, raw: dict | None = None):
        # Only "no state" means empty: a state file holding [] or 0 is a mistake worth reporting.
        self.value = validate(copy.deepcopy(raw) if raw is not None else {})
        self.value.setdefault("bookmarks", {})
        self.value.setdefault("currently_syncing", None)

    # -- reading ----------------------------------------------------------------------------------
    @property
    def currently_syncing(self) -> str | None:
        return singer.get_currently_syncing(self.value)

    def resumable_end(self, run_start: dt.datetime, selected: set[str]) -> dt.datetime | None:
        """The end of the interrupted run to go on with, if a stream selected now holds one for this
        start: an interrupted stream that is no longer selected leaves no trace in the run's window."""
        start = format_utc(run_start)
        for name, bookmark in self.value["bookmarks"].items():
            # Only our streams' bookmarks were validated; other keys are carried, never read.
            if _ours(name) and name in selected and bookmark.get("run_start") == start \
                    and bookmark.get("run_end"):
                return dt.datetime.strptime(bookmark["run_end"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                    tzinfo=dt.timezone.utc)
        return None

    def replicated_until(self, stream: str) -> dt.datetime | None:
        """The stream's bookmark: the end of its last complete run, if any."""
        bookmark = self.value["bookmarks"].get(stream)
        value = bookmark.get("replication_key_value") if isinstance(bookmark, dict) else None
        return _instant(value) if value is not None else None

    def position(self, stream: str, run_start: dt.datetime, run_end: dt.datetime):
        """COMPLETE, a position list, or None (start from the beginning)."""
        bookmark = self.value["bookmarks"].get(stream)
        if not isinstance(bookmark, dict):
            return None
        if bookmark.get("run_start") != format_utc(run_start) or bookmark.get("run_end") != format_utc(run_end):
            return None
        if bookmark.get("complete"):
            return COMPLETE
        return bookmark.get("position")

    # -- writing ----------------------------------------------------------------------------------
    def set_syncing(self, stream: str | None) -> None:
        singer.set_currently_syncing(self.value, stream)

    def set_position(self, stream: str, run_start, run_end, position: list) -> None:
        self._bookmark(stream, run_start, run_end).update(position=position)

    def set_complete(self, stream: str, run_start, run_end) -> None:
        bookmark = self._bookmark(stream, run_start, run_end)
        bookmark.pop("position", None)
        bookmark["complete"] = True

    def set_replicated_until(self, stream: str, key: str, end: dt.datetime) -> None:
        self.value["bookmarks"].setdefault(stream, {}).update(replication_key=key,
                                                              replication_key_value=format_utc(end))

    def clear_positions(self) -> None:
        """After a complete run: no position left, unknown keys kept."""
        singer.set_currently_syncing(self.value, None)
        bookmarks = self.value["bookmarks"]
        for name in list(bookmarks):
            bookmark = bookmarks[name]
            if _ours(name) and isinstance(bookmark, dict):
                for key in RUN_KEYS:
                    bookmark.pop(key, None)
                if not bookmark:
                    del bookmarks[name]

    def _bookmark(self, stream, run_start, run_end) -> dict:
        bookmark = self.value["bookmarks"].setdefault(stream, {})
        start, end = format_utc(run_start), format_utc(run_end)
        if bookmark.get("run_start") != start or bookmark.get("run_end") != end:
            for key in RUN_KEYS:
                bookmark.pop(key, None)
        bookmark.update(run_start=start, run_end=end)
        return bookmark


def validate(raw) -> dict:
    if not isinstance(raw, dict):
        raise StateError(f"state must be a JSON object (a STATE message's value), not a JSON {type(raw).__name__}: "
                         "pass the last state the tap emitted, or none")
    syncing = raw.get("currently_syncing")
    if syncing is not None and not isinstance(syncing, str):
        raise StateError("state key 'currently_syncing' must be a stream name or null")
    bookmarks = raw.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        raise StateError("state key 'bookmarks' must be an object keyed by stream name: pass the last state the "
                         "tap emitted, or none")
    for name, bookmark in bookmarks.items():
        if _ours(name):
            _validate_bookmark(name, bookmark)
    return raw


def _validate_bookmark(name: str, bookmark) -> None:
    if not isinstance(bookmark, dict):
        raise StateError(f"state bookmark for {name!r} must be an object: pass the last state the tap emitted, "
                         "or delete that bookmark")
    for key in ("run_start", "run_end"):
        value = bookmark.get(key)
        if value is None:
            continue
        try:
            dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")
        except (TypeError, ValueError):
            raise StateError(f"state bookmark {name}.{key} is not a date-time written by this tap ({value!r}): "
                             "delete that bookmark to start the stream over") from None
    value = bookmark.get("replication_key_value")
    if value is not None:
        try:
            _instant(value)
        except (TypeError, ValueError):
            raise StateError(f"state bookmark {name}.replication_key_value is not an ISO 8601 date-time ({value!r}): "
                             "fix it, or delete it to extract the stream from start_date again") from None
    position = bookmark.get("position")
    if position is not None and not (isinstance(position, list) and position
                                     and all(isinstance(part, (int, str)) for part in position)):
        raise StateError(f"state bookmark {name}.position must be a list such as [ListID, SendDate, MsgID]: "
                         "delete that bookmark to start the stream over")


def _instant(value: str) -> dt.datetime:
    """An ISO 8601 date-time as an aware instant (UTC unless it says otherwise)."""
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
