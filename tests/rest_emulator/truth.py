"""Ground truth: every item the account holds, IN WIRE FORM, as the routes serve it (all pages together).

    truth(dataset, resources=None, start_date=None, end_date=None, *, server=None, list_ids=None,
          include_test_messages=False, subscription_states=("Subscribed", "Unsubscribed"),
          segmentation_field_ids=None, date_type="Send", include_previous_versions=False)
      -> {resource: [{"params": {path ids}, "item": {the JSON object exactly as served}}]}

`params` holds the path parameters the item was served under, as ints (contactIdentifier aside, a string),
e.g. {"listId": 5001, "messageId": 300084}; a collection's items come in the order the route serves them.
Dates are the server's: Eastern (the account zone) wall time without offset, in the --date-form form; turning
them into the tap's records (UTC, key fields added from `params`) is the tap's test's job.

Date windows are filtered exactly as the server filters the same request: start_date/end_date are sent as the
routes' startDate/endDate (ISO strings as a client sends them; naive = the account's zone unless the server's
--request-zone is utc; or datetimes, aware or naive UTC) to every route that takes them — contacts (on
subscribe/unsubscribe dates, per subscription state), messages (sendDate), message and transactional activity
(by date_type), conversation-message activity, link clickers (clickDate), split tests (startDate), list imports
(importDate). Resources without a date filter are complete whatever the window. The server's clock (as_of)
applies as it does to the server.

Contacts carry the values of `segmentation_field_ids` (ids, or "all": every field of each list). More than 30
(the route's limit) are asked 30 at a time and merged per contact (emailAddress): the first walk's item with
every walk's segmentationFieldValues, ordered by segmentationFieldId.

Resources (the tap's candidate streams; route in brackets):
  lists [List], campaigns [Campaign], contacts [Contact; params add subscriptionState],
  segmentation_field_groups, segmentation_fields, messages [Message collection], message_details
  [Message/{id}], message_activity, message_links, message_link_clickers [params add messageLinkId],
  message_summaries, message_statuses, conversations, conversation_summaries, conversation_messages,
  conversation_message_details, conversation_message_activity, conversation_message_links,
  conversation_message_link_clickers, conversation_message_summaries, transactional_messages,
  transactional_message_activity, events, event_groups, split_tests, split_test_messages, list_imports,
  list_import_contacts, list_import_statuses, list_import_summaries, saved_audiences, saved_messages,
  saved_message_details, folders, ip_pools, contents, content_folders.

  python -m tests.rest_emulator.truth [server knobs] [--resources a,b] [--start-date ...] [--end-date ...]
      [--list-ids 5001,5012] [--include-test-messages] [--segmentation-field-ids 1,2|all] [--date-type Activity]
prints one JSON line per item: {"resource": "<name>", "params": {...}, "item": {...}}.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import timezone
from typing import Iterable, Optional

from tests.emulator.data import Dataset
from tests.emulator.spec import DatasetSpec

from .account import Account, Item
from .options import add_knobs, specs_from_args
from .routes import BY_OPERATION, SEGMENTATION_FIELD_LIMIT, ApiError, run
from .spec import RestServerSpec

ALL_FIELDS = "all"  # segmentation_field_ids: every field of each list

# resource -> (operationId, parent resource whose items give the path ids, how: from the parent's item)
RESOURCES = {
    "lists": "List_GetListCollection",
    "campaigns": "Campaign_GetCampaignCollection",
    "contacts": "Contact_GetContactCollection",
    "segmentation_field_groups": "SegmentationFieldGroup_GetSegmentationFieldGroupCollection",
    "segmentation_fields": "SegmentationField_GetSegmentationFieldCollection",
    "messages": "Message_GetMessageCollection",
    "message_details": "Message_GetMessageResource",
    "message_activity": "MessageActivity_GetMessageActivityCollection",
    "message_links": "MessageLink_GetMessageLinkCollection",
    "message_link_clickers": "MessageLinkClicker_GetMessageLinkClickerCollection",
    "message_summaries": "MessageSummary_GetMessageSummaryResource",
    "message_statuses": "MessageStatus_GetMessageStatusResource",
    "conversations": "Conversation_GetConversationCollection",
    "conversation_summaries": "ConversationSummary_GetConversationSummaryResource",
    "conversation_messages": "ConversationMessage_GetConversationMessageCollection",
    "conversation_message_details": "ConversationMessage_GetConversationMessageResource",
    "conversation_message_activity": "ConversationMessageActivity_GetConversationMessageActivityCollection",
    "conversation_message_links": "ConversationMessageLink_GetConversationMessageLinkCollection",
    "conversation_message_link_clickers": "ConversationMessageLinkClicker_GetMessageLinkClickerCollection",
    "conversation_message_summaries": "ConversationMessageSummary_GetMessageSummaryResource",
    "transactional_messages": "TransactionalMessage_GetTransactionalMessageCollection",
    "transactional_message_activity": "TransactionalMessageActivity_GetTransactionalMessageActivityCollection",
    "events": "Event_GetEventCollection",
    "event_groups": "EventGroup_GetEventGroupCollection",
    "split_tests": "SplitTest_GetSplitTestCollection",
    "split_test_messages": "SplitTest_GetSplitTestMessageResources",
    "list_imports": "ListImport_GetListImportCollection",
    "list_import_contacts": "ListImportContact_GetListImportContactCollection",
    "list_import_statuses": "ListImportStatus_GetListImportStatusResource",
    "list_import_summaries": "ListImportSummary_GetListImportSummaryResource",
    "saved_audiences": "SavedAudience_GetSavedAudienceResourceCollection",
    "saved_messages": "SavedMessage_GetSavedMessageCollection",
    "saved_message_details": "SavedMessage_GetSavedMessageResource",
    "folders": "Folder_GetFolderCollection",
    "ip_pools": "IpPool_GetIpPoolCollection",
    "contents": "Content_GetContentCollection",
    "content_folders": "ContentFolder_GetContentFolderCollection",
}
DATED = {"Contact_GetContactCollection", "Message_GetMessageCollection",
         "MessageActivity_GetMessageActivityCollection", "MessageLinkClicker_GetMessageLinkClickerCollection",
         "ConversationMessageActivity_GetConversationMessageActivityCollection",
         "ConversationMessageLinkClicker_GetMessageLinkClickerCollection",
         "TransactionalMessageActivity_GetTransactionalMessageActivityCollection",
         "SplitTest_GetSplitTestCollection", "ListImport_GetListImportCollection"}


def _text(value) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:  # a naive datetime is UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


class _Walker:
    def __init__(self, account: Account, spec: RestServerSpec, query: dict, dated: dict) -> None:
        self.account, self.spec, self.query, self.dated = account, spec, query, dated

    def items(self, operation: str, ids: dict, extra: Optional[dict] = None):
        query = dict(extra or {})
        if operation in DATED:
            query.update(self.dated)
        if operation == "MessageActivity_GetMessageActivityCollection" or \
                operation == "TransactionalMessageActivity_GetTransactionalMessageActivityCollection":
            query["dateType"] = self.query["date_type"]
        route = BY_OPERATION[operation]
        try:
            result = run(route, {k: str(v) for k, v in ids.items()}, self.account, self.spec, self.spec.as_of, query)
        except ApiError as error:
            if error.status == 404:  # e.g. a vanished message: the route answers 404, it holds nothing
                return []
            raise
        return [result] if route.envelope == "R" else list(result)


def _list_field_ids(account: Account, li: int, wanted) -> list[int]:
    """The segmentation field ids asked of a list's contacts: every field of the list for ALL_FIELDS."""
    if wanted == ALL_FIELDS:
        return sorted(field.AttributeID for _, field in account.segmentation_fields(li))
    return list(wanted or ())


