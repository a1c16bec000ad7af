"""python -m tests.rest_emulator [--port 0] [knobs]: serve the emulated Listrak Email REST API until SIGTERM/SIGINT.

The first line of stdout is the API's base URL (flushed), e.g. http://127.0.0.1:PORT/email/v1; the token endpoint
is http://127.0.0.1:PORT/OAuth2/Token, statistics at /_stats (GET) and /_reset (POST), the clock at /_clock.
Exits 0 when stopped, or 3 if the emulator failed internally meanwhile (the tracebacks are on stderr).
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from .options import add_knobs, specs_from_args
from .server import RestEmulator

INTERNAL_ERRORS = 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.rest_emulator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    add_knobs(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        dataset, server = specs_from_args(args)
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    emulator = RestEmulator(dataset, server, host=args.host, port=args.port)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    emulator.start()
    print(emulator.base_url, flush=True)
    while not done.wait(0.5):
        pass
    emulator.stop()
    if emulator.internal_errors:
        print(f"the emulator failed internally {len(emulator.internal_errors)} time(s); tracebacks above",
              file=sys.stderr)
        return INTERNAL_ERRORS
    return 0


if __name__ == "__main__":
    sys.exit(main())
