"""The tap with one of its own parts swapped for what a library does instead, for bench.ab.

`python -m bench.variant NAME [tap-listrak arguments]` runs the command line as `tap-listrak`
does, with the part NAME swapped first (or, for a part the tap no longer has, put back). The figures that keep a part (docs/architecture.md,
"What the tap writes itself") come from `python -m bench.ab TAP VARIANT` with VARIANT an
executable that runs this module (`bench.ab --variant NAME` writes one).

Variants:
- `mallopt`: glibc's malloc tuned at start-up by mallopt, as the tap once did (two arenas, a fixed
  128 KB mmap threshold);
- `zeep-replies`: replies read by zeep's own object building (tests/zeep_reference.py), the page
  handed on whole, instead of the streaming dict reader.
"""
from __future__ import annotations

import sys


def mallopt() -> None:
    import ctypes

    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(-8, 2)  # M_ARENA_MAX
    libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD (setting it also stops its drift)


def zeep_replies() -> None:
    from tap_listrak import client, replies
    from tests.zeep_reference import zeep_items

    original = replies.OperationReader.read
    zeep_client = client.load_wsdl()

    def read(self, chunks, status, secrets=(), collect=list):
        body = b"".join(chunks)
        if status != 200:  # faults and broken replies: classified as the tap classifies them
            return original(self, [body], status, secrets, collect)
        items = zeep_items(zeep_client, self.operation, body)
        page = replies.Page(len(items), collect(), result_present=bool(items))
        if items:
            page.first, page.last = repr(items[0]), repr(items[-1])
            page.items.extend(items)
        return page

    replies.OperationReader.read = read


VARIANTS = {"mallopt": mallopt, "zeep-replies": zeep_replies}


def main() -> int:
    name, sys.argv[1:] = sys.argv[1], sys.argv[2:]
    VARIANTS[name]()
    from tap_listrak.cli import main as command_line
    return command_line()


if __name__ == "__main__":
    sys.exit(main())
