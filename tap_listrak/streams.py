"""The streams, declared once: what each reads, from which parent, keyed on what.

Everything else (schemas, metadata, the sync plan, the tests' expectations) follows this table;
adding a stream is one entry here, its schema in `schemas/`, and its item type in the WSDL.

How to read an entry:
- `parent`: the stream whose records this one is read by (one unit per parent record); None: the
  account itself.
- `parent_field`: the parent record's field sent in the request, and added to each record unless
  the item type carries it (`adds_parent_field`).
- `inherits`: more fields of the parent record added to each record under their own names
  (message_sends: the message's SendDate, the date it is bookmarked on). Not for BATCH units,
  which have many parents.
- `params`: what the request carries besides `parent_field`: RANGE (StartDate/EndDate of the run,
  widened by a day), PAGE (paged until an empty page), TEST_MESSAGES (IncludeTestMessages).
- `constants`: request parameters of fixed value (conversations: IncludeTerminated true).
- `unit`: EACH (one unit per parent record, or one for the account), WINDOW (per parent record and
  `interval_days` window; crowded windows are asked again in halves), BATCH (one unit per up to
  `batch_size` parent records, their `parent_field` values sent as the array `batch_param`).
- `flatten`: a repeated nested field of the item; each of its elements becomes one record, with the
  item's fields named in `outer_fields` (item field, record field) added to it. Without: one record per item.
- `list_field`: an account-wide stream's field naming the list of a record: `list_ids` keeps only those
  lists' records.
- `event_date`: the field that start_date and the run's end bound; records outside are dropped.
- `walks_lookback`: children of messages that read the messages sent in the lookback before
  start_date too (an event may come long after its send).
- `replication_key`: what an INCREMENTAL run bookmarks and starts from. The stream's own
  `event_date`, or its parent's (message_sends: the message's SendDate, since a message's sends
  are complete once its send is over). None: FULL_TABLE only.
- `order_key`: for a stream that other streams hang off, the fields ordering its records; a unit's
  position in the state is its parent record's order key.
- `collected`: read whole before its children and emitted from memory (small parents, and a small list
  report read by window like them).
- `index_of`: a collected stream that is never emitted (not in the catalog): the list of the named stream's
  objects, read for their ids only. The named stream reads each object's own route, one EACH unit per index
  record (REST messages: `List/{listId}/Message` lists them, `List/{listId}/Message/{messageId}` is one in
  full); the other children walk the index, and the catalog names the indexed stream as their parent.
- `api`: SOAP (the default) or REST. A REST stream's `operation` is its route under rest_base_url,
  with its path parameters in braces named as the records name them (`List/{listId}/Message`);
  the request sends the parent record's field of each (its `parent_field` and the `inherits`).
  CURSOR in `params`: paged by cursor (`cursor` Start, then each reply's nextPageCursor until null).
- `range_params`: the request parameters that carry a RANGE's start and end.
- `variants`: requests of which each is a unit of its own per parent record, with its own position
  (contacts: subscriptionState Subscribed, then Unsubscribed). A `Variant` may be asked only in
  INCREMENTAL runs (`incremental_only`), and may re-read the `message_lookback_days` before the run's
  start (`reread`): see `snapshot`.
- `dated_by`: a record's own date is the latest of these fields it has (contacts: subscribed,
  resubscribed or unsubscribed, whichever came last), instead of `event_date`; each of them is a
  valid replication key.
- `batched_param`: a request parameter that takes the ids of another stream's records, at most `size` at a time
  (contacts: segmentationFieldIds, the list's segmentation fields, 30 a request). Those records are read first
  (the `source` stream, collected); each unit then walks its request once per group of up to `size` ids of its
  parent record's (`field` of the source records carrying the unit's `parent_field` value), once without the
  parameter when there are none, and the walks' items are merged by key into one record each: the first walk's
  item with the `merged` field of every walk, one element per id, ordered by id.
- `snapshot`: records that keep changing after their `event_date` (a recipient's activity row, dated by
  its send). start_date bounds them by that date in every run; an INCREMENTAL run walks every message
  sent since start_date, and its variants re-read what may have changed since the bookmark.

The two APIs have a table each (`STREAMS`, `REST_WALK`): names are shared (lists, messages…),
so a run, a catalog and a state belong to one API, the one the config selects (`table(api)`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

import re

RANGE, PAGE, TEST_MESSAGES, CURSOR = "range", "page", "test_messages", "cursor"
SOAP, REST = "soap", "rest"
EACH, WINDOW, BATCH = "each", "window", "batch"
# GetMessageAnalyticsInformation's documented limit of messages per call (docs/listrak-api.md §8).
ANALYTICS_BATCH = 2500


@dataclass(frozen=True)
class Variant:
    """One of a stream's requests per parent record (see `variants`)."""
    params: tuple[tuple[str, object], ...]
    incremental_only: bool = False  # asked only in INCREMENTAL runs
    reread: bool = False            # its range starts message_lookback_days before an INCREMENTAL run's start


