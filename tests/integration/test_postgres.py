"""A full sync of all eighteen streams piped into pipelinewise-target-postgres, loading a real
PostgreSQL server: every table holds exactly the ground truth's rows, with the column types the
target derives from the tap's schemas and the stream's key properties as its primary key."""
from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest

from tap_listrak.streams import STREAMS
from tests.e2e.tap_runner import TAP, tap_config
from tests.integration.helpers import assert_finished_state, catalog_of, psql, tool

pytestmark = pytest.mark.slow

ALL = [stream.name for stream in STREAMS]
START = "2024-01-01T00:00:00Z"
SCHEMA = "listrak"

# What pipelinewise-target-postgres 2.1.2 makes of each JSON-schema type (target_postgres.db_sync
# .column_type): it maps `number` to double precision whatever the schema says (a limit of that
# target: exact decimals become binary doubles), and an `integer` to integer because the tap's
# schemas carry xsd:int's 32-bit maximum.
EXPECTED_TYPES = {"date-time": "timestamp without time zone", "number": "double precision",
                  "integer": "integer", "boolean": "boolean", "string": "character varying",
                  "object": "jsonb", "array": "jsonb"}


def json_kind(prop: dict) -> str:
    if prop.get("format") == "date-time":
        return "date-time"
    types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    return next(t for t in types if t != "null")


def test_full_sync_loads_postgres_tables(emulator, postgres, tmp_path):
    target = tool("pipelinewise-target-postgres", "target-postgres")
    tap_config_path = tmp_path / "tap.json"
    tap_config_path.write_text(json.dumps(tap_config(emulator, START)))
    catalog_path = tmp_path / "catalog.json"
    catalog = catalog_of(ALL)
    catalog_path.write_text(json.dumps(catalog))
    target_config_path = tmp_path / "target.json"
    target_config_path.write_text(json.dumps({
        "host": postgres["host"], "port": postgres["port"], "user": postgres["user"], "password": "trust-auth",
        "dbname": postgres["dbname"], "default_target_schema": SCHEMA, "validate_records": True,
        "primary_key_required": True}))

    with open(tmp_path / "tap.log", "w") as tap_log:
        tap = subprocess.Popen([str(TAP), "--config", str(tap_config_path), "--catalog", str(catalog_path)],
                               stdout=subprocess.PIPE, stderr=tap_log)
        loaded = subprocess.run([str(target), "--config", str(target_config_path)], stdin=tap.stdout,
                                capture_output=True, text=True, timeout=300)
        tap.stdout.close()
        tap.wait(timeout=60)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert tap.returncode == 0, (tmp_path / "tap.log").read_text()[-3000:]
    last_state = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert_finished_state(last_state, ALL)

    truth = emulator.truth(START)
    schemas = {entry["stream"]: entry for entry in catalog["streams"]}
    for stream in STREAMS:
        name = stream.name
        properties = schemas[name]["schema"]["properties"]

        rows = [json.loads(row[0]) for row in psql(postgres, f"SELECT row_to_json(t) FROM {SCHEMA}.{name} t")]
        assert len(rows) == len(truth[name]), f"{name}: {len(rows)} rows, truth has {len(truth[name])}"
        canonical = _canonical(properties)
        got, want = sorted(map(canonical, rows)), sorted(map(canonical, truth[name]))
        assert got == want, f"{name}: {_first_difference(got, want)}"

        columns = dict(map(tuple, psql(postgres, f"""
            SELECT column_name, data_type FROM information_schema.columns
            WHERE table_schema = '{SCHEMA}' AND table_name = '{name}'""")))
        expected = {field.lower(): EXPECTED_TYPES[json_kind(prop)] for field, prop in properties.items()}
        assert columns == expected, name

        primary_key = [row[0] for row in psql(postgres, f"""
            SELECT a.attname FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            WHERE i.indrelid = '{SCHEMA}.{name}'::regclass AND i.indisprimary""")]
        assert sorted(primary_key) == sorted(key.lower() for key in stream.key_properties), name


def _canonical(properties: dict):
    """A record or a row as comparable text: names lower-cased, dates as naive UTC, numbers as floats,
    and empty strings, lists and objects as null, since the target writes every falsy value but 0
    and false as NULL (target_postgres.db_sync.record_to_csv_line)."""
    kinds = {field.lower(): json_kind(prop) for field, prop in properties.items()}

    def canonical(record: dict) -> str:
        out = {}
        for field, value in record.items():
            field = field.lower()
            kind = kinds[field]
            if value is None or value in ("", [], {}):
                value = None
            elif kind == "date-time":
                parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
                value = (parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
                         if parsed.tzinfo else parsed).isoformat(timespec="microseconds")
            elif kind in ("number", "integer"):
                value = float(value)
            out[field] = value
        return json.dumps(out, sort_keys=True, default=str)

    return canonical


def _first_difference(got: list[str], want: list[str]) -> str:
    for row, record in zip(got, want):
        if row != record:
            row, record = json.loads(row), json.loads(record)
            return ", ".join(f"{k}: loaded {row.get(k)!r}, truth {record.get(k)!r}"
                             for k in sorted(set(row) | set(record)) if row.get(k) != record.get(k))
    return "same rows"
