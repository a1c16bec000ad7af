"""The stream table against the API fact sheet (docs/listrak-api.md §5-§7) and the README."""
import pytest

from tap_listrak.streams import BATCH, STREAMS, STREAMS_BY_NAME, by_name, load_schema

# docs §7: the fields of each item type; the parent's ID is added to every child record.
ITEM_FIELDS = {
    "lists": {"ListID", "ListName", "CreateDate", "FromName", "FromEmail", "EnableRemovalLink", "EnableBrowserLink",
              "bounceHandling", "EnableDoubleOptin", "EnableListHygiene", "Vmta", "ShowEmailList",
              "ShowAdvancedPersonalization", "BounceUnsubscribeCount", "DomainAliasLink", "DomainAliasEmail",
              "EnableRSS", "EnableGoogleAnalytics", "GoogleTrackingDomains", "EnableInternationalization",
              "EnableDynamicContent", "EnableListRemoveHeader"},
    "messages": {"ListID", "MsgID", "Subject", "SendDate", "DeliverCount", "RemoveCount", "RemovePercent", "OpenCount",
                 "OpenPercent", "ReadCount", "ReadPercent", "ClickCount", "ClickerCount", "RepeatClickerCount",
                 "NewClickerCount", "ClickerPercent", "OrderTotal", "ConversionCount", "AverageOrderValue"},
    "message_sends": {"EmailAddress"},
    "message_opens": {"ContactID", "EmailAddress", "OpenDate"},
    "message_clicks": {"ContactID", "EmailAddress", "LinkDescription", "LinkUrl", "ClickDate"},
    "message_reads": {"ContactID", "EmailAddress", "ReadDate"},
    "message_unsubs": {"ContactID", "EmailAddress", "AdditionDate", "RemovalDate", "RemovalMethod"},
    "message_bounces": {"ContactID", "EmailAddress", "BounceReason", "BounceDetail", "BounceDate", "BounceCount"},
    "subscribed_contacts": {"ContactID", "EmailAddress", "AdditionDate", "AdditionMethod"},
    # docs §8b, §9: the nine secondary item types (profile_fields: header and attribute flattened).
    "message_links": {"MsgID", "LinkID", "ClickCount", "ClickerCount", "ClickPercent", "LinkURL", "LinkType",
                      "LinkDescription"},
    "message_analytics": {"CampaignID", "CampaignName", "GoogleAnalyticsCampaignContent", "GoogleAnalyticsCampaignName",
                          "ListrakAnalyticsCampaignName", "ListrakAnalyticsModuleName", "ListrakAnalyticsVersion",
                          "ListID", "MsgID", "SendDate", "Subject"},
    "list_removals": {"ContactID", "EmailAddress", "AdditionDate", "RemovalDate", "RemovalMethod"},
    "list_hygiene": {"ContactID", "OldEmailAddress", "EmailAddress", "AddDate", "HygieneDate"},
    "campaigns": {"CampaignID", "ListID", "MessageCount", "Name"},
    "conversations": {"ListID", "CampaignID", "ConversationID", "PublishedDate", "ContactCount", "WaitingCount",
                      "TerminatedCount", "DeliverCount", "RemoveCount", "RemoveRate", "OpenCount", "OpenRate",
                      "ReadCount", "ReadRate", "ClickCount", "OrderTotal", "ConversionCount", "AverageOrderValue",
                      "CampaignName", "ConversationName"},
    "profile_fields": {"ListID", "HeaderID", "HeaderName", "HeaderPosition", "AttributeID", "Name", "DataType",
                       "MaxLength", "Position"},
    "message_deliveries": {"ListID", "MsgID", "SendDate", "DeliverCount", "DeliverPercent", "BounceCount",
                           "BouncePercent", "PassAlongCount", "Subject"},
    "spam_complaints": {"ListID", "CampaignID", "MessageID", "AbuseDate", "ListName", "CampaignName", "MessageSubject",
                        "ContactID", "EmailAddress", "ISPName"},
}
# README stream table.
OPERATIONS = {
    "lists": "GetContactListCollection", "messages": "ReportListMessageActivity",
    "message_sends": "ReportMessageContactSent", "message_opens": "ReportRangeMessageContactOpen",
    "message_clicks": "ReportRangeMessageContactClick", "message_reads": "ReportRangeMessageContactRead",
    "message_unsubs": "ReportRangeMessageContactRemoval", "message_bounces": "ReportRangeMessageContactBounces",
    "message_links": "ReportMessageLinkClick", "message_analytics": "GetMessageAnalyticsInformation",
    "subscribed_contacts": "ReportRangeSubscribedContacts", "list_removals": "ReportRangeListContactRemoval",
    "list_hygiene": "ReportRangeListContactHygiene", "campaigns": "GetCampaignCollection",
    "conversations": "ReportListConversationActivity", "profile_fields": "GetProfileHeaderCollection",
    "message_deliveries": "ReportListMessageDelivery", "spam_complaints": "ReportAdminContactFeedbackLoop",
}
NEW = {"message_links", "message_analytics", "list_removals", "list_hygiene", "campaigns", "conversations",
       "profile_fields", "message_deliveries", "spam_complaints"}
