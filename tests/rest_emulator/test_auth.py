"""OAuth2 client credentials, token lifetime and expiry, access areas, IP allowlist."""
from __future__ import annotations

import re
import time

import pytest

from tests.rest_emulator.client import Api, request, token_request

DENIED = {"status": 401, "error": "ERROR_UNAUTHORIZED", "message": "Authorization was denied for this request."}


def test_a_token_as_recorded(rest_emulator):
    reply = token_request(rest_emulator)
    assert reply.status == 200 and reply.headers["content-type"] == "application/json;charset=UTF-8"
    body = reply.body
    assert list(body) == ["access_token", "token_type", "expires_in"]
    assert body["token_type"] == "bearer" and body["expires_in"] == 3599
    assert re.fullmatch(r"[A-Za-z0-9_-]{406,448}", body["access_token"])
    assert reply.headers["cache-control"] == "no-cache" and reply.headers["expires"] == "-1"
    assert rest_emulator.stats()["tokens_issued"] == 1


@pytest.mark.parametrize("form, status, body", [
    ("observed", 400, {"error": "Invalid Credentials"}),
    ("documented", 400, {"status": 400, "error": "ERROR_INVALID_CREDENTIALS", "message": "Invalid client credentials."}),
])
def test_wrong_credentials(rest_emulator_factory, form, status, body):
    handle = rest_emulator_factory(lists=1, token_error_form=form)
    for reply in (token_request(handle, client_secret="wrong"), token_request(handle, client_id="nobody")):
        assert reply.status == status and reply.body == body
    assert token_request(handle, grant_type="password").body == {"error": "unsupported_grant_type"}


def test_no_unknown_or_expired_token_is_unauthorized(rest_emulator_factory):
    handle = rest_emulator_factory(lists=1, token_ttl_seconds=0.3)
    assert token_request(handle).body["expires_in"] == 0
    api = Api(handle)
    assert api.get("/List").status == 200
    for header in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {api.token}"}):
        reply = request(handle.base_url + "/List", headers=header)
        assert reply.status == 401 and reply.body == DENIED
    time.sleep(0.35)
    reply = api.get("/List")
    assert reply.status == 401 and reply.body == DENIED
    assert Api(handle).get("/List").status == 200  # a new token works


def test_tokens_expire_mid_run(rest_emulator):
    api = Api(rest_emulator)
    assert api.get("/List").status == 200
    rest_emulator.expire_tokens()
    assert api.get("/List").body == DENIED


@pytest.mark.parametrize("status", [401, 403])
def test_a_missing_access_area(rest_emulator_factory, status):
    handle = rest_emulator_factory(lists=1, scopes=("List", "Message"), denied_status=status)
    api = Api(handle)
    assert api.get("/List/5001/Message").status == 200
    assert api.get("/List/5001/Contact").status == 200  # Contact routes declare no area
    reply = api.get("/List/5001/Event")
    assert reply.status == status and reply.body == {**DENIED, "status": status}
    messages = api.get("/List/5001/Message").body["data"]
    assert api.get(f"/List/5001/Message/{messages[0]['messageId']}/Activity").status == status  # needs Report


def test_an_ip_not_allowed(rest_emulator_factory):
    handle = rest_emulator_factory(lists=1, ip_not_allowed=True)
    assert token_request(handle).body == {"error": "Invalid Credentials"}


def test_unknown_ids_and_routes(rest_emulator):
    api = Api(rest_emulator)
    assert api.get("/List/999").body == {
        "status": 404, "error": "ERROR_UNABLE_TO_LOCATE_RESOURCE",
        "message": "Unable to locate a resource associated with the listId supplied."}
    assert api.get("/List/5001/Message/1/Link/2").body["message"] == (
        "Unable to locate a resource associated with the listId, messageId, and messageLinkId supplied.")
    assert api.get("/List/5001/Message/abc").status == 404
    assert api.get("/Nothing").body["error"] == "ERROR_UNKNOWN_ROUTE"
    assert api.get("/list/5001/campaign").status == 200  # routes are case-insensitive
    reply = request(rest_emulator.base_url + "/List", "DELETE", headers={"Authorization": f"Bearer {api.token}"})
    assert reply.status == 405 and reply.body["error"] == "ERROR_UNSUPPORTED_METHOD"


def test_too_many_segmentation_fields(rest_emulator):
    reply = Api(rest_emulator).get("/List/5001/Contact", segmentationFieldIds=",".join(map(str, range(1, 32))))
    assert reply.status == 400 and reply.body["error"] == "ERROR_TOO_MANY_SEGMENTATION_FIELDS"
    assert Api(rest_emulator).get("/List/5001/Contact", segmentationFieldIds=",".join(map(str, range(1, 31)))
                                  ).status == 200
