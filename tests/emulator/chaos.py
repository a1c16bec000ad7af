"""Which data call gets an injected fault.

By rate: the draw depends on the seed, the call's content and how many times that same call was made
before, never on arrival order, so a run with concurrent workers meets the same faults every time, and
a retry of a faulted call gets a fresh draw. By rule (--fault-on OP:N:KIND): the Nth data call of OP.
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
        self._per_op = Counter()
        self._attempts = Counter()

    def decide(self, op: str, call_key: str) -> Optional[str]:
        with self._lock:
            self._per_op[op] += 1
            nth = self._per_op[op]
            self._attempts[call_key] += 1
            attempt = self._attempts[call_key]
        rule = self.rules.get((op, nth))
        if rule is not None:
            return rule
        if self.rate <= 0:
            return None
        digest = hashlib.blake2b(f"{self.seed}|{attempt}|{call_key}".encode(), digest_size=16).digest()
        draw = (int.from_bytes(digest[:8], "big") >> 11) / _SCALE
        if draw >= self.rate:
            return None
        return self.kinds[int.from_bytes(digest[8:], "big") % len(self.kinds)]

    def reset(self) -> None:
        with self._lock:
            self._per_op.clear()
            self._attempts.clear()
