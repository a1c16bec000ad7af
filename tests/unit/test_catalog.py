"""The catalog written by discovery, and reading a (possibly edited) catalog back into selections."""
import copy
import json

import pytest
from jsonschema import Draft4Validator
from singer import metadata

from tap_listrak.catalog import build_catalog, default_selections, selections_from_catalog
from tap_listrak.errors import CatalogError
from tap_listrak.streams import STREAMS_BY_NAME

# From the README's stream table: name → (parent, key properties, selected by default).
EXPECTED = {
    "lists": (None, ["ListID"], True),
    "messages": ("lists", ["MsgID"], True),
    "message_sends": ("messages", ["MsgID", "EmailAddress"], False),
    "message_opens": ("messages", ["MsgID", "EmailAddress", "OpenDate"], False),
    "message_clicks": ("messages", ["MsgID", "EmailAddress", "ClickDate", "LinkUrl"], False),
    "message_reads": ("messages", ["MsgID", "EmailAddress", "ReadDate"], False),
    "message_unsubs": ("messages", ["MsgID", "EmailAddress", "RemovalDate"], False),
    "message_bounces": ("messages", ["MsgID", "EmailAddress", "BounceDate"], False),
    "message_links": ("messages", ["MsgID", "LinkID"], False),
    "message_analytics": ("messages", ["MsgID"], False),
    "subscribed_contacts": ("lists", ["ContactID", "ListID"], True),
    "list_removals": ("lists", ["ListID", "ContactID", "RemovalDate"], False),
    "list_hygiene": ("lists", ["ListID", "ContactID", "HygieneDate"], False),
    "campaigns": ("lists", ["ListID", "CampaignID"], False),
    "conversations": ("lists", ["ListID", "ConversationID"], False),
    "profile_fields": ("lists", ["ListID", "AttributeID"], False),
    "message_deliveries": ("lists", ["MsgID"], False),
    "spam_complaints": (None, ["MessageID", "EmailAddress", "AbuseDate"], False),
}
# The field each child gets from its parent (README: MsgID on message_*, ListID on subscribed_contacts and the
# list reports whose items do not carry it); the others' items carry it themselves.
PARENT_FIELD = {name: "MsgID" for name in ("message_sends", "message_opens", "message_clicks", "message_reads",
                                           "message_unsubs", "message_bounces")}
PARENT_FIELD.update(subscribed_contacts="ListID", list_removals="ListID", list_hygiene="ListID")


def entry(catalog: dict, name: str) -> dict:
    (found,) = [e for e in catalog["streams"] if e["tap_stream_id"] == name]
    return found


def stream_md(catalog: dict, name: str) -> dict:
    return metadata.to_map(entry(catalog, name)["metadata"])[()]


def set_md(catalog: dict, name: str, breadcrumb: tuple, **values) -> None:
    e = entry(catalog, name)
    e["metadata"] = metadata.to_list(
        {**metadata.to_map(e["metadata"]),
         breadcrumb: {**metadata.to_map(e["metadata"]).get(breadcrumb, {}), **values}})


def names(selections) -> list[str]:
    return [s.stream.name for s in selections]


REPLICATION_KEYS = {"message_sends": "SendDate", "message_opens": "OpenDate", "message_clicks": "ClickDate",
                    "message_reads": "ReadDate", "message_unsubs": "RemovalDate", "message_bounces": "BounceDate",
                    "subscribed_contacts": "AdditionDate", "list_removals": "RemovalDate",
                    "list_hygiene": "HygieneDate", "spam_complaints": "AbuseDate"}


# -- build_catalog ----------------------------------------------------------------------------------
def test_eighteen_streams_in_sync_order():
    catalog = build_catalog()
    assert [e["tap_stream_id"] for e in catalog["streams"]] == list(EXPECTED)
    for e in catalog["streams"]:
        assert e["stream"] == e["tap_stream_id"]
    json.dumps(catalog, allow_nan=False)   # plain JSON


@pytest.mark.parametrize("name", list(EXPECTED))
def test_stream_metadata(name):
    parent, keys, by_default = EXPECTED[name]
    catalog = build_catalog()
    md = stream_md(catalog, name)
    assert entry(catalog, name)["key_properties"] == keys
    assert md["table-key-properties"] == keys
    if name not in REPLICATION_KEYS:
        assert md["forced-replication-method"] == "FULL_TABLE" and "valid-replication-keys" not in md
    else:
        assert md["valid-replication-keys"] == [REPLICATION_KEYS[name]] and "forced-replication-method" not in md
    assert md["selected-by-default"] is by_default
    assert md.get("parent-tap-stream-id") == parent
    assert "selected" not in md   # discovery selects nothing explicitly


