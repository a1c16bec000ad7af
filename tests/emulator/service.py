"""The eighteen operations: lookup, date filtering, test-message filtering and paging over the generated data.

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
from .secondary import CONVERSATION_FIELDS, Secondary
from .spec import ANALYTICS_LIMIT, OPERATIONS, ServerSpec

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
        self.render = wire.Renderer(dataset.clock, spec.event_date_format, spec.element_order)
        self.secondary = Secondary(dataset)
        # The default, 192, holds ~30 messages of all six streams: each unit's pages come from one rendering.
        self._fragments = lru_cache(maxsize=spec.cache_units)(self._build_fragments)
        # Operations answered in one reply, without Page: params, clock -> (rendered items, records).
        self._single = {"GetContactListCollection": self._lists, "ReportListMessageActivity": self._activity,
                        "GetCampaignCollection": self._campaigns, "GetMessageAnalyticsInformation": self._analytics,
                        "ReportListMessageDelivery": self._deliveries,
                        "ReportListConversationActivity": self._conversations,
                        "GetProfileHeaderCollection": self._profile_headers}

    def call(self, op: str, params: dict, at: Optional[AsOf] = None) -> tuple[str, int]:
        """-> (response XML, number of records in it) as of `at` (None: no clock). Raises SoapError for refusals."""
        item = OPERATIONS[op][0]
        if op in self._single:
            items, records = self._single[op](params, at)
            return wire.response(op, items, self.spec.empty_result), records
        page = params["Page"]
        if page < 1:
            raise refusal("Page must be 1 or greater.", "BadRequest")
        if self.spec.ignore_page:
            page = 1
        keys, fragments, nil, unit, cutoff = self._source(op, params, at)
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

    def _source(self, op: str, params: dict, at: Optional[AsOf]):
        """A paged operation's unit -> (sort keys or None, fragments, trailing nil item?, unit name, cutoff)."""
        if op == "ReportAdminContactFeedbackLoop":  # the account's: no ListID
            keys, fragments = self._fragments(op, -1)
            return keys, fragments, False, op, at and at.reported
        if "ListID" in params:
            list_index = self._list_index(params["ListID"])
            keys, fragments = self._fragments(op, list_index)
            nil = op == "ReportRangeSubscribedContacts" and self.data.nil_item_in_subscribers(list_index)
            # A contact exists once added; removals and hygiene are reported like events.
            cutoff = at and (at.now if op == "ReportRangeSubscribedContacts" else at.reported)
            return keys, fragments, nil, f"{op}|{params['ListID']}", cutoff
        list_index, index = self._message_position(params["MsgID"], at)
        unit = f"{op}|{params['MsgID']}"
        if op == "ReportMessageLinkClick":  # counters follow the clock: rendered per call
            message = self.data.message(list_index, index)
            return None, [self.render.secondary("WSMessageLink", link) for link in
                          self.secondary.links(message, at)], False, unit, None
        keys, fragments = self._fragments(op, list_index, index)
        return keys, fragments, self.data.nil_item_in_message(list_index, index), unit, at and at.reported

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

    def _lists(self, params: dict, at: Optional[AsOf]) -> tuple[list[str], int]:
        items = [self.render.contact_list(cl) for cl in self.data.lists()]
        return self._with_nil(items, "WSContactList", self.data.spec.nil_items)

    @staticmethod
    def _with_nil(items: list[str], item: str, nil: bool) -> tuple[list[str], int]:
        """The items and their count, a trailing xsi:nil item added when `nil` (and there are items)."""
        records = len(items)
        if nil and items:
            items.append(wire.nil_item(item))
        return items, records

    def _campaigns(self, params: dict, at: Optional[AsOf]) -> tuple[list[str], int]:
        list_index = self._list_index(params["ListID"])
        items = [self.render.secondary("WSCampaign", c) for c in self.secondary.campaigns(list_index, at)]
        return self._with_nil(items, "WSCampaign", self.data.spec.nil_items and list_index == 0)

    def _analytics(self, params: dict, at: Optional[AsOf]) -> tuple[list[str], int]:
        """Each known MsgID's item, in the order asked; an unknown, vanished or unsent one is left out."""
        msg_ids = params["MsgIDs"]
        if len(msg_ids) > ANALYTICS_LIMIT:
            raise refusal(f"The number of messages requested ({len(msg_ids)}) exceeds the limit of "
                          f"{ANALYTICS_LIMIT}.", "BadRequest")
        items = []
        for msg_id in dict.fromkeys(msg_ids):
            position = self.data.locate_message(msg_id)
            if position is None or msg_id in self.data.vanished:
                continue
            message = self.data.message(*position)
            if at is None or message.SendDate <= at.now:
                items.append(self.render.secondary("WSMessageAnalyticsInformation", self.secondary.analytics(message)))
        return items, len(items)

    def _deliveries(self, params: dict, at: Optional[AsOf]) -> tuple[list[str], int]:
        """Like ReportListMessageActivity: the list's messages sent in the range, test messages if asked."""
        list_index = self._list_index(params["ListID"])
        messages = self.data.messages(list_index)
        lo, hi = self._window([m.SendDate for m in messages], params["StartDate"], params["EndDate"], at and at.now)
        items = [self.render.secondary("WSMessageDelivery", self.secondary.delivery(m, at)) for m in messages[lo:hi]
                 if params["IncludeTestMessages"] or not m.is_test]
        return items, len(items)

    def _conversations(self, params: dict, at: Optional[AsOf]) -> tuple[list[str], int]:
        list_index = self._list_index(params["ListID"])
        items = [self.render.secondary("WSConversationActivity", c, CONVERSATION_FIELDS)
                 for c in self.secondary.conversations(list_index) if params["IncludeTerminated"] or not c.terminated]
        return items, len(items)

    def _profile_headers(self, params: dict, at: Optional[AsOf]) -> tuple[list[str], int]:
        list_index = self._list_index(params["ListID"])
        items = [self.render.secondary("WSProfileHeader", h) for h in self.secondary.profile_headers(list_index)]
        return self._with_nil(items, "WSProfileHeader", self.data.spec.nil_items and list_index == 0)

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
        if op == "ReportRangeListContactRemoval":
            removals = self.secondary.list_removals(list_index)
            return [e.when for e in removals], [render.removal(e) for e in removals]
        if op == "ReportRangeListContactHygiene":
            rows = self.secondary.hygiene(list_index)
            return [e.HygieneDate for e in rows], [render.secondary("WSContactHygieneInfo", e) for e in rows]
        if op == "ReportAdminContactFeedbackLoop":
            rows = self.secondary.complaints()
            return [e.AbuseDate for e in rows], [render.secondary("WSFeedbackLoopListing", e) for e in rows]
        attribute, method = _EVENT_STREAMS[op]
        events = getattr(data.events(list_index, index), attribute)
        draw = getattr(render, method)
        return [e.when for e in events], [draw(e) for e in events]
