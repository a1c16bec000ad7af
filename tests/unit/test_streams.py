"""The stream table against the API fact sheet (docs/listrak-api.md §5-§7) and the README."""
import pytest

from tap_listrak.streams import STREAMS, STREAMS_BY_NAME, load_schema

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
}
# README stream table.
OPERATIONS = {
    "lists": "GetContactListCollection", "messages": "ReportListMessageActivity",
    "message_sends": "ReportMessageContactSent", "message_opens": "ReportRangeMessageContactOpen",
    "message_clicks": "ReportRangeMessageContactClick", "message_reads": "ReportRangeMessageContactRead",
    "message_unsubs": "ReportRangeMessageContactRemoval", "message_bounces": "ReportRangeMessageContactBounces",
    "subscribed_contacts": "ReportRangeSubscribedContacts",
}
# docs §5: dateTime- and string-typed dates.
DATE_FIELDS = {
    "lists": {"CreateDate"}, "messages": {"SendDate"}, "message_sends": set(), "message_opens": {"OpenDate"},
    "message_clicks": {"ClickDate"}, "message_reads": {"ReadDate"}, "message_unsubs": {"AdditionDate", "RemovalDate"},
    "message_bounces": {"BounceDate"}, "subscribed_contacts": {"AdditionDate"},
}
# docs §7 / §13.4: the fractional statistics (s:double or s:decimal) of WSMessageActivity.
MESSAGE_NUMBERS = {"RemovePercent", "OpenPercent", "ReadPercent", "ClickerPercent", "OrderTotal", "AverageOrderValue"}


def test_nine_streams_named_once():
    assert [s.name for s in STREAMS] == list(OPERATIONS)
    assert set(STREAMS_BY_NAME) == set(OPERATIONS) and len(STREAMS_BY_NAME) == 9


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
    assert set(properties) == expected
    assert set(stream.key_properties) <= set(properties)
    assert stream.schema.get("additionalProperties") is False


def test_parent_fields():
    assert {s.name: s.added_field for s in STREAMS if s.added_field} == {
        **{name: "MsgID" for name in OPERATIONS if name.startswith("message_")}, "subscribed_contacts": "ListID"}
    messages = STREAMS_BY_NAME["messages"]
    assert messages.parent == "lists" and messages.parent_field == "ListID" and messages.added_field is None
    assert STREAMS_BY_NAME["lists"].parent is None


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
    expected = MESSAGE_NUMBERS if stream.name == "messages" else set()
    assert set(stream.number_fields) == expected


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
        "subscribed_contacts": "AdditionDate"}


def test_paged_streams():
    # docs §5: the ReportRange* family, ReportMessageContactSent and ReportRangeSubscribedContacts take Page.
    assert {s.name for s in STREAMS if s.paged} == set(OPERATIONS) - {"lists", "messages"}


def test_key_fields_are_required_types():
    # An integer parent key is always filled in by the tap: never null.
    for stream in STREAMS:
        if stream.added_field:
            assert stream.schema["properties"][stream.added_field]["type"] == "integer", stream.name


def test_schemas_are_cached_but_each_stream_has_its_own():
    assert load_schema("lists") is load_schema("lists")
    assert load_schema("lists") is not load_schema("messages")
