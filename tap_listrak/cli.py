"""Command line: `tap-listrak --config C [--discover | --catalog K | --probe] [--state S]`.

Singer messages go to stdout, logs to stderr. Any failure ends with one CRITICAL line that names
the cause and exit status 1. `--probe` prints one JSON report on stdout and a summary on stderr;
it exits 0 when every assumption holds or could not be tested, 1 when one does not hold, 2 when
the probe could not run (the same one-line errors as discovery).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from tap_listrak import __version__
from tap_listrak.catalog import default_selections, selections_from_catalog
from tap_listrak.config import Config, load_config, load_json_file
from tap_listrak.errors import CatalogError, OutputClosedError, StateError, TapError
from tap_listrak.output import SingerWriter, to_target
from tap_listrak.redaction import redact
from tap_listrak.state import State

LOGGER = logging.getLogger("tap_listrak")
PROBE_REQUESTS = 60  # probe.MAX_REQUESTS, without importing the client before the arguments are read
# Exit status of a probe that could not run (credentials, IP, permissions, bad config).
PROBE_NOT_RUN = 2


class RedactingFilter(logging.Filter):
    """Last line of defence: whatever logs a secret, the secret does not reach stderr."""

    def __init__(self, secrets: tuple[str, ...]):
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def add(self, secret: str) -> None:
        """A secret learnt during the run (a REST access token)."""
        if secret and secret not in self.secrets:
            self.secrets += (secret,)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        clean = redact(message, self.secrets)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tap-listrak", description="Singer tap for the Listrak SOAP API v31.")
    parser.add_argument("-c", "--config", help="config JSON file (see sample_config.json)")
    parser.add_argument("-d", "--discover", action="store_true", help="print the catalog and exit")
    parser.add_argument("--catalog", help="catalog JSON file selecting streams and fields")
    parser.add_argument("-p", "--properties", help="legacy name of --catalog")
    parser.add_argument("--probe", action="store_true",
                      help="measure which of Listrak's undocumented behaviours hold on this account (read-only, "
                           f"at most {PROBE_REQUESTS} requests) and print a report to attach to any bug report")
    parser.add_argument("-s", "--state", help="state JSON file from an earlier run")
    parser.add_argument("--about", action="store_true", help="print name, version, capabilities and settings")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text", help="format of --about")
    parser.add_argument("--version", action="version", version=f"tap-listrak {__version__}")
    args = parser.parse_args(argv)
    if not args.config and not args.about:
        parser.error("--config is required")
    if args.probe and (args.discover or args.catalog or args.properties or args.state):
        parser.error("--probe runs on its own: leave out --discover, --catalog, --properties and --state")
    return args


def setup_logging() -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = os.environ.get("TAP_LISTRAK_LOG_LEVEL", "INFO").upper()
    root.setLevel(level if level in logging.getLevelNamesMapping() else logging.INFO)
    # zeep and urllib3 are chatty; they speak only when the user asks for DEBUG.
    for noisy in ("zeep", "urllib3", "requests"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    return handler


def main(argv=None) -> int:
    handler = setup_logging()
    args = parse_args(argv)
    if args.about:
        from tap_listrak.about import render
        print(render(args.format))
        return 0
    failed = PROBE_NOT_RUN if args.probe else 1
    try:
        config = load_config(args.config)
        handler.addFilter(RedactingFilter(config.secrets))
        if args.probe:
            return run_probe(config)
        run(args, config)
    except TapError as exc:
        LOGGER.critical("%s", exc)
        if isinstance(exc, OutputClosedError):
            _stdout_to_devnull()
        return failed
    except KeyboardInterrupt:
        LOGGER.critical("interrupted" if args.probe else "interrupted: the last STATE printed marks what was written")
        return failed
    except Exception as exc:  # a bug: one line for the user, the traceback for the report
        LOGGER.debug("traceback", exc_info=True)
        LOGGER.critical("unexpected %s: %s (please report it with the log above)", exc.__class__.__name__, exc)
        return failed
    return 0


def _redacting_filter() -> RedactingFilter | None:
    filters = (f for handler in logging.getLogger().handlers for f in handler.filters)
    return next((f for f in filters if isinstance(f, RedactingFilter)), None)


def _stdout_to_devnull() -> None:
    """Points stdout at /dev/null once its pipe is broken: the lines it still buffers would raise
    again when the interpreter flushes it at exit ("Exception ignored ... BrokenPipeError")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a file (replaced in-process): nothing to flush at exit
        pass


def run_probe(config: Config) -> int:
    """`--probe`: the report on stdout, its summary on stderr → the exit status (see probe.exit_code).
    A refused login or IP is raised before any report, as discovery raises it."""
    from tap_listrak.probe import exit_code, summary_lines

    logging.getLogger("tap_listrak.metrics").setLevel(logging.WARNING)  # the report counts the requests
    if config.rest:
        from tap_listrak.rest_probe import make_clients, probe
        redacting = _redacting_filter()  # each access token joins the secrets as it is granted
        report, failure = probe(make_clients(config, redacting.add if redacting is not None else None), config)
    else:
        from tap_listrak.client import ListrakClient
        from tap_listrak.probe import probe, probe_config
        report, failure = probe(ListrakClient(probe_config(config)), config)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    sys.stdout.flush()
    for line in summary_lines(report):
        print(line, file=sys.stderr)
    if failure is not None:
        LOGGER.critical("%s", failure)
    return exit_code(report, failure)


def run(args: argparse.Namespace, config: Config) -> None:
    catalog_path = args.catalog or args.properties
    selections = None if args.discover else (
        selections_from_catalog(load_json_file(catalog_path, "catalog", CatalogError), config.api) if catalog_path
        else default_selections(config.api))
    state = State(load_json_file(args.state, "state", StateError) if args.state else None)
    # Imported only now: bad input is reported before zeep and the WSDL are even loaded.
    from tap_listrak.discover import discover
    from tap_listrak.sync import Sync

    if config.rest:
        from tap_listrak.rest_client import RestClient
        client = RestClient(config)
        # Each access token is a secret too: kept out of every log line from its grant on.
        redacting = _redacting_filter()
        if redacting is not None:
            client.watch_secrets(redacting.add)
    else:
        from tap_listrak.client import ListrakClient
        client = ListrakClient(config)
    if args.discover:
        catalog = discover(client, config.api)
        with to_target():
            json.dump(catalog, sys.stdout, indent=2)
            sys.stdout.write("\n")
            sys.stdout.flush()
        return
    if not selections:
        LOGGER.warning("No stream is selected in the catalog: nothing to extract")
    writer = SingerWriter()
    try:
        Sync(config, client, selections, state, writer).run()
    finally:
        writer.flush()


if __name__ == "__main__":
    sys.exit(main())