@dataclass(frozen=True)
class BatchedParam:
    """A request parameter taking the ids of another stream's records, `size` at a time (see `batched_param`)."""
    param: str     # the request parameter (a comma-separated list on the wire)
    source: str    # the stream whose records give the ids (collected, read before this stream's units)
    field: str     # the id field of those records, and of the elements of `merged`
    size: int      # ids a request may carry
    merged: str    # the field of each item whose elements the walks' replies are merged into


@dataclass(frozen=True)
class Stream:
    name: str
    operation: str                   # Listrak operation that returns this stream's items
    item_type: str                   # WSDL type of one item
    key_properties: tuple[str, ...]
    parent: str | None = None
    parent_field: str | None = None
    adds_parent_field: bool = True   # False: the item type carries parent_field itself
    inherits: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    constants: tuple[tuple[str, object], ...] = ()
    unit: str = EACH
    batch_param: str | None = None
    batch_size: int = 0
    flatten: str | None = None
    outer_fields: tuple[tuple[str, str], ...] = ()
    list_field: str | None = None
    event_date: str | None = None
    walks_lookback: bool = False
    replication_key: str | None = None
    order_key: tuple[str, ...] = ()
    collected: bool = False
    index_of: str | None = None
    selected_by_default: bool = False
    api: str = SOAP
    range_params: tuple[str, str] = ("StartDate", "EndDate")
    variants: tuple[Variant, ...] = ()
    dated_by: tuple[str, ...] = ()
    snapshot: bool = False
    batched_param: BatchedParam | None = None

    @property
    def added_field(self) -> str | None:
        """The parent's field added to each record (and always emitted)."""
        return self.parent_field if self.adds_parent_field else None

    @property
    def record_dates(self) -> tuple[str, ...]:
        """The fields a record's own date is read from (the latest of them it has)."""
        return self.dated_by or ((self.event_date,) if self.event_date else ())

    @property
    def replication_keys(self) -> tuple[str, ...]:
        """The valid replication keys: the replication key, or every field the record's date is read from."""
        if not self.replication_key:
            return ()
        return self.dated_by or (self.replication_key,)

    def variants_for(self, incremental: bool) -> tuple[Variant, ...]:
        return tuple(variant for variant in self.variants if incremental or not variant.incremental_only)

    @property
    def bounds_parent(self) -> bool:
        """Whether the replication key is the parent's date (it bounds which parents are read)."""
        return self.replication_key is not None and self.replication_key != self.event_date

    @property
    def item_key(self) -> tuple[str, ...]:
        """The key properties an item carries itself (not the parent's fields the walk adds)."""
        return tuple(name for name in self.key_properties if name != self.added_field and name not in self.inherits)

    @property
    def paged(self) -> bool:
        return PAGE in self.params or CURSOR in self.params

    @property
    def route_fields(self) -> tuple[str, ...]:
        """The parent record's fields a REST route names in its path."""
        return tuple(re.findall(r"{(\w+)}", self.operation)) if self.api == REST else ()

    @property
    def date_ranged(self) -> bool:
        return RANGE in self.params

    @property
    def schema(self) -> dict:
        return load_schema(self.name, self.api)

    @property
    def date_fields(self) -> tuple[str, ...]:
        """Fields holding date-times: every property declared with format date-time."""
        return _fields_where(self.name, self.api, lambda spec: spec.get("format") == "date-time")

    @property
    def number_fields(self) -> tuple[str, ...]:
        """Fields holding fractional numbers."""
        return _fields_where(self.name, self.api, lambda spec: "number" in spec.get("type", ()))