def _merged_contacts(walk: _Walker, p: dict, state: str, field_ids: list[int]) -> list[Item]:
    """The contacts of one state, asked once per SEGMENTATION_FIELD_LIMIT field ids, merged per contact: the
    first walk's item (and a contact only a later walk saw, in its order) with every walk's
    segmentationFieldValues, ordered by segmentationFieldId. One walk: the item as served."""
    groups = [field_ids[i:i + SEGMENTATION_FIELD_LIMIT] for i in range(0, len(field_ids), SEGMENTATION_FIELD_LIMIT)]
    walks = [walk.items("Contact_GetContactCollection", p,
                        {"subscriptionState": state, **({"segmentationFieldIds": ",".join(map(str, g))} if g else {})})
             for g in groups or [[]]]
    if len(walks) == 1:
        return walks[0]
    merged: dict[str, Item] = {}
    for items in walks:
        for item in items:
            known = merged.get(item.wire["emailAddress"])
            if known is None:
                merged[item.wire["emailAddress"]] = Item(dict(item.wire), item.dates)
            else:
                known.wire["segmentationFieldValues"] = known.wire["segmentationFieldValues"] + \
                    item.wire["segmentationFieldValues"]
    for item in merged.values():
        item.wire["segmentationFieldValues"] = sorted(item.wire["segmentationFieldValues"],
                                                      key=lambda value: value["segmentationFieldId"])
    return list(merged.values())


