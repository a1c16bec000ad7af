"""The nine operations: lookup, date filtering, test-message filtering and paging over the generated data.

With a clock (data.AsOf) the same date filtering also cuts off what does not exist or is not reported yet.

Rendered item fragments are cached per (operation, list or message) together with their sort keys, so a
page costs one bisect and one join however large the account is.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import datetime
from functools import lru_cache
from typing import Optional

from . import wire
from .data import AsOf, Dataset
from .paging import Pager
from .request import refusal
from .spec import OPERATIONS, ServerSpec

NOT_FOUND = "404 - File or directory not found."

# Range operation -> (attribute of MessageEvents, Renderer method)
_EVENT_STREAMS = {
    "ReportRangeMessageContactOpen": ("opens", "open"),
    "ReportRangeMessageContactClick": ("clicks", "click"),
    "ReportRangeMessageContactRead": ("reads", "read"),
    "ReportRangeMessageContactRemoval": ("removals", "removal"),
    "ReportRangeMessageContactBounces": ("bounces", "bounce"),
}


def not_found():
    # The existing tap recognises a vanished message by this IIS text inside the fault.
    return refusal(NOT_FOUND, "NotFound", detail=NOT_FOUND)


class Service:
    def __init__(self, dataset: Dataset, spec: ServerSpec) -> None:
        self.data = dataset
        self.spec = spec
        self.pager = Pager(spec, dataset.spec.seed)
        self.render = wire.Renderer(dataset.clock, spec.event_date_format)
        self._fragments = lru_cache(maxsize=192)(self._build_fragments)  # ~30 messages of all six streams

    def call(self, op: str, params: dict, at: Optional[AsOf] = None) -> tuple[str, int]:
        """-> (response XML, number of records in it) as of `at` (None: no clock). Raises SoapError for refusals."""
        item = OPERATIONS[op][0]
        if op == "GetContactListCollection":
            items = [self.render.contact_list(cl) for cl in self.data.lists()]
            records = len(items)
            if self.data.spec.nil_items and items:
                items.append(wire.nil_item(item))
            return wire.response(op, items, self.spec.empty_result), records
        if op == "ReportListMessageActivity":
            items, records = self._activity(params, at)
            return wire.response(op, items, self.spec.empty_result), records
        page = params["Page"]
        if page < 1:
            raise refusal("Page must be 1 or greater.", "BadRequest")
        if op == "ReportRangeSubscribedContacts":
            list_index = self._list_index(params["ListID"])
            keys, fragments = self._fragments(op, list_index)
            nil = self.data.nil_item_in_subscribers(list_index)
            unit = f"{op}|{params['ListID']}"
            cutoff = at and at.now
        else:
            list_index, index = self._message_position(params["MsgID"], at)
            keys, fragments = self._fragments(op, list_index, index)
            nil = self.data.nil_item_in_message(list_index, index)
            unit = f"{op}|{params['MsgID']}"
            cutoff = at and at.reported
        if keys is None:  # the sends of a message that exists: all of them
            lo, hi = 0, len(fragments)
        else:
            lo, hi = self._window(keys, params["StartDate"], params["EndDate"], cutoff)
            unit += f"|{params['StartDate'].isoformat()}|{params['EndDate'].isoformat()}"
        real = hi - lo
        entries = real + (1 if nil and real else 0)  # the trailing nil item of --nil-items is an entry
        slots = self.pager.page(unit, op, page, entries, real)
        items = [fragments[lo + s] if s is not None and s < real else wire.nil_item(item) for s in slots]
        records = sum(1 for s in slots if s is not None and s < real)
        return wire.response(op, items, self.spec.empty_result), records

    # ---- lookups -----------------------------------------------------------------------------

    def _list_index(self, list_id: int) -> int:
        index = self.data.list_index(list_id)
        if index is None:
            raise not_found()
        return index

    def _message_position(self, msg_id: int, at: Optional[AsOf]) -> tuple[int, int]:
        position = self.data.locate_message(msg_id)
        if position is None or msg_id in self.data.vanished:
            raise not_found()
        if at is not None and self.data.message(*position).SendDate > at.now:
            raise not_found()  # not sent yet: no such message
        return position

    def _window(self, keys: list, start: datetime, end: datetime, cutoff: Optional[datetime] = None) -> tuple[int, int]:
        """Indexes of the sorted keys inside the requested range and, with a clock, at or before its cutoff."""
        ends = self.spec.range_ends
        start_inclusive = ends in ("inclusive", "end-exclusive")
        end_inclusive = ends in ("inclusive", "start-exclusive")
        lo = bisect_left(keys, start) if start_inclusive else bisect_right(keys, start)
        hi = bisect_right(keys, end) if end_inclusive else bisect_left(keys, end)
        if cutoff is not None:
            hi = min(hi, bisect_right(keys, cutoff))
        return lo, max(lo, hi)

    # ---- operations --------------------------------------------------------------------------

    def _activity(self, params: dict, at: Optional[AsOf]) -> tuple[list[str], int]:
        list_index = self._list_index(params["ListID"])
        keys, fragments = self._fragments("ReportListMessageActivity", list_index)
        lo, hi = self._window(keys, params["StartDate"], params["EndDate"], at and at.now)
        include_tests = params["IncludeTestMessages"]
        messages = self.data.messages(list_index)
        chosen = [i for i in range(lo, hi) if include_tests or not messages[i].is_test]
        if self.spec.activity_cap:
            del chosen[self.spec.activity_cap:]  # an undocumented cap: the rest is silently left out
        if at is None:
            items = [fragments[i] for i in chosen]
        else:  # the counters change with the clock, so these are rendered per call
            items = [self.render.message_activity(self.data.reported_message(list_index, messages[i].index,
                                                                             at.reported)) for i in chosen]
        records = len(items)
        if items and self.data.nil_item_in_activity(list_index):
            items.append(wire.nil_item("WSMessageActivity"))
        return items, records

    def _build_fragments(self, op: str, list_index: int, index: int | None = None):
        """-> (sort keys or None, rendered items) in the order the operation returns them."""
        render, data = self.render, self.data
        if op == "ReportListMessageActivity":
            messages = data.messages(list_index)
            return [m.SendDate for m in messages], [render.message_activity(m) for m in messages]
        if op == "ReportRangeSubscribedContacts":
            contacts = data.subscribers(list_index)
            return [c.addition for c in contacts], [render.subscription(c) for c in contacts]
        if op == "ReportMessageContactSent":
            return None, [render.recipient(c) for c in data.recipients(list_index, index)]
        attribute, method = _EVENT_STREAMS[op]
        events = getattr(data.events(list_index, index), attribute)
        draw = getattr(render, method)
        return [e.when for e in events], [draw(e) for e in events]