def _message_events(name: str, operation: str, item_type: str, event_date: str, *keys: str) -> Stream:
    return Stream(name, operation, item_type, ("MsgID", "EmailAddress", event_date) + keys, parent="messages",
                  parent_field="MsgID", params=(RANGE, PAGE), event_date=event_date, walks_lookback=True,
                  replication_key=event_date)


def _list_report(name: str, operation: str, item_type: str, *keys: str, **fields) -> Stream:
    """A report per list whose items carry their ListID."""
    return Stream(name, operation, item_type, ("ListID",) + keys, parent="lists", parent_field="ListID",
                  adds_parent_field=False, **fields)


def _list_events(name: str, operation: str, item_type: str, event_date: str) -> Stream:
    """A dated, paged report per list whose items do not carry the list (ListID is added)."""
    return Stream(name, operation, item_type, ("ListID", "ContactID", event_date), parent="lists",
                  parent_field="ListID", params=(RANGE, PAGE), event_date=event_date, replication_key=event_date)


# Sync order: parents before children; the message_* streams in the published order, then the nine
# the published tap never had.
STREAMS: tuple[Stream, ...] = (
    Stream("lists", "GetContactListCollection", "WSContactList", ("ListID",), order_key=("ListID",),
           collected=True, selected_by_default=True),
    Stream("messages", "ReportListMessageActivity", "WSMessageActivity", ("MsgID",), parent="lists",
           parent_field="ListID", adds_parent_field=False, params=(RANGE, TEST_MESSAGES), unit=WINDOW,
           event_date="SendDate", order_key=("ListID", "SendDate", "MsgID"), collected=True, selected_by_default=True),
    # Sends happen at the send date: only messages sent since start_date have sends in range.
    Stream("message_sends", "ReportMessageContactSent", "WSMessageRecipient", ("MsgID", "EmailAddress"),
           parent="messages", parent_field="MsgID", inherits=("SendDate",), params=(PAGE,),
           replication_key="SendDate"),
    _message_events("message_opens", "ReportRangeMessageContactOpen", "WSContactOpen", "OpenDate"),
    _message_events("message_clicks", "ReportRangeMessageContactClick", "WSContactClick", "ClickDate", "LinkUrl"),
    _message_events("message_reads", "ReportRangeMessageContactRead", "WSContactRead", "ReadDate"),
    _message_events("message_unsubs", "ReportRangeMessageContactRemoval", "WSContactRemovalInfo", "RemovalDate"),
    _message_events("message_bounces", "ReportRangeMessageContactBounces", "WSContactBounce", "BounceDate"),
    # Counters of a message's links and its analytics names: snapshots of the messages sent in the run.
    Stream("message_links", "ReportMessageLinkClick", "WSMessageLink", ("MsgID", "LinkID"), parent="messages",
           parent_field="MsgID", adds_parent_field=False, params=(PAGE,)),
    Stream("message_analytics", "GetMessageAnalyticsInformation", "WSMessageAnalyticsInformation", ("MsgID",),
           parent="messages", parent_field="MsgID", adds_parent_field=False, unit=BATCH, batch_param="MsgIDs",
           batch_size=ANALYTICS_BATCH),
    Stream("subscribed_contacts", "ReportRangeSubscribedContacts", "WSContactSubscriptionInfo",
           ("ContactID", "ListID"), parent="lists", parent_field="ListID", params=(RANGE, PAGE),
           event_date="AdditionDate", replication_key="AdditionDate", selected_by_default=True),
    _list_events("list_removals", "ReportRangeListContactRemoval", "WSContactRemovalInfo", "RemovalDate"),
    _list_events("list_hygiene", "ReportRangeListContactHygiene", "WSContactHygieneInfo", "HygieneDate"),
    _list_report("campaigns", "GetCampaignCollection", "WSCampaign", "CampaignID"),
    _list_report("conversations", "ReportListConversationActivity", "WSConversationActivity", "ConversationID",
                 constants=(("IncludeTerminated", True),)),
    _list_report("profile_fields", "GetProfileHeaderCollection", "WSProfileHeader", "AttributeID",
                 flatten="WSProfileAttributes", outer_fields=(("ListID", "ListID"), ("HeaderID", "HeaderID"),
                                                              ("Name", "HeaderName"), ("Position", "HeaderPosition"))),
    # Read like messages (per list and window, crowded windows split); small, so collected.
    Stream("message_deliveries", "ReportListMessageDelivery", "WSMessageDelivery", ("MsgID",), parent="lists",
           parent_field="ListID", adds_parent_field=False, params=(RANGE, TEST_MESSAGES), unit=WINDOW,
           event_date="SendDate", order_key=("ListID", "SendDate", "MsgID"), collected=True),
    # Account-wide: every list the user can read, in one paged range.
    Stream("spam_complaints", "ReportAdminContactFeedbackLoop", "WSFeedbackLoopListing",
           ("MessageID", "EmailAddress", "AbuseDate"), params=(RANGE, PAGE), event_date="AbuseDate",
           replication_key="AbuseDate", list_field="ListID"),
)
STREAMS_BY_NAME = {stream.name: stream for stream in STREAMS}