# The REST streams that can be INCREMENTAL, and their valid replication keys (README "The REST API").
REST_REPLICATION_KEYS = {"contacts": ["subscribeDate", "resubscribeDate", "unsubscribeDate"],
                         "message_activity": ["activityDate"], "transactional_message_activity": ["activityDate"],
                         "message_link_clickers": ["clickDate"], "list_imports": ["importDate"]}


@pytest.mark.parametrize("api", ["soap", "rest"])
def test_every_replication_key_and_key_property_is_a_field_of_its_schema(api):
    # A target that reads the catalog looks the replication key up in the records' schema: every
    # stream's, of either API, not only the ones a test happens to sync.
    catalog = build_catalog(api)
    if api == "soap":
        assert len(catalog["streams"]) == len(EXPECTED)
    for e in catalog["streams"]:
        name, fields = e["tap_stream_id"], e["schema"]["properties"]
        md = metadata.to_map(e["metadata"])
        for key in md[()].get("valid-replication-keys", []):
            assert key in fields, f"{name}: replication key {key} is not a field of its schema"
            assert fields[key].get("format") == "date-time", (name, key)
        assert set(md[()]["table-key-properties"]) <= set(fields), name
    with_keys = {e["tap_stream_id"]: metadata.to_map(e["metadata"])[()].get("valid-replication-keys")
                 for e in catalog["streams"] if metadata.to_map(e["metadata"])[()].get("valid-replication-keys")}
    if api == "soap":
        assert set(with_keys) == set(REPLICATION_KEYS)
    else:
        assert with_keys == REST_REPLICATION_KEYS
        assert all("forced-replication-method" not in metadata.to_map(e["metadata"])[()]
                   for e in catalog["streams"] if e["tap_stream_id"] in with_keys)


def test_a_rest_stream_of_several_valid_keys_takes_any_of_them_and_no_other():
    catalog = build_catalog("rest")
    entry = next(e for e in catalog["streams"] if e["tap_stream_id"] == "contacts")
    root = next(item for item in entry["metadata"] if not item["breadcrumb"])["metadata"]
    root.update({"selected": True, "replication-method": "INCREMENTAL", "replication-key": "unsubscribeDate"})
    chosen = [s for s in selections_from_catalog(catalog, "rest") if s.stream.name == "contacts"]
    assert chosen[0].incremental
    root["replication-key"] = "emailAddress"
    with pytest.raises(CatalogError, match="'subscribeDate' or 'resubscribeDate' or 'unsubscribeDate'"):
        selections_from_catalog(catalog, "rest")


@pytest.mark.parametrize("name", list(EXPECTED))
def test_field_metadata(name):
    e = entry(build_catalog(), name)
    mdata = metadata.to_map(e["metadata"])
    automatic = set(EXPECTED[name][1]) | ({PARENT_FIELD[name]} if name in PARENT_FIELD else set())
    fields = set(e["schema"]["properties"])
    assert automatic <= fields
    assert {b[1] for b in mdata if b} == fields                 # one entry per field, no more
    for field in fields:
        expected = "automatic" if field in automatic else "available"
        assert mdata[("properties", field)]["inclusion"] == expected, field


@pytest.mark.parametrize("name", list(EXPECTED))
def test_schemas_are_valid_json_schemas(name):
    schema = entry(build_catalog(), name)["schema"]
    Draft4Validator.check_schema(schema)
    assert schema["type"] == "object"
    for field, spec in schema["properties"].items():
        Draft4Validator.check_schema(spec)
        assert "type" in spec, field


@pytest.mark.parametrize("name", list(EXPECTED))
def test_date_fields_are_date_time_strings(name):
    for field, spec in entry(build_catalog(), name)["schema"]["properties"].items():
        types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
        if field.endswith("Date"):
            assert spec.get("format") == "date-time", field
            assert "string" in types, field
        else:
            assert spec.get("format") != "date-time", field


def test_a_shaped_record_validates_against_its_schema():
    schema = entry(build_catalog(), "message_opens")["schema"]
    validator = Draft4Validator(schema)
    validator.validate({"MsgID": 9, "ContactID": None, "EmailAddress": "a@example.com",
                        "OpenDate": "2024-01-05T13:04:05.000000Z"})
    assert list(validator.iter_errors({"MsgID": "9", "EmailAddress": "a@example.com"}))
    assert list(validator.iter_errors({"MsgID": 9, "Unknown": 1}))   # no stray fields


def test_catalog_is_a_copy():
    catalog = build_catalog()
    entry(catalog, "lists")["schema"]["properties"].clear()
    assert entry(build_catalog(), "lists")["schema"]["properties"]
    assert STREAMS_BY_NAME["lists"].schema["properties"]


