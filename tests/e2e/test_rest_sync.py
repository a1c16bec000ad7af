"""The installed tap-listrak with REST credentials against the REST emulator: discovery, every REST
stream equal to the emulator's ground truth (its wire items turned into records here: dates from
Eastern wall time to UTC, numbers exact, the ids of the route each item was served under added),
faults, tokens expiring mid-run and a server that throttles above four requests at once."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tap_listrak.catalog import build_catalog
from tap_listrak.streams import REST, REST_STREAMS, by_name
from tests.conftest import SMALL_REST_DATASET
from tests.e2e.tap_runner import canonical, catalog_selecting, run_tap

EASTERN, UTC = ZoneInfo("America/New_York"), dt.timezone.utc
START = "2000-01-01T00:00:00Z"
STREAM_NAMES = [stream.name for stream in REST_STREAMS]
# The emulator's name of a route's path parameter → the record's field (the item's own name for it).
PARAM_FIELDS = {"messageLinkId": "linkId", "conversationMessageId": "messageId"}
# The emulator's resource a stream's records are, where its name differs: messages are the detail resources.
RESOURCES = {"messages": "message_details", "conversation_messages": "conversation_message_details"}


def rest_config(emulator, **settings) -> dict:
    return {"client_id": emulator.client_id, "client_secret": emulator.client_secret, "start_date": START,
            "rest_base_url": emulator.base_url, "rest_token_url": emulator.token_url, "request_timeout": 10,
            "backoff_base_seconds": 0.05, **settings}


def utc_text(value):
    if value is None:
        return None
    local = dt.datetime.fromisoformat(value)
    if local.year == 1:
        return None
    return local.replace(tzinfo=EASTERN).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def expected(emulator, stream) -> list[dict]:
    """The stream's records as the tap must write them, from the emulator's wire items."""
    records = []
    # Contacts with every profile value: each list's segmentation fields, merged as the tap merges them.
    options = {"segmentation_field_ids": "all"} if stream.batched_param else {}
    resource = RESOURCES.get(stream.name, stream.name)
    for entry in emulator.truth([resource], **options)[resource]:
        record = {PARAM_FIELDS.get(name, name): value for name, value in entry["params"].items()
                  if name != "subscriptionState"}
        record.update(entry["item"])
        for name in stream.date_fields:
            record[name] = utc_text(record.get(name))
        records.append(record)
    return records


def test_discovery_with_rest_credentials_lists_the_rest_streams(tmp_path, rest_emulator):
    done = run_tap(tmp_path, rest_config(rest_emulator), discover=True)
    assert done.returncode == 0, done.stderr
    import json
    catalog = json.loads(done.stdout)
    assert [entry["stream"] for entry in catalog["streams"]] == STREAM_NAMES
    assert catalog == json.loads(json.dumps(build_catalog(REST)))
    assert rest_emulator.client_secret not in done.stderr


def _check_every_stream(emulator, done):
    assert done.returncode == 0, done.stderr[-3000:]
    for stream in REST_STREAMS:
        assert canonical(done.records(stream.name)) == canonical(expected(emulator, stream)), stream.name
        assert done.records(stream.name), f"{stream.name}: the small account has records of every stream"
    assert emulator.client_secret not in done.stdout + done.stderr


def test_every_rest_stream_equals_the_ground_truth(tmp_path, rest_emulator):
    done = run_tap(tmp_path, rest_config(rest_emulator), catalog_selecting(STREAM_NAMES, base=build_catalog(REST)))
    _check_every_stream(rest_emulator, done)
    schemas = done.schemas
    assert schemas["message_activity"]["key_properties"] == ["listId", "messageId", "emailAddress"]
    # A message is its detail resource: one request per message (and per conversation message), each answered 200.
    requests = rest_emulator.stats()["requests"]
    for stream, operation in (("messages", "Message_GetMessageResource"),
                              ("conversation_messages", "ConversationMessage_GetConversationMessageResource")):
        assert requests[operation] == {"200": len(done.records(stream))}, (stream, requests[operation])
    assert all(record["fromEmail"] and "bodyHtml" in record for record in done.records("messages"))


def test_messages_alone_read_the_index_and_one_detail_per_message_and_nothing_else(tmp_path, rest_emulator):
    done = run_tap(tmp_path, rest_config(rest_emulator), catalog_selecting(["messages"], base=build_catalog(REST)))
    assert done.returncode == 0, done.stderr[-3000:]
    assert canonical(done.records("messages")) == canonical(expected(rest_emulator, by_name(REST)["messages"]))
    lists = len(rest_emulator.truth(["lists"])["lists"])
    requests = {operation: sum(by_status.values()) for operation, by_status in rest_emulator.stats()["requests"].items()
                if not operation.startswith("_")}
    assert requests == {"List_GetListCollection": 1, "Message_GetMessageCollection": lists,
                        "Message_GetMessageResource": len(done.records("messages"))}
    # Each message's position: an interrupted run resumes after the last message written.
    positions = [m["value"]["bookmarks"]["messages"]["position"] for m in done.messages
                 if m["type"] == "STATE" and "position" in m["value"].get("bookmarks", {}).get("messages", {})]
    assert positions[-1] == max(positions) and len(positions[-1]) == 2


def test_a_five_percent_fault_rate_and_tokens_expiring_mid_run_lose_nothing(tmp_path, rest_emulator_factory):
    emulator = rest_emulator_factory(**SMALL_REST_DATASET, fault_rate=0.05, seed=7,
                                     fault_kinds=("500", "503", "429", "429-retry-after", "reset", "truncate",
                                                  "token-expired"), retry_after_seconds=0.1)
    done = run_tap(tmp_path, rest_config(emulator, backoff_max_tries=10),
                   catalog_selecting(STREAM_NAMES, base=build_catalog(REST)))
    _check_every_stream(emulator, done)
    assert "Retrying" in done.stderr


def test_a_server_allowing_four_requests_at_once_is_met_with_fewer_and_loses_nothing(tmp_path,
                                                                                      rest_emulator_factory):
    emulator = rest_emulator_factory(**SMALL_REST_DATASET, max_concurrent=4, latency_ms=20)
    done = run_tap(tmp_path, rest_config(emulator, max_workers=12, backoff_max_tries=30, backoff_base_seconds=0.02),
                   catalog_selecting(STREAM_NAMES, base=build_catalog(REST)))
    _check_every_stream(emulator, done)
    assert "Throttled: the server throttled" in done.stderr and "lowered to" in done.stderr
