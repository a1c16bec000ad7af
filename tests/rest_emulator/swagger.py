"""Listrak's Swagger 2.0 document (tests/fixtures/rest) as JSON Schemas, for checking the emulator's bodies.

Swagger 2.0 has no nullability. A property whose value in the operation's response example is null (a reference
or nullable .NET type) may be null; one shown as 0, false, 0.0 or "0001-01-01T00:00:00" (a value type) may not;
properties without an example (nested definitions) may be null unless integer, number or boolean. Item
definitions get additionalProperties false, so a field Listrak does not define fails.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

SWAGGER = Path(__file__).resolve().parents[1] / "fixtures" / "rest" / "listrak-email-openapi.json"
VALUE_TYPES = ("integer", "number", "boolean")


@lru_cache(maxsize=1)
def document() -> dict:
    return json.loads(SWAGGER.read_text(encoding="utf-8"))


def get_operations() -> dict:
    """operationId -> (path without /v1, the GET operation)."""
    return {op["operationId"]: (path[len("/v1"):], op) for path, ops in document()["paths"].items()
            for method, op in ops.items() if method == "get"}


def _example_item(op: dict):
    example = op["responses"]["200"].get("examples", {}).get("application/json", {})
    data = example.get("data")
    if isinstance(data, list):
        return data[0] if data else None
    return data


def _schema(ref_or_schema: dict, example, definitions: dict) -> dict:
    if "$ref" in ref_or_schema:
        name = ref_or_schema["$ref"].split("/")[-1]
        definition = definitions[name]
        out = {"type": "object", "additionalProperties": False, "properties": {}}
        for prop, sub in definition.get("properties", {}).items():
            sub_example = example.get(prop, ...) if isinstance(example, dict) else ...
            out["properties"][prop] = _schema(sub, sub_example, definitions)
            nullable = sub_example is None if sub_example is not ... else sub.get("type") not in VALUE_TYPES
            if nullable:
                out["properties"][prop] = {"anyOf": [out["properties"][prop], {"type": "null"}]}
        if definition.get("required"):
            out["required"] = list(definition["required"])
        return out
    kind = ref_or_schema.get("type")
    if kind == "array":
        return {"type": "array", "items": _schema(ref_or_schema["items"], example[0] if isinstance(example, list)
                                                  and example else ..., definitions)}
    schema = {"type": kind}
    if ref_or_schema.get("format") == "date-time":
        schema["pattern"] = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?$"  # no offset, no Z
    if ref_or_schema.get("format") == "int32":
        schema.update(minimum=-2**31, maximum=2**31 - 1)
    if "enum" in ref_or_schema:
        schema["enum"] = ref_or_schema["enum"]
    return schema


def response_schema(operation_id: str) -> dict:
    """The JSON Schema of the operation's 200 body (envelope included: status, data, nextPageCursor)."""
    _path, op = get_operations()[operation_id]
    definitions = document()["definitions"]
    envelope = definitions[op["responses"]["200"]["schema"]["$ref"].split("/")[-1]]
    item = _example_item(op)
    out = {"type": "object", "additionalProperties": False, "required": ["status", "data"], "properties": {}}
    for prop, sub in envelope["properties"].items():
        if prop == "status":
            out["properties"][prop] = {"const": 200}
        elif prop == "nextPageCursor":
            out["properties"][prop] = {"type": ["string", "null"]}
        else:
            example = [item] if sub.get("type") == "array" else item
            out["properties"][prop] = _schema(sub, example, definitions)
    return out


def item_order(operation_id: str) -> list[str]:
    """Property order of the operation's item definition."""
    _path, op = get_operations()[operation_id]
    definitions = document()["definitions"]
    envelope = definitions[op["responses"]["200"]["schema"]["$ref"].split("/")[-1]]
    data = envelope["properties"]["data"]
    ref = data["items"]["$ref"] if data.get("type") == "array" else data["$ref"]
    return list(definitions[ref.split("/")[-1]]["properties"])


def envelope_order(operation_id: str) -> list[str]:
    _path, op = get_operations()[operation_id]
    return list(document()["definitions"][op["responses"]["200"]["schema"]["$ref"].split("/")[-1]]["properties"])
