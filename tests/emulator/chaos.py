"""Which data call gets an injected fault.

By rate: the draw depends on the seed, the call's content and how many times that same call was made
before, never on arrival order, so a run with concurrent workers meets the same faults every time, and
a retry of a faulted call gets a fresh draw. By rule (--fault-on OP:N:KIND): the Nth data call of OP, or
with OP = * the Nth data call of any operation, counted in arrival order.
"""
from __future__ import annotations

import hashlib
import threading
from collections import Counter
from typing import Optional

from .spec import ServerSpec

_SCALE = float(1 << 53)


class FaultPlan:
    def __init__(self, spec: ServerSpec, seed: int) -> None:
        self.rate = spec.fault_rate
        self.kinds = spec.fault_kinds
        self.rules = spec.fault_rules()
        self.seed = seed
        self._lock = threading.Lock()
        self._per_op = Counter()  # the "*" entry counts data calls of every operation
        self._attempts = Counter()

    def decide(self, op: str, call_key: str) -> tuple[Optional[str], int]:
        """-> (fault kind or None, arrival number of this data call, 1-based)."""
        with self._lock:
            self._per_op[op] += 1
            self._per_op["*"] += 1
            nth, seq = self._per_op[op], self._per_op["*"]
            self._attempts[call_key] += 1
            attempt = self._attempts[call_key]
        rule = self.rules.get((op, nth)) or self.rules.get(("*", seq))
        if rule is not None or self.rate <= 0:
            return rule, seq
        digest = hashlib.blake2b(f"{self.seed}|{attempt}|{call_key}".encode(), digest_size=16).digest()
        draw = (int.from_bytes(digest[:8], "big") >> 11) / _SCALE
        if draw >= self.rate:
            return None, seq
        return self.kinds[int.from_bytes(digest[8:], "big") % len(self.kinds)], seq

    def reset(self) -> None:
        with self._lock:
            self._per_op.clear()
            self._attempts.clear()