def _rest(name: str, route: str, item_type: str, keys: tuple[str, ...], parent: str | None = "lists",
          **fields) -> Stream:
    """A REST stream: its records carry the parent's field and the fields the route names."""
    parent_field = fields.pop("parent_field", None) or (route.split("/")[-2][1:-1] if parent else None)
    inherits = tuple(name for name in re.findall(r"{(\w+)}", route) if name != parent_field)
    return Stream(name, route, item_type, keys, parent=parent, parent_field=parent_field, inherits=inherits,
                  api=REST, range_params=("startDate", "endDate"), **fields)


PAGED = (CURSOR,)
RANGED = (CURSOR, RANGE)  # paged, and asked for the run's range (widened like SOAP's) on the route's startDate/endDate


def _activity(name: str, route: str, item_type: str, keys: tuple[str, ...], parent: str) -> Stream:
    """A message's activity: one row per recipient, dated by its send, whose flags change with each later open
    or click. Every run asks for the rows sent in its range (dateType Send); an INCREMENTAL run also asks for
    the rows with activity since its start (dateType Activity: Listrak may match the first activity only, or
    any), and re-reads whole the rows sent in the message_lookback_days before its start."""
    return _rest(name, route, item_type, keys, parent=parent, params=RANGED, event_date="sendDate",
                 replication_key="activityDate", snapshot=True,
                 variants=(Variant((("dateType", "Send"),), reread=True),
                           Variant((("dateType", "Activity"),), incremental_only=True)))
MESSAGE = "List/{listId}/Message/{messageId}"
# Every profile value of a contact: its list's segmentation fields, asked 30 at a time (Listrak's limit,
# ERROR_TOO_MANY_SEGMENTATION_FIELDS above it; fact sheet §3.5, §4 row 5), merged per contact.
SEGMENTATION_FIELD_VALUES = BatchedParam("segmentationFieldIds", "segmentation_fields", "segmentationFieldId", 30,
                                         "segmentationFieldValues")
