"""Which entries a page holds: page size per operation and per unit, jitter, nil slots.

A unit is what one paged result is about: (operation, MsgID or ListID, StartDate, EndDate). Its entries
are the real items in order, plus the trailing nil item of --nil-items. Page q of a unit has a number of
slots (its length) and some of those slots may be nil slots, which hold an xsi:nil item instead of an
entry, as a .NET server paging a list with null elements would. Lengths and nil slots are pure functions
of (seed, unit, q), so the same request always gets the same page; page p starts after the entries of
pages 1..p-1, so every entry is served exactly once and the page after the last one is empty.
"""
from __future__ import annotations

import hashlib
import random
from functools import lru_cache

from .spec import ServerSpec

NIL = None  # a nil slot in a page plan


def _draw(*parts) -> int:
    text = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


class Pager:
    def __init__(self, spec: ServerSpec, seed: int) -> None:
        self.spec = spec
        self.seed = seed
        self.sizes = spec.page_size_overrides()
        self._plan = lru_cache(maxsize=4096)(self._page_plan)

    def unit_size(self, unit: str, op: str) -> int:
        """The page size of one unit: per operation, then (optionally) drawn per unit within [size/2, size]."""
        size = self.sizes.get(op, self.spec.page_size)
        if self.spec.page_size_per_unit:
            low = (size + 1) // 2
            size = low + _draw(self.seed, "unit-size", unit) % (size - low + 1)
        return size

    def _page_plan(self, unit: str, op: str, page: int) -> tuple[int, frozenset[int]]:
        """-> (slots of page `page`, positions of its nil slots), ignoring where the data ends."""
        size = self.unit_size(unit, op)
        jitter = min(self.spec.page_jitter, size - 1)
        length = size - (_draw(self.seed, "jitter", unit, page) % (jitter + 1) if jitter else 0)
        rate = self.spec.nil_slot_rate
        if rate <= 0:
            return length, frozenset()
        rng = random.Random(f"{self.seed}|nil-slots|{unit}|{page}")
        return length, frozenset(s for s in range(length) if rng.random() < rate)

    def page(self, unit: str, op: str, page: int, entries: int, real: int) -> list[int | None]:
        """Page `page` (1-based) as a list of entry indexes and NIL slots; entries >= real are trailing.

        Nil slots only sit before an entry, so a page never ends with nil slots once the data has ended,
        and pages past the end are empty. --nil-only-page N turns page N into nil slots only, when real
        entries remain after it.
        """
        cursor = 0
        for q in range(1, page):
            length, nils = self._slots(unit, op, q, cursor, real)
            cursor += length - len(nils)  # past the end, later pages are empty anyway
            if cursor >= entries:
                return []
        length, nils = self._slots(unit, op, page, cursor, real)
        slots: list[int | None] = []
        for s in range(length):
            if cursor >= entries:
                break
            if s in nils:
                slots.append(NIL)
            else:
                slots.append(cursor)
                cursor += 1
        return slots

    def _slots(self, unit: str, op: str, page: int, cursor: int, real: int):
        length, nils = self._plan(unit, op, page)
        if page == self.spec.nil_only_page and cursor < real:
            return length, range(length)
        return length, nils
