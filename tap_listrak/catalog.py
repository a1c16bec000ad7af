"""The Singer catalog: written by discovery from the stream table, read back into selections.

Selection rules (the Singer convention): a stream is selected by its `selected` metadata, or by
`selected-by-default` when `selected` is absent; a field is emitted unless its metadata says
`selected: false`, and key fields (inclusion automatic) are always emitted. A stream is
replicated as its `replication-method` metadata says (FULL_TABLE when absent); INCREMENTAL is
offered where the stream has a replication key (`valid-replication-keys`).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

from singer import metadata

from tap_listrak.errors import CatalogError
from tap_listrak.streams import SOAP, Stream, catalog_parent, offered


FULL_TABLE, INCREMENTAL = "FULL_TABLE", "INCREMENTAL"


@dataclass(frozen=True)
class Selection:
    """A selected stream, the fields to emit (None: all of them), and how it is replicated."""
    stream: Stream
    fields: frozenset[str] | None
    schema: dict
    incremental: bool = False


def build_catalog(api: str = SOAP) -> dict:
    return {"streams": [_entry(stream) for stream in offered(api)]}


def _entry(stream: Stream) -> dict:
    schema = copy.deepcopy(stream.schema)
    automatic = _automatic_fields(stream)
    mdata = metadata.new()
    mdata = metadata.write(mdata, (), "table-key-properties", list(stream.key_properties))
    if stream.replication_key:
        mdata = metadata.write(mdata, (), "valid-replication-keys", list(stream.replication_keys))
    else:
        mdata = metadata.write(mdata, (), "forced-replication-method", FULL_TABLE)
    mdata = metadata.write(mdata, (), "inclusion", "available")
    mdata = metadata.write(mdata, (), "selected-by-default", stream.selected_by_default)
    if catalog_parent(stream):
        mdata = metadata.write(mdata, (), "parent-tap-stream-id", catalog_parent(stream))
    for field in schema["properties"]:
        breadcrumb = ("properties", field)
        mdata = metadata.write(mdata, breadcrumb, "inclusion", "automatic" if field in automatic else "available")
        mdata = metadata.write(mdata, breadcrumb, "selected-by-default", True)
    return {"tap_stream_id": stream.name, "stream": stream.name, "key_properties": list(stream.key_properties),
            "schema": schema, "metadata": metadata.to_list(mdata)}


def _automatic_fields(stream: Stream) -> set[str]:
    return set(stream.key_properties) | ({stream.added_field} if stream.added_field else set())


def default_selections(api: str = SOAP) -> list[Selection]:
    return selections_from_catalog(build_catalog(api), api)


def selections_from_catalog(catalog, api: str = SOAP) -> list[Selection]:
    streams = {stream.name: stream for stream in offered(api)}
    if not isinstance(catalog, dict) or not isinstance(catalog.get("streams"), list):
        raise CatalogError("catalog must be a JSON object with a 'streams' list: regenerate it with --discover")
    selections = []
    for entry in catalog["streams"]:
        name = entry.get("tap_stream_id") or entry.get("stream") if isinstance(entry, dict) else None
        if not isinstance(name, str) or name not in streams:  # a list here would be unhashable
            raise CatalogError(f"catalog names stream {name!r}, which this tap does not have (it has "
                               f"{', '.join(streams)}): regenerate the catalog with --discover")
        selection = _selection(streams[name], entry)
        if selection is not None:
            selections.append(selection)
    order = {stream.name: index for index, stream in enumerate(offered(api))}
    return sorted(selections, key=lambda selection: order[selection.stream.name])


def _selection(stream: Stream, entry: dict) -> Selection | None:
    mdata = _metadata_map(stream, entry)
    given_schema = _given_schema(stream, entry)
    stream_md = mdata.get((), {})
    selected = stream_md.get("selected")
    if selected is None:
        selected = given_schema.get("selected")
    if selected is None:
        selected = stream_md.get("selected-by-default", stream.selected_by_default)
    if not selected:
        return None
    known = stream.schema["properties"]
    for breadcrumb in mdata:
        if len(breadcrumb) == 2 and breadcrumb[0] == "properties" and breadcrumb[1] not in known:
            raise CatalogError(f"catalog names field {breadcrumb[1]!r} of stream {stream.name!r}, which the tap "
                               "does not have: regenerate the catalog with --discover")
    for field in given_schema.get("properties", {}):
        if field not in known:
            raise CatalogError(f"catalog schema of stream {stream.name!r} has field {field!r}, which the tap does "
                               "not have: regenerate the catalog with --discover")
    automatic = _automatic_fields(stream)
    deselected = {field for field in known if field not in automatic
                  and mdata.get(("properties", field), {}).get("selected") is False}
    fields = None if not deselected else frozenset(known) - deselected
    schema = copy.deepcopy(stream.schema)
    for field in deselected:
        del schema["properties"][field]
    return Selection(stream, fields, schema, _incremental(stream, entry, stream_md))


def _incremental(stream: Stream, entry: dict, stream_md: dict) -> bool:
    """The replication method the catalog asks for (metadata, or the entry's legacy keys)."""
    method = stream_md.get("replication-method") or entry.get("replication_method") or FULL_TABLE
    if method not in (FULL_TABLE, INCREMENTAL):
        raise CatalogError(f"catalog asks for replication method {method!r} of stream {stream.name!r}: this tap "
                           f"offers {FULL_TABLE} and {INCREMENTAL}")
    if method == INCREMENTAL and not stream.replication_key:
        raise CatalogError(f"catalog asks for {INCREMENTAL} replication of stream {stream.name!r}, which is "
                           f"{FULL_TABLE} only (it is small and its values keep changing): set {FULL_TABLE}")
    key = stream_md.get("replication-key") or entry.get("replication_key")
    if method == INCREMENTAL and key is not None and key not in stream.replication_keys:
        valid = " or ".join(repr(name) for name in stream.replication_keys)
        raise CatalogError(f"catalog names replication key {key!r} of stream {stream.name!r}; its only valid key "
                           f"is {valid}: fix replication-key or leave it out")
    return method == INCREMENTAL


def _metadata_map(stream: Stream, entry: dict) -> dict:
    try:
        mdata = metadata.to_map(entry.get("metadata") or [])
    except (TypeError, KeyError, AttributeError):
        mdata = None
    # Each entry's "metadata" must be an object too: it is read with .get() below.
    if mdata is None or not all(isinstance(values, dict) for values in mdata.values()):
        raise CatalogError(f"catalog metadata of stream {stream.name!r} is not a list of breadcrumb entries: "
                           "regenerate the catalog with --discover")
    return mdata


def _given_schema(stream: Stream, entry: dict) -> dict:
    schema = entry.get("schema") or {}
    if not isinstance(schema, dict) or not isinstance(schema.get("properties", {}), dict):
        raise CatalogError(f"catalog schema of stream {stream.name!r} is not a JSON schema object with "
                           "'properties': regenerate the catalog with --discover")
    return schema