# -- selections -------------------------------------------------------------------------------------
def test_discovered_catalog_selects_the_defaults():
    assert names(selections_from_catalog(build_catalog())) == ["lists", "messages", "subscribed_contacts"]
    assert names(default_selections()) == ["lists", "messages", "subscribed_contacts"]
    for selection in default_selections():
        assert selection.fields is None
        assert selection.schema == selection.stream.schema


def test_explicit_selected_overrides_the_default():
    catalog = build_catalog()
    set_md(catalog, "lists", (), selected=False)
    set_md(catalog, "message_opens", (), selected=True)
    assert names(selections_from_catalog(catalog)) == ["messages", "message_opens", "subscribed_contacts"]


def test_selected_by_default_from_the_catalog_then_from_the_tap():
    catalog = build_catalog()
    set_md(catalog, "message_reads", (), **{"selected-by-default": True})
    set_md(catalog, "messages", (), **{"selected-by-default": False})
    assert names(selections_from_catalog(catalog)) == ["lists", "message_reads", "subscribed_contacts"]
    bare = {"streams": [{"tap_stream_id": name} for name in EXPECTED]}   # no metadata at all
    assert names(selections_from_catalog(bare)) == ["lists", "messages", "subscribed_contacts"]


def test_legacy_schema_selected():
    catalog = build_catalog()
    entry(catalog, "message_clicks")["schema"]["selected"] = True
    entry(catalog, "subscribed_contacts")["schema"]["selected"] = False
    assert names(selections_from_catalog(catalog)) == ["lists", "messages", "message_clicks"]
    # metadata wins over the legacy flag
    set_md(catalog, "message_clicks", (), selected=False)
    assert "message_clicks" not in names(selections_from_catalog(catalog))


def test_stream_named_only_by_stream_key():
    selected = [{"breadcrumb": [], "metadata": {"selected": True}}]
    catalog = {"streams": [{"stream": "message_sends", "metadata": selected}]}
    assert names(selections_from_catalog(catalog)) == ["message_sends"]


def test_order_follows_the_tap_not_the_catalog():
    catalog = build_catalog()
    catalog["streams"].reverse()
    set_md(catalog, "message_bounces", (), selected=True)
    assert names(selections_from_catalog(catalog)) == ["lists", "messages", "message_bounces", "subscribed_contacts"]


def test_deselected_fields_leave_schema_and_fields():
    catalog = build_catalog()
    set_md(catalog, "messages", ("properties", "Subject"), selected=False)
    set_md(catalog, "messages", ("properties", "OrderTotal"), selected=False)
    set_md(catalog, "messages", ("properties", "MsgID"), selected=False)     # a key: stays
    set_md(catalog, "messages", ("properties", "OpenCount"), selected=True)
    (selection,) = [s for s in selections_from_catalog(catalog) if s.stream.name == "messages"]
    all_fields = set(STREAMS_BY_NAME["messages"].schema["properties"])
    assert selection.fields == frozenset(all_fields - {"Subject", "OrderTotal"})
    assert set(selection.schema["properties"]) == selection.fields
    assert "MsgID" in selection.fields and "OpenCount" in selection.fields
    # the tap's own schema is untouched
    assert {"Subject", "OrderTotal"} <= set(STREAMS_BY_NAME["messages"].schema["properties"])
    assert set(build_catalog()["streams"][1]["schema"]["properties"]) == all_fields


def test_parent_field_and_keys_of_a_child_stay():
    catalog = build_catalog()
    set_md(catalog, "message_clicks", (), selected=True)
    for field in ("MsgID", "EmailAddress", "ClickDate", "LinkUrl", "ContactID", "LinkDescription"):
        set_md(catalog, "message_clicks", ("properties", field), selected=False)
    (selection,) = [s for s in selections_from_catalog(catalog) if s.stream.name == "message_clicks"]
    assert selection.fields == frozenset({"MsgID", "EmailAddress", "ClickDate", "LinkUrl"})
    assert set(selection.schema["properties"]) == selection.fields
    catalog = build_catalog()
    set_md(catalog, "subscribed_contacts", ("properties", "ListID"), selected=False)
    (selection,) = [s for s in selections_from_catalog(catalog) if s.stream.name == "subscribed_contacts"]
    assert selection.fields is None


def test_deselected_field_of_an_unselected_stream_is_ignored():
    catalog = build_catalog()
    set_md(catalog, "message_opens", ("properties", "ContactID"), selected=False)
    assert "message_opens" not in names(selections_from_catalog(catalog))


# -- errors -----------------------------------------------------------------------------------------
def test_unknown_stream():
    catalog = build_catalog()
    catalog["streams"].append({"tap_stream_id": "contacts", "schema": {}, "metadata": []})
    with pytest.raises(CatalogError, match="'contacts'.*--discover"):
        selections_from_catalog(catalog)


