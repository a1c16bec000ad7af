"""Command-line knobs of the REST emulator (the SOAP emulator's data knobs plus RestServerSpec), and their inverse."""
from __future__ import annotations

import argparse

from tests.emulator import options as soap_options
from tests.emulator.spec import DatasetSpec

from .spec import DEFAULT_TIMEZONE, RestServerSpec

GROUPS = ((DatasetSpec, "data (the SOAP emulator's account, deterministic from --seed)"), (RestServerSpec, "behaviour"))


def add_knobs(parser: argparse.ArgumentParser) -> None:
    original = soap_options.GROUPS
    soap_options.GROUPS = GROUPS
    try:
        soap_options.add_knobs(parser)
    finally:
        soap_options.GROUPS = original
    parser.set_defaults(timezone=DEFAULT_TIMEZONE)


def specs_from_args(args: argparse.Namespace) -> tuple[DatasetSpec, RestServerSpec]:
    values = vars(args)
    dataset = DatasetSpec(**{f: values[f] for f in DatasetSpec.__dataclass_fields__})
    server = RestServerSpec(**{f: values[f] for f in RestServerSpec.__dataclass_fields__})
    return dataset, server


def cli_args(dataset: DatasetSpec, server: RestServerSpec) -> list[str]:
    args = soap_options.cli_args(dataset, server.__class__())  # the data knobs that differ from the defaults
    if dataset.timezone == DEFAULT_TIMEZONE:  # the REST default, not the SOAP one
        i = args.index("--timezone")
        del args[i:i + 2]
    elif "--timezone" not in args:
        args += ["--timezone", dataset.timezone]
    return args + _server_args(server)


def _server_args(server: RestServerSpec) -> list[str]:
    args: list[str] = []
    for f, flag, _kind in soap_options._knobs(RestServerSpec):
        value = getattr(server, f.name)
        if value == f.default:
            continue
        if isinstance(value, bool):
            args.append(flag)
        elif f.metadata.get("repeat"):
            args += [part for item in value for part in (flag, item)]
        elif isinstance(value, tuple):
            args += [flag, ",".join(map(str, value))]
        elif hasattr(value, "isoformat"):
            args += [flag, value.isoformat() + "Z"]
        else:
            args += [flag, str(value)]
    return args