CONVERSATION_MESSAGE = "List/{listId}/Conversation/{conversationId}/Message/{messageId}"
# The REST API's streams: names and fields as the published REST tap (2.0.8) has them, then the ones
# it never had. Keys name the list and every parent the route was served under, so that an upserting
# target keeps one row per object (the published tap keyed campaigns, messages and links on their own
# id, and activity on nothing).
REST_WALK: tuple[Stream, ...] = (
    _rest("lists", "List", "List", ("listId",), parent=None, order_key=("listId",), collected=True,
          selected_by_default=True),
    _rest("campaigns", "List/{listId}/Campaign", "Campaign", ("listId", "campaignId")),
    # With every profile value of the contact (its list's segmentation fields, read first, 30 a request).
    # Subscribed contacts by their most recent subscribe date (useOriginalSubscribeDate false: a contact
    # subscribing again is read again), unsubscribed ones by their unsubscribe date; a contact's own date is
    # whichever of the three came last, so an unsubscribe after the subscribe is read in the run it falls in.
    _rest("contacts", "List/{listId}/Contact", "Contact", ("listId", "emailAddress"), params=RANGED,
          constants=(("useOriginalSubscribeDate", False),),
          variants=(Variant((("subscriptionState", "Subscribed"),)), Variant((("subscriptionState", "Unsubscribed"),))),
          dated_by=("subscribeDate", "resubscribeDate", "unsubscribeDate"), replication_key="subscribeDate",
          selected_by_default=True, batched_param=SEGMENTATION_FIELD_VALUES),
    # A message in full (bodies, from and reply addresses, tracking, segments applied), as the published tap
    # wrote it: one request per message sent since start_date, after the list's index of them.
    _rest("message_index", "List/{listId}/Message", "Message", ("listId", "messageId"), params=RANGED,
          event_date="sendDate", order_key=("listId", "messageId"), collected=True, index_of="messages"),
    _rest("messages", MESSAGE, "MessageExtendedSegmentsApplied", ("listId", "messageId"), parent="message_index",
          parent_field="messageId", adds_parent_field=False, event_date="sendDate", selected_by_default=True),
    _activity("message_activity", f"{MESSAGE}/Activity", "MessageActivity", ("listId", "messageId", "emailAddress"),
              parent="message_index"),
    _rest("message_links", f"{MESSAGE}/Link", "MessageLink", ("listId", "messageId", "linkId"),
          parent="message_index", params=PAGED, order_key=("listId", "messageId", "linkId"), collected=True),
    # Clicks dated since start_date, also on links of the messages sent in the lookback before it.
    _rest("message_link_clickers", f"{MESSAGE}/Link/{{linkId}}/Clicker", "MessageLinkClicker",
          ("listId", "messageId", "linkId", "emailAddress", "clickDate"), parent="message_links", params=RANGED,
          event_date="clickDate", replication_key="clickDate", walks_lookback=True),
    _rest("message_summaries", f"{MESSAGE}/Summary", "MessageSummary", ("listId", "messageId"),
          parent="message_index"),
    _rest("conversations", "List/{listId}/Conversation", "Conversation", ("listId", "conversationId"),
          order_key=("listId", "conversationId"), collected=True),
    _rest("conversation_message_index", "List/{listId}/Conversation/{conversationId}/Message", "Message",
          ("listId", "conversationId", "messageId"), parent="conversations", params=PAGED,
          order_key=("listId", "conversationId", "messageId"), collected=True, index_of="conversation_messages"),
    _rest("conversation_messages", CONVERSATION_MESSAGE, "MessageExtended", ("listId", "conversationId", "messageId"),
          parent="conversation_message_index", parent_field="messageId", adds_parent_field=False),
    _rest("conversation_message_activity", f"{CONVERSATION_MESSAGE}/Activity", "MessageActivity",
          ("listId", "conversationId", "messageId", "emailAddress"), parent="conversation_message_index",
          params=PAGED),
    _rest("transactional_messages", "List/{listId}/TransactionalMessage", "TransactionalMessage",
          ("listId", "transactionalMessageId"), order_key=("listId", "transactionalMessageId"), collected=True),
    _activity("transactional_message_activity",
              "List/{listId}/TransactionalMessage/{transactionalMessageId}/Activity", "TransactionalMessageActivity",
              ("listId", "transactionalMessageId", "emailAddress"), parent="transactional_messages"),
    _rest("segmentation_field_groups", "List/{listId}/SegmentationFieldGroup", "SegmentationFieldGroup",
          ("listId", "segmentationFieldGroupId"), order_key=("listId", "segmentationFieldGroupId"), collected=True),
    _rest("segmentation_fields",
          "List/{listId}/SegmentationFieldGroup/{segmentationFieldGroupId}/SegmentationField", "SegmentationField",
          ("listId", "segmentationFieldId"), parent="segmentation_field_groups", adds_parent_field=False,
          order_key=("listId", "segmentationFieldGroupId", "segmentationFieldId"), collected=True),
    _rest("events", "List/{listId}/Event", "Event", ("listId", "eventId")),
    _rest("event_groups", "List/{listId}/EventGroup", "EventGroup", ("listId", "eventGroupId")),
    # Split tests started since start_date (a test's status and end change while it runs: FULL_TABLE only).
    _rest("split_tests", "List/{listId}/SplitTest", "SplitTest", ("listId", "splitTestId"), params=RANGED,
          event_date="startDate", order_key=("listId", "splitTestId"), collected=True),
    _rest("split_test_messages", "List/{listId}/SplitTest/{splitTestId}/Message", "SplitTestMessage",
          ("listId", "splitTestId", "messageId"), parent="split_tests"),
    # Declared with paging parameters but answered as an unpaged collection (fact sheet §8.3): the cursor
    # is sent, and a reply without nextPageCursor is the last page, under either answer.
    _rest("list_imports", "List/{listId}/ListImport", "ListImport", ("listId", "importFileId"), params=RANGED,
          event_date="importDate", replication_key="importDate"),
    # A paged envelope without paging parameters (§8.2): asked once, unpaged.
    _rest("saved_audiences", "List/{listId}/SavedAudience", "SavedAudience", ("listId", "savedAudienceId")),
    _rest("folders", "Folder", "Folder", ("folderId",), parent=None),
)
# The REST streams a catalog offers (the indexes are read only as parents).
REST_STREAMS = tuple(stream for stream in REST_WALK if not stream.index_of)
TABLES = {SOAP: STREAMS, REST: REST_WALK}
_BY_NAME = {api: {stream.name: stream for stream in streams} for api, streams in TABLES.items()}