# docs §5: dateTime- and string-typed dates.
DATE_FIELDS = {
    "lists": {"CreateDate"}, "messages": {"SendDate"}, "message_sends": {"SendDate"}, "message_opens": {"OpenDate"},
    "message_clicks": {"ClickDate"}, "message_reads": {"ReadDate"}, "message_unsubs": {"AdditionDate", "RemovalDate"},
    "message_bounces": {"BounceDate"}, "subscribed_contacts": {"AdditionDate"},
    "message_links": set(), "message_analytics": {"SendDate"}, "list_removals": {"AdditionDate", "RemovalDate"},
    "list_hygiene": {"AddDate", "HygieneDate"}, "campaigns": set(), "conversations": {"PublishedDate"},
    "profile_fields": set(), "message_deliveries": {"SendDate"}, "spam_complaints": {"AbuseDate"},
}
# docs §7 / §13.4: the fractional statistics (s:double or s:decimal) of WSMessageActivity.
MESSAGE_NUMBERS = {"RemovePercent", "OpenPercent", "ReadPercent", "ClickerPercent", "OrderTotal", "AverageOrderValue"}
# docs §8b: fractional statistics of the secondary types are s:decimal.
NUMBERS = {"messages": MESSAGE_NUMBERS, "message_links": {"ClickPercent"},
           "conversations": {"RemoveRate", "OpenRate", "ReadRate", "OrderTotal", "AverageOrderValue"},
           "message_deliveries": {"DeliverPercent", "BouncePercent"}}
# docs §8b: the keys, on each item's own field names.
KEYS = {"list_removals": ("ListID", "ContactID", "RemovalDate"), "list_hygiene": ("ListID", "ContactID", "HygieneDate"),
        "message_links": ("MsgID", "LinkID"), "campaigns": ("ListID", "CampaignID"), "message_analytics": ("MsgID",),
        "message_deliveries": ("MsgID",), "conversations": ("ListID", "ConversationID"),
        "profile_fields": ("ListID", "AttributeID"), "spam_complaints": ("MessageID", "EmailAddress", "AbuseDate")}


def test_eighteen_streams_named_once():
    assert [s.name for s in STREAMS] == list(OPERATIONS)
    assert set(STREAMS_BY_NAME) == set(OPERATIONS) and len(STREAMS_BY_NAME) == 18


def test_the_new_streams_keys_and_none_selected_by_default():
    assert {name: STREAMS_BY_NAME[name].key_properties for name in NEW} == KEYS
    assert not any(STREAMS_BY_NAME[name].selected_by_default for name in NEW)


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_operation(stream):
    assert stream.operation == OPERATIONS[stream.name]


def test_parents_come_before_their_children():
    seen = set()
    for stream in STREAMS:
        assert stream.parent is None or stream.parent in seen, stream.name
        seen.add(stream.name)


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_schema_holds_the_item_fields_keys_and_parent_key(stream):
    properties = stream.schema["properties"]
    expected = set(ITEM_FIELDS[stream.name]) | ({stream.added_field} if stream.added_field else set())
    assert set(properties) == expected | set(stream.inherits)
    assert set(stream.key_properties) <= set(properties)
    assert stream.schema.get("additionalProperties") is False


def test_parent_fields():
    assert {s.name: s.added_field for s in STREAMS if s.added_field} == {
        **{name: "MsgID" for name in OPERATIONS if name.startswith("message_") and name not in NEW},
        "subscribed_contacts": "ListID", "list_removals": "ListID", "list_hygiene": "ListID"}
    messages = STREAMS_BY_NAME["messages"]
    assert messages.parent == "lists" and messages.parent_field == "ListID" and messages.added_field is None
    assert STREAMS_BY_NAME["lists"].parent is None


def test_inherited_fields_are_the_parents_and_typed_as_the_parent_types_them():
    # message_sends carries its message's SendDate, the date its bookmark is on.
    assert {s.name: s.inherits for s in STREAMS if s.inherits} == {"message_sends": ("SendDate",)}
    for stream in STREAMS:
        parent = STREAMS_BY_NAME[stream.parent] if stream.inherits else None
        for name in stream.inherits:
            assert stream.unit != BATCH, stream.name  # a batch has many parents
            assert stream.schema["properties"][name] == parent.schema["properties"][name], (stream.name, name)
            assert name not in ITEM_FIELDS[stream.name], (stream.name, name)


