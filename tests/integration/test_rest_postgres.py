"""A full REST sync (client credentials, all REST streams, the REST emulator) piped into
pipelinewise-target-postgres, loading a real PostgreSQL server: every table holds exactly the
emulator's ground truth turned into records, with the column types the target derives from the
REST schemas and each stream's key properties as its primary key."""
from __future__ import annotations

import json
import subprocess

import pytest

from tap_listrak.catalog import build_catalog
from tap_listrak.streams import REST, REST_STREAMS
from tests.e2e.tap_runner import TAP, catalog_selecting
from tests.e2e.test_rest_sync import expected, rest_config
from tests.integration.helpers import psql, tool
from tests.integration.test_postgres import _canonical, _first_difference, json_kind

pytestmark = pytest.mark.slow

ALL = [stream.name for stream in REST_STREAMS]
SCHEMA = "listrak_rest"


def column_type(prop: dict) -> str:
    """What pipelinewise-target-postgres 2.1.2 makes of a property (target_postgres.db_sync.column_type):
    the REST schemas' integers carry no maximum (ids may pass 2^32), so they become numeric."""
    kind = json_kind(prop)
    if kind in ("object", "array"):
        return "jsonb"
    if kind == "integer" and "maximum" not in prop:
        return "numeric"
    return {"date-time": "timestamp without time zone", "number": "double precision", "integer": "integer",
            "boolean": "boolean", "string": "character varying"}[kind]


def as_the_target_stores(record: dict) -> dict:
    """pipelinewise-target-postgres 2.1.2 writes each text value into its COPY file as a JSON string
    (`record_to_csv_line`: json.dumps) that CSV's quoting undoes only for double quotes: a control
    character such as a message body's CR LF is stored as its JSON escape (backslash, r). The tap's
    output holds the real characters (test_rest_sync); this is what the table then holds."""
    return {name: json.dumps(value, ensure_ascii=False)[1:-1].replace('\\"', '"')
            if isinstance(value, str) and any(ord(c) < 0x20 for c in value) else value
            for name, value in record.items()}


def test_full_rest_sync_loads_postgres_tables(rest_emulator, postgres, tmp_path):
    target = tool("pipelinewise-target-postgres", "target-postgres")
    catalog = catalog_selecting(ALL, base=json.loads(json.dumps(build_catalog(REST))))
    (tmp_path / "tap.json").write_text(json.dumps(rest_config(rest_emulator)))
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    (tmp_path / "target.json").write_text(json.dumps({
        "host": postgres["host"], "port": postgres["port"], "user": postgres["user"], "password": "trust-auth",
        "dbname": postgres["dbname"], "default_target_schema": SCHEMA, "validate_records": True,
        "primary_key_required": True}))

    with open(tmp_path / "tap.log", "w") as tap_log:
        tap = subprocess.Popen([str(TAP), "--config", str(tmp_path / "tap.json"),
                                "--catalog", str(tmp_path / "catalog.json")], stdout=subprocess.PIPE, stderr=tap_log)
        loaded = subprocess.run([str(target), "--config", str(tmp_path / "target.json")], stdin=tap.stdout,
                                capture_output=True, text=True, timeout=300)
        tap.stdout.close()
        tap.wait(timeout=60)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert tap.returncode == 0, (tmp_path / "tap.log").read_text()[-3000:]
    assert rest_emulator.client_secret not in (tmp_path / "tap.log").read_text()

    schemas = {entry["stream"]: entry for entry in catalog["streams"]}
    for stream in REST_STREAMS:
        name = stream.name
        properties = schemas[name]["schema"]["properties"]
        truth = [as_the_target_stores(record) for record in expected(rest_emulator, stream)]
        assert truth, f"{name}: the emulator's account has records of every REST stream"

        rows = [json.loads(row[0]) for row in psql(postgres, f"SELECT row_to_json(t) FROM {SCHEMA}.{name} t")]
        assert len(rows) == len(truth), f"{name}: {len(rows)} rows, truth has {len(truth)}"
        canonical = _canonical(properties)
        got, want = sorted(map(canonical, rows)), sorted(map(canonical, truth))
        assert got == want, f"{name}: {_first_difference(got, want)}"

        columns = dict(map(tuple, psql(postgres, f"""
            SELECT column_name, data_type FROM information_schema.columns
            WHERE table_schema = '{SCHEMA}' AND table_name = '{name}'""")))
        assert columns == {field.lower(): column_type(prop) for field, prop in properties.items()}, name

        primary_key = [row[0] for row in psql(postgres, f"""
            SELECT a.attname FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            WHERE i.indrelid = '{SCHEMA}.{name}'::regclass AND i.indisprimary""")]
        assert sorted(primary_key) == sorted(key.lower() for key in stream.key_properties), name
