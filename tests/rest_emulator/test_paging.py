"""Cursor paging walks every item exactly once, whatever the count, and with the paging knobs."""
from __future__ import annotations

import pytest

from tests.rest_emulator.client import Api

PATH = "/List/5001/Contact"


@pytest.fixture(scope="module")
def contacts_emulator():
    from tests.rest_emulator.harness import RestEmulatorHandle
    with RestEmulatorHandle(lists=2, messages_per_list=5, recipients=30, subscribers_per_list=23) as handle:
        yield handle
        assert handle.internal_errors() == []


def expected(handle):
    return [e["item"] for e in handle.truth(["contacts"], list_ids=[5001], subscription_states=["Subscribed"])
            ["contacts"]]


@pytest.mark.parametrize("count", [1, 2, 7, 19, 20, 21, 1000, 5000])
def test_every_item_once_at_any_count(contacts_emulator, count):
    want = expected(contacts_emulator)
    assert len(want) == 20  # 23 subscribers, some unsubscribed
    items, pages = Api(contacts_emulator).get_all(PATH, count=count)
    assert items == want
    assert pages == max(1, -(-len(want) // count))


def test_the_default_count_is_1000_and_cursor_may_be_left_out(contacts_emulator):
    api = Api(contacts_emulator)
    body = api.get(PATH).body
    assert body["nextPageCursor"] is None and body["data"] == expected(contacts_emulator)


def test_every_paged_route_pages_the_same_items(contacts_emulator):
    api = Api(contacts_emulator)
    truth = contacts_emulator.truth(["message_activity", "message_link_clickers", "list_import_contacts"],
                                    list_ids=[5001])
    message_id = truth["message_activity"][0]["params"]["messageId"]
    want = [e["item"] for e in truth["message_activity"] if e["params"]["messageId"] == message_id]
    assert api.get_all(f"/List/5001/Message/{message_id}/Activity", count=4)[0] == want
    fid = truth["list_import_contacts"][0]["params"]["importFileId"]
    want = [e["item"] for e in truth["list_import_contacts"] if e["params"]["importFileId"] == fid]
    assert api.get_all(f"/List/5001/ListImport/{fid}/Contact", count=3)[0] == want


def test_a_count_above_what_the_server_honours(rest_emulator_factory):
    handle = rest_emulator_factory(lists=1, subscribers_per_list=30, max_count=10)
    api = Api(handle)
    body = api.get(PATH, count=5000).body
    assert len(body["data"]) == 10 and body["nextPageCursor"]
    items, pages = api.get_all(PATH, count=5000)
    assert len(items) == len(expected(handle)) and pages == -(-len(items) // 10)
    strict = Api(rest_emulator_factory(lists=1, count_over_max="error"))
    reply = strict.get(PATH, count=5001)
    assert reply.status == 400 and reply.body == {"status": 400, "error": "ERROR_INVALID_PARAMETER",
                                                  "message": "An invalid value was supplied for count."}


@pytest.mark.parametrize("count", ["0", "-1", "abc", "1.5"])
def test_a_bad_count_or_cursor_is_an_invalid_parameter(contacts_emulator, count):
    api = Api(contacts_emulator)
    assert api.get(PATH, count=count).body["message"] == "An invalid value was supplied for count."
    reply = api.get(PATH, cursor="not a cursor!")
    assert reply.status == 400 and reply.body["error"] == "ERROR_INVALID_PARAMETER"


def test_a_trailing_empty_page(rest_emulator_factory):
    handle = rest_emulator_factory(lists=1, subscribers_per_list=12, trailing_empty_page=True)
    api = Api(handle)
    want = expected(handle)
    first = api.get(PATH, count=len(want)).body
    assert first["data"] == want and first["nextPageCursor"] is not None
    last = api.get(PATH, count=len(want), cursor=first["nextPageCursor"]).body
    assert last == {"status": 200, "nextPageCursor": None, "data": []}
    assert api.get_all(PATH, count=5)[0] == want


def test_an_empty_collection(rest_emulator_factory):
    # A date window with nothing in it.
    window = dict(startDate="1990-01-01", endDate="1990-01-02")
    empty = Api(rest_emulator_factory(lists=1))
    assert empty.get(PATH, **window).body == {"status": 200, "nextPageCursor": None, "data": []}
    missing = Api(rest_emulator_factory(lists=1, empty_collection="not-found")).get(PATH, **window)
    assert missing.status == 404 and missing.body["error"] == "ERROR_UNABLE_TO_LOCATE_RESOURCE"


def test_a_cursor_bound_to_its_parameters(rest_emulator_factory):
    api = Api(rest_emulator_factory(lists=1, subscribers_per_list=12, cursor_checks_params=True))
    cursor = api.get(PATH, count=5).body["nextPageCursor"]
    assert api.get(PATH, count=5, cursor=cursor).status == 200
    assert api.get(PATH, count=6, cursor=cursor).status == 400
    assert api.get(PATH, count=5, cursor=cursor, startDate="2000-01-01").status == 400
    loose = Api(rest_emulator_factory(lists=1, subscribers_per_list=12))
    cursor = loose.get(PATH, count=5).body["nextPageCursor"]
    assert loose.get(PATH, count=6, cursor=cursor).status == 200


def test_saved_audiences_and_list_imports_envelopes(rest_emulator_factory):
    schema = Api(rest_emulator_factory(lists=1))
    assert list(schema.get("/List/5001/SavedAudience").body) == ["status", "nextPageCursor", "data"]
    assert list(schema.get("/List/5001/ListImport", count=1).body) == ["status", "data"]
    other = Api(rest_emulator_factory(lists=1, saved_audience_envelope="collection", list_import_envelope="paged"))
    assert list(other.get("/List/5001/SavedAudience").body) == ["status", "data"]
    paged = other.get("/List/5001/ListImport", count=1).body
    assert len(paged["data"]) == 1 and paged["nextPageCursor"]
    assert len(other.get_all("/List/5001/ListImport", count=1)[0]) == 3