def test_a_rest_index_is_not_offered_and_its_children_name_the_stream_it_lists():
    """The message indexes are read only as parents: a catalog neither offers nor takes them, and names the
    streams the published REST tap named as parents."""
    catalog = build_catalog("rest")
    parents = {e["tap_stream_id"]: metadata.to_map(e["metadata"])[()].get("parent-tap-stream-id")
               for e in catalog["streams"]}
    assert "message_index" not in parents and "conversation_message_index" not in parents
    assert {name: parents[name] for name in ("messages", "message_activity", "message_links", "message_summaries",
                                             "conversation_messages", "conversation_message_activity")} == {
        "messages": "lists", "message_activity": "messages", "message_links": "messages",
        "message_summaries": "messages", "conversation_messages": "conversations",
        "conversation_message_activity": "conversation_messages"}
    catalog["streams"].append({"tap_stream_id": "message_index", "metadata": [], "schema": {}})
    with pytest.raises(CatalogError, match="message_index"):
        selections_from_catalog(catalog, "rest")


def test_unknown_field_in_metadata():
    catalog = build_catalog()
    set_md(catalog, "lists", ("properties", "Owner"), selected=True)
    with pytest.raises(CatalogError, match="'Owner'.*'lists'"):
        selections_from_catalog(catalog)


def test_unknown_field_in_schema():
    catalog = build_catalog()
    entry(catalog, "messages")["schema"]["properties"]["Revenue"] = {"type": "number"}
    with pytest.raises(CatalogError) as caught:
        selections_from_catalog(catalog)
    assert "'Revenue'" in str(caught.value) and "'messages'" in str(caught.value)


def _with_entry(**changes) -> dict:
    e = copy.deepcopy(entry(build_catalog(), "lists"))
    e.update(changes)
    return {"streams": [e]}


@pytest.mark.parametrize("catalog", [
    None, [], "catalog", {}, {"streams": {}}, {"streams": "lists"}, {"streams": [None]}, {"streams": ["lists"]},
    {"streams": [{}]}, {"streams": [{"tap_stream_id": 5}]}, {"streams": [{"tap_stream_id": ["lists"]}]},
    _with_entry(metadata={"breadcrumb": [], "metadata": {}}),
    _with_entry(metadata=[{"metadata": {"selected": True}}]),
    _with_entry(metadata=[{"breadcrumb": [], "metadata": "selected"}]),
    _with_entry(metadata=[{"breadcrumb": ["properties", "ListName"], "metadata": ["selected", False]}]),
    _with_entry(metadata=[{"breadcrumb": ["properties", ["ListName"]], "metadata": {}}]),
    _with_entry(metadata=["breadcrumb"]),
    _with_entry(schema="lists"),
    _with_entry(schema={"properties": "ListID"}),
    _with_entry(schema={"properties": ["ListID", "Owner"]}),
], ids=lambda c: json.dumps(c)[:60])
def test_garbage_catalog_is_a_catalog_error(catalog):
    with pytest.raises(CatalogError) as caught:
        selections_from_catalog(catalog)
    assert "--discover" in str(caught.value)


# -- replication method ---------------------------------------------------------------------------
def test_full_table_unless_the_catalog_asks_for_incremental():
    catalog = build_catalog()
    for name in ("message_opens", "subscribed_contacts", "message_sends"):
        set_md(catalog, name, (), selected=True)
    set_md(catalog, "message_opens", (), **{"replication-method": "INCREMENTAL", "replication-key": "OpenDate"})
    entry(catalog, "message_sends")["replication_method"] = "INCREMENTAL"   # the legacy entry-level key
    by_name = {s.stream.name: s for s in selections_from_catalog(catalog)}
    assert by_name["message_opens"].incremental and by_name["message_sends"].incremental
    assert not by_name["subscribed_contacts"].incremental and not by_name["lists"].incremental


@pytest.mark.parametrize("name,values,words", [
    ("lists", {"replication-method": "INCREMENTAL"}, ["FULL_TABLE only", "lists"]),
    ("message_opens", {"replication-method": "LOG_BASED"}, ["LOG_BASED"]),
    ("message_opens", {"replication-method": "INCREMENTAL", "replication-key": "ClickDate"}, ["ClickDate", "OpenDate"]),
])
def test_impossible_replication_is_a_catalog_error(name, values, words):
    catalog = build_catalog()
    set_md(catalog, name, (), selected=True, **values)
    with pytest.raises(CatalogError) as caught:
        selections_from_catalog(catalog)
    for word in words:
        assert word in str(caught.value)