def table(api: str = SOAP) -> tuple[Stream, ...]:
    """The streams of one API, in sync order."""
    return TABLES[api]


def by_name(api: str = SOAP) -> dict[str, Stream]:
    return _BY_NAME[api]


def parent_of(stream: Stream) -> Stream | None:
    return _BY_NAME[stream.api][stream.parent] if stream.parent else None


def offered(api: str = SOAP) -> tuple[Stream, ...]:
    """The streams a catalog offers, in sync order: the table without the indexes."""
    return tuple(stream for stream in TABLES[api] if not stream.index_of)


def catalog_parent(stream: Stream) -> str | None:
    """The parent a catalog names: an index stands for the stream it lists, whose own parent is the index's."""
    parent = parent_of(stream)
    if parent is None or not parent.index_of:
        return stream.parent
    return parent.parent if parent.index_of == stream.name else parent.index_of


def children_of(name: str, api: str = SOAP) -> tuple[Stream, ...]:
    return tuple(stream for stream in TABLES[api] if stream.parent == name)


@cache
def load_schema(name: str, api: str = SOAP) -> dict:
    folder = resources.files("tap_listrak").joinpath("schemas")
    text = (folder.joinpath("rest") if api == REST else folder).joinpath(f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)


def _fields_where(name: str, api: str, test) -> tuple[str, ...]:
    return tuple(field for field, spec in load_schema(name, api)["properties"].items() if test(spec))
