"""python -m tests.emulator [--port 0] [knobs]: serve the emulated Listrak API until SIGTERM/SIGINT.

The first line of stdout is the service URL (flushed), e.g. http://127.0.0.1:PORT/v31/IntegrationService.asmx;
the WSDL is at that URL + ?WSDL, statistics at /_stats (GET) and /_reset (POST), the clock at /_clock (GET, POST).
Exits 0 when stopped, or 3 if the emulator failed internally meanwhile (the tracebacks are on stderr).
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .options import add_knobs, specs_from_args
from .server import Emulator

INTERNAL_ERRORS = 3  # exit status when the emulator's own code failed while serving


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    parser.add_argument("--describe", action="store_true",
                        help="print the account's lists and messages as JSON and exit, without serving")
    add_knobs(parser)
    return parser


def describe(emulator: Emulator) -> dict:
    data, as_of = emulator.data, emulator.server_spec.as_of
    return {
        "lists": [{"ListID": cl.ListID, "ListName": cl.ListName, "messages": [
            {"MsgID": m.MsgID, "SendDate": m.SendDate.isoformat() + "Z", "test": m.is_test,
             "recipients": m.recipient_count, "vanished": m.MsgID in data.vanished}
            for m in data.messages(cl.index) if as_of is None or m.SendDate <= as_of]} for cl in data.lists()],
    }


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        dataset, server = specs_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    emulator = Emulator(dataset, server, host=args.host, port=args.port)
    if args.describe:
        json.dump(describe(emulator), sys.stdout, ensure_ascii=False, indent=1)
        print()
        emulator.stop()
        return 0
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    emulator.start()
    print(emulator.url, flush=True)
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
