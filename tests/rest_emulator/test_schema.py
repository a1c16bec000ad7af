"""Every GET route's bodies validate against Listrak's Swagger definitions, in Swagger's property order, and
hold exactly the ground truth's items."""
from __future__ import annotations

from urllib.parse import quote

import jsonschema
import pytest

from tests.rest_emulator import swagger
from tests.rest_emulator.client import Api
from tests.rest_emulator.routes import BY_OPERATION, ROUTES
from tests.rest_emulator.truth import RESOURCES

# Detail routes: (operationId, resource of the collection that lists them, path parameter, item key).
DETAILS = [
    ("List_GetListResourceById", "lists", "listId", "listId"),
    ("Campaign_GetCampaignResource", "campaigns", "campaignId", "campaignId"),
    ("Contact_GetContactResourceByIdentifier", "contacts", "contactIdentifier", "emailAddress"),
    ("SegmentationFieldGroup_GetSegmentationFieldGroupResource", "segmentation_field_groups",
     "segmentationFieldGroupId", "segmentationFieldGroupId"),
    ("SegmentationField_GetSegmentationFieldResource", "segmentation_fields", "segmentationFieldId",
     "segmentationFieldId"),
    ("MessageLink_GetMessageLinkResource", "message_links", "messageLinkId", "linkId"),
    ("Conversation_GetConversationResource", "conversations", "conversationId", "conversationId"),
    ("ConversationMessageLink_GetConversationMessageLinkResource", "conversation_message_links",
     "conversationMessageLinkId", "linkId"),
    ("TransactionalMessage_GetTransactionalMessageResource", "transactional_messages", "transactionalMessageId",
     "transactionalMessageId"),
    ("Event_GetEventResource", "events", "eventId", "eventId"),
    ("EventGroup_GetEventGroupResource", "event_groups", "eventGroupId", "eventGroupId"),
    ("SplitTest_GetSplitTestResource", "split_tests", "splitTestId", "splitTestId"),
    ("ListImport_GetListImportResource", "list_imports", "importFileId", "importFileId"),
    ("Folder_GetFolderResource", "folders", "folderId", "folderId"),
    ("Content_GetContentResource", "contents", "contentId", "contentId"),
]


def path_of(operation: str, params: dict) -> str:
    path = BY_OPERATION[operation].path
    for name, value in params.items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    assert "{" not in path, path
    return path


def check_body(operation: str, body: dict) -> None:
    jsonschema.validate(body, swagger.response_schema(operation))
    assert list(body) == swagger.envelope_order(operation) or (
        list(body) == ["status", "data"] and "nextPageCursor" in swagger.envelope_order(operation))
    order = swagger.item_order(operation)
    for item in body["data"] if isinstance(body["data"], list) else [body["data"]]:
        assert list(item) == order, (operation, list(item))
        for value in item.get("segmentationFieldValues", []):
            assert list(value) == ["segmentationFieldGroupId", "segmentationFieldId", "value"]
        if item.get("segmentsApplied") is not None:
            assert list(item["segmentsApplied"]) == ["includedSegments", "excludedSegments"]


def test_every_get_route_of_the_swagger_document_is_served():
    assert set(swagger.get_operations()) == {r.operation for r in ROUTES}
    for operation, (path, _op) in swagger.get_operations().items():
        assert BY_OPERATION[operation].path == path


@pytest.fixture(scope="module")
def walked(request):
    from tests.rest_emulator.harness import RestEmulatorHandle
    with RestEmulatorHandle(lists=4, messages_per_list=7, recipients=30, subscribers_per_list=40) as handle:
        truth = handle.truth(segmentation_field_ids=None)
        yield handle, truth
        assert handle.internal_errors() == []


def test_every_collection_validates_and_equals_the_truth(walked):
    handle, truth = walked
    api = Api(handle)
    seen = set()
    for resource, operation in RESOURCES.items():
        route = BY_OPERATION[operation]
        groups: dict = {}
        for entry in truth[resource]:
            params = {k: v for k, v in entry["params"].items() if k != "subscriptionState"}
            key = (tuple(params.items()), entry["params"].get("subscriptionState"))
            groups.setdefault(key, []).append(entry["item"])
        assert groups or resource in (), resource
        for (params, state), expected in groups.items():
            query = {"subscriptionState": state} if state else {}
            path = path_of(operation, dict(params))
            if route.envelope == "P" and not operation.startswith("SavedAudience"):
                items, _pages = api.get_all(path, count=5000, **query)
                body = api.get(path, count=5000, **query).body
            else:
                body = api.get(path, **query).body
                items = body["data"] if route.envelope != "R" else [body["data"]]
            check_body(operation, body)
            assert items == expected, (resource, params)
            seen.add(operation)
    assert seen == set(RESOURCES.values())


@pytest.mark.parametrize("operation, resource, name, key", DETAILS)
def test_every_detail_route_validates_and_serves_its_collection_item(walked, operation, resource, name, key):
    handle, truth = walked
    api = Api(handle)
    assert truth[resource]
    for entry in truth[resource]:
        params = {k: v for k, v in entry["params"].items() if k != "subscriptionState"}
        body = api.get(path_of(operation, {**params, name: entry["item"][key]})).body
        check_body(operation, body)
        assert body["data"] == entry["item"]


def test_contact_profile_values_validate(walked):
    handle, truth = walked
    fields = [e["item"]["segmentationFieldId"] for e in truth["segmentation_fields"] if e["params"]["listId"] == 5001]
    assert fields
    body = Api(handle).get("/List/5001/Contact", segmentationFieldIds=",".join(map(str, fields)), count=5000).body
    check_body("Contact_GetContactCollection", body)
    values = [v for item in body["data"] for v in item["segmentationFieldValues"]]
    assert values and {v["segmentationFieldId"] for v in values} <= set(fields)


@pytest.mark.parametrize("change", [
    lambda item: item.update(extra=1),                                # a field Listrak does not define
    lambda item: item.update(listId=None),                            # a value type as null
    lambda item: item.update(createDate="2024-01-05T10:00:00-05:00"),  # a date with an offset
    lambda item: item.update(listId="5001"),                          # an id as a string
])
def test_the_schema_check_refuses_what_listrak_would_not_send(walked, change):
    handle, _truth = walked
    body = Api(handle).get("/List/5001").body
    check_body("List_GetListResourceById", body)
    change(body["data"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, swagger.response_schema("List_GetListResourceById"))
