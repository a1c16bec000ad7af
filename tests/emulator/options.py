"""Command-line knobs, shared by the server CLI and the ground-truth CLI, and their inverse (cli_args).

Each knob is a field of DatasetSpec or ServerSpec; its flag, type, default and help come from the field.
"""
from __future__ import annotations

import argparse
from dataclasses import fields
from datetime import date, datetime
from typing import Union, get_args, get_origin, get_type_hints

from .spec import DatasetSpec, ServerSpec
from .times import rfc3339, to_utc_instant

GROUPS = ((DatasetSpec, "data (deterministic, generated lazily from --seed)"), (ServerSpec, "behaviour"))


def _knobs(spec):
    """-> (field, flag, type) for every knob of a spec class; a tuple or Optional knob's type is its items' type."""
    hints = get_type_hints(spec)
    for f in fields(spec):
        hint = hints[f.name]
        kind = get_args(hint)[0] if isinstance(f.default, tuple) or get_origin(hint) is Union else hint
        yield f, f.metadata.get("flag", "--" + f.name.replace("_", "-")), kind


def add_knobs(parser: argparse.ArgumentParser) -> None:
    for spec, title in GROUPS:
        group = parser.add_argument_group(title)
        for f, flag, kind in _knobs(spec):
            text, metavar = f.metadata["help"], f.metadata.get("metavar")
            if isinstance(f.default, bool):
                group.add_argument(flag, dest=f.name, action="store_false" if f.default else "store_true", help=text)
            elif f.metadata.get("repeat"):
                group.add_argument(flag, dest=f.name, action="append", default=[], metavar=metavar, help=text)
            elif isinstance(f.default, tuple):
                group.add_argument(flag, dest=f.name, default=f.default, metavar=metavar,
                                   type=lambda value, kind=kind: tuple(kind(p.strip()) for p in value.split(",")
                                                                       if p.strip()),
                                   help=f"{text} (default {','.join(map(str, f.default)) or 'none'})")
            else:
                group.add_argument(flag, dest=f.name, default=f.default, metavar=metavar,
                                   type=_PARSERS.get(kind, kind),
                                   choices=f.metadata.get("choices"), help=f"{text} (default %(default)s)")


_PARSERS = {date: date.fromisoformat, datetime: to_utc_instant}


def specs_from_args(args: argparse.Namespace) -> tuple[DatasetSpec, ServerSpec]:
    values = vars(args)
    dataset = DatasetSpec(**{f: values[f] for f in DatasetSpec.__dataclass_fields__})
    server = ServerSpec(**{f: values[f] for f in ServerSpec.__dataclass_fields__})
    return dataset, server


def cli_args(dataset: DatasetSpec, server: ServerSpec) -> list[str]:
    """The command-line knobs that rebuild the same specs (only those that differ from the defaults)."""
    args: list[str] = []
    for spec in (dataset, server):
        for f, flag, _kind in _knobs(type(spec)):
            value = getattr(spec, f.name)
            if value == f.default:
                continue
            if isinstance(value, bool):
                args.append(flag)
            elif f.metadata.get("repeat"):
                args += [part for item in value for part in (flag, item)]
            elif isinstance(value, tuple):
                args += [flag, ",".join(map(str, value))]
            elif isinstance(value, datetime):
                args += [flag, rfc3339(value)]
            else:
                args += [flag, str(value)]
    return args