def test_parents_declare_the_order_their_children_walk():
    for stream in STREAMS:
        if stream.parent:
            parent = STREAMS_BY_NAME[stream.parent]
            assert parent.order_key and stream.parent_field in parent.order_key, stream.name
            assert set(parent.order_key) <= set(parent.schema["properties"])


def test_event_streams_walk_the_lookback_and_sends_do_not():
    assert {s.name for s in STREAMS if s.walks_lookback} == {
        "message_opens", "message_clicks", "message_reads", "message_unsubs", "message_bounces"}


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_date_fields(stream):
    assert set(stream.date_fields) == DATE_FIELDS[stream.name]


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_number_fields(stream):
    assert set(stream.number_fields) == NUMBERS.get(stream.name, set())


def test_integers_are_not_number_fields():
    schema = STREAMS_BY_NAME["message_bounces"].schema["properties"]
    assert "integer" in schema["BounceCount"]["type"]
    assert "BounceCount" not in STREAMS_BY_NAME["message_bounces"].number_fields


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_event_date_is_a_date_field(stream):
    if stream.event_date is not None:
        assert stream.event_date in stream.date_fields
        assert stream.date_ranged


def test_event_dates_of_the_ranged_streams():
    assert {s.name: s.event_date for s in STREAMS if s.event_date} == {
        "messages": "SendDate", "message_opens": "OpenDate", "message_clicks": "ClickDate",
        "message_reads": "ReadDate", "message_unsubs": "RemovalDate", "message_bounces": "BounceDate",
        "subscribed_contacts": "AdditionDate", "list_removals": "RemovalDate", "list_hygiene": "HygieneDate",
        "message_deliveries": "SendDate", "spam_complaints": "AbuseDate"}


def test_replication_keys_of_the_new_streams():
    assert {name: STREAMS_BY_NAME[name].replication_key for name in NEW if STREAMS_BY_NAME[name].replication_key} \
        == {"list_removals": "RemovalDate", "list_hygiene": "HygieneDate", "spam_complaints": "AbuseDate"}


def test_paged_streams():
    # docs §5, §8: the ReportRange* family, ReportMessageContactSent, ReportRangeSubscribedContacts,
    # ReportMessageLinkClick and ReportAdminContactFeedbackLoop take Page.
    assert {s.name for s in STREAMS if s.paged} == set(OPERATIONS) - {
        "lists", "messages", "message_analytics", "campaigns", "conversations", "profile_fields", "message_deliveries"}


def test_the_new_unit_kinds_are_declared_in_the_table():
    analytics = STREAMS_BY_NAME["message_analytics"]
    assert (analytics.unit, analytics.batch_param, analytics.batch_size) == ("batch", "MsgIDs", 2500)
    assert STREAMS_BY_NAME["conversations"].constants == (("IncludeTerminated", True),)
    profile = STREAMS_BY_NAME["profile_fields"]
    assert profile.flatten == "WSProfileAttributes" and dict(profile.outer_fields) == {
        "ListID": "ListID", "HeaderID": "HeaderID", "Name": "HeaderName", "Position": "HeaderPosition"}
    complaints = STREAMS_BY_NAME["spam_complaints"]
    assert complaints.parent is None and complaints.list_field == "ListID" and complaints.date_ranged


def test_key_fields_are_required_types():
    # An integer parent key is always filled in by the tap: never null.
    for stream in STREAMS:
        if stream.added_field:
            assert stream.schema["properties"][stream.added_field]["type"] == "integer", stream.name


def test_schemas_are_cached_but_each_stream_has_its_own():
    assert load_schema("lists") is load_schema("lists")
    assert load_schema("lists") is not load_schema("messages")


def test_rest_messages_are_the_detail_definitions_in_listraks_order_with_the_route_ids():
    import json
    from pathlib import Path
    swagger = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "rest" /
                          "listrak-email-openapi.json").read_text(encoding="utf-8"))["definitions"]
    rest = by_name("rest")
    for name, ids in (("messages", ["listId"]), ("conversation_messages", ["listId", "conversationId"])):
        stream = rest[name]
        assert list(stream.schema["properties"]) == ids + list(swagger[stream.item_type]["properties"]), name
        assert "fromEmail" in stream.schema["properties"] and "bodyHtml" in stream.schema["properties"]
    assert "segmentsApplied" in rest["messages"].schema["properties"]