def truth(dataset: DatasetSpec | Dataset | None = None, resources: Optional[Iterable[str]] = None,
          start_date=None, end_date=None, *, server: Optional[RestServerSpec] = None,
          list_ids: Optional[Iterable[int]] = None, include_test_messages: bool = False,
          subscription_states: Iterable[str] = ("Subscribed", "Unsubscribed"),
          segmentation_field_ids: Optional[Iterable[int]] = None, date_type: str = "Send",
          include_previous_versions: bool = False) -> dict[str, list[dict]]:
    """{resource: [{"params": {...}, "item": {...}}]} — see the module's text."""
    if dataset is None:
        dataset = DatasetSpec(timezone="America/New_York")
    data = dataset if isinstance(dataset, Dataset) else Dataset(dataset)
    spec = server or RestServerSpec()
    account = Account(data, spec.date_form)
    wanted = set(RESOURCES) if resources is None else set(resources)
    unknown = wanted - set(RESOURCES)
    if unknown:
        raise ValueError(f"unknown resource(s): {', '.join(sorted(unknown))}")
    dated = {k: v for k, v in (("startDate", _text(start_date)), ("endDate", _text(end_date))) if v is not None}
    walk = _Walker(account, spec, {"date_type": date_type}, dated)
    out: dict[str, list[dict]] = {name: [] for name in RESOURCES if name in wanted}

    def add(name: str, params: dict, item) -> None:
        if name in out:
            out[name].append({"params": dict(params), "item": item.wire})

    def each(name: str, params: dict, extra: Optional[dict] = None) -> list:
        items = walk.items(RESOURCES[name], params, extra)
        for item in items:
            add(name, params, item)
        return items

    for item in walk.items("List_GetListCollection", {}):
        add("lists", {}, item)
    for name in ("folders", "ip_pools", "contents", "content_folders"):
        if name in out:
            each(name, {})
    chosen = [i for i in account.list_ids() if list_ids is None or i in {int(x) for x in list_ids}]
    for list_id in chosen:
        p = {"listId": list_id}
        for name in ("campaigns", "events", "event_groups", "saved_audiences", "saved_messages", "split_tests",
                     "list_imports", "transactional_messages", "conversations"):
            if name in out:
                each(name, p)
        field_ids = _list_field_ids(account, account.list_ids().index(list_id), segmentation_field_ids)
        for state in subscription_states:
            for item in _merged_contacts(walk, p, state, field_ids):
                add("contacts", {**p, "subscriptionState": state}, item)
        for group in walk.items(RESOURCES["segmentation_field_groups"], p):
            add("segmentation_field_groups", p, group)
            each("segmentation_fields", {**p, "segmentationFieldGroupId": group.wire["segmentationFieldGroupId"]})
        extra = {"includeTestMessages": "true"} if include_test_messages else {}
        for message in walk.items(RESOURCES["messages"], p, extra):
            add("messages", p, message)
            mp = {**p, "messageId": message.wire["messageId"]}
            for name in ("message_details", "message_activity", "message_summaries", "message_statuses"):
                each(name, mp)
            for link in each("message_links", mp):
                each("message_link_clickers", {**mp, "messageLinkId": link.wire["linkId"]})
        for conversation in walk.items(RESOURCES["conversations"], p):
            cp = {**p, "conversationId": conversation.wire["conversationId"]}
            each("conversation_summaries", cp)
            extra = {"includePreviousVersions": "true"} if include_previous_versions else {}
            for message in each("conversation_messages", cp, extra):
                mp = {**cp, "conversationMessageId": message.wire["messageId"]}
                for name in ("conversation_message_details", "conversation_message_activity",
                             "conversation_message_summaries"):
                    each(name, mp)
                for link in each("conversation_message_links", mp):
                    each("conversation_message_link_clickers", {**mp, "conversationMessageLinkId": link.wire["linkId"]})
        for tx in walk.items(RESOURCES["transactional_messages"], p):
            each("transactional_message_activity", {**p, "transactionalMessageId": tx.wire["transactionalMessageId"]})
        for test in walk.items(RESOURCES["split_tests"], p):
            each("split_test_messages", {**p, "splitTestId": test.wire["splitTestId"]})
        for imported in walk.items(RESOURCES["list_imports"], p):
            ip = {**p, "importFileId": imported.wire["importFileId"]}
            for name in ("list_import_contacts", "list_import_statuses", "list_import_summaries"):
                each(name, ip)
        for saved in walk.items(RESOURCES["saved_messages"], p):
            each("saved_message_details", {**p, "savedMessageId": saved.wire["savedMessageId"]})
    return out


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.rest_emulator.truth", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=lambda t: [p.strip() for p in t.split(",") if p.strip()])
    parser.add_argument("--start-date", help="sent as startDate to every route that takes it")
    parser.add_argument("--end-date", help="sent as endDate to every route that takes it")
    parser.add_argument("--list-ids", type=lambda t: [int(p) for p in t.split(",") if p.strip()])
    parser.add_argument("--include-test-messages", action="store_true")
    parser.add_argument("--segmentation-field-ids", type=lambda t: ALL_FIELDS if t.strip() == ALL_FIELDS else
                        [int(p) for p in t.split(",") if p.strip()])
    parser.add_argument("--date-type", default="Send", choices=("Send", "Activity"))
    parser.add_argument("--include-previous-versions", action="store_true")
    add_knobs(parser)
    args = parser.parse_args(argv)
    dataset, server = specs_from_args(args)
    result = truth(dataset, args.resources, args.start_date, args.end_date, server=server, list_ids=args.list_ids,
                   include_test_messages=args.include_test_messages,
                   segmentation_field_ids=args.segmentation_field_ids, date_type=args.date_type,
                   include_previous_versions=args.include_previous_versions)
    try:
        for name, entries in result.items():
            for entry in entries:
                sys.stdout.write(json.dumps({"resource": name, **entry}, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
