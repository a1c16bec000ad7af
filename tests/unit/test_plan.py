"""The plan without a socket: groups, units, positions, request parameters, per-stream windows."""
import datetime as dt

import pytest

from tap_listrak import plan
from tap_listrak.catalog import Selection
from tap_listrak.streams import STREAMS_BY_NAME

UTC = dt.timezone.utc
START = dt.datetime(2024, 1, 1, tzinfo=UTC)
END = dt.datetime(2024, 7, 1, tzinfo=UTC)
LISTS = [{"ListID": 11}, {"ListID": 22}]
MESSAGES = [  # in order_key order: ListID, SendDate, MsgID
    {"ListID": 11, "SendDate": "2023-12-20T00:00:00.000000Z", "MsgID": 1},   # in the 30-day lookback
    {"ListID": 11, "SendDate": "2024-02-01T00:00:00.000000Z", "MsgID": 2},
    {"ListID": 22, "SendDate": "2023-10-01T00:00:00.000000Z", "MsgID": 3},   # before the lookback
    {"ListID": 22, "SendDate": "2024-06-30T00:00:00.000000Z", "MsgID": 4},
]


def _selection(name: str, incremental: bool = False) -> Selection:
    stream = STREAMS_BY_NAME[name]
    return Selection(stream, None, stream.schema, incremental)


def _window(**kw) -> plan.RunWindow:
    return plan.RunWindow(START, END, dt.timedelta(days=30), lambda value: value.replace(tzinfo=None), **kw)


def _units(names, positions=None, window=None):
    group = [_selection(name) for name in names]
    parent = STREAMS_BY_NAME[group[0].stream.parent]
    records = LISTS if parent.name == "lists" else MESSAGES
    return plan.units(group, {**{n: None for n in names}, **(positions or {})}, parent, records,
                      window or _window(), include_test_messages=False)


def test_groups_put_parents_first_streamed_siblings_together_and_the_interrupted_group_first():
    """subscribed_contacts (a child of lists) goes before the message index is read, not last."""
    names = ["lists", "messages", "message_sends", "message_opens", "message_clicks", "subscribed_contacts"]
    selections = [_selection(name) for name in names]
    as_names = lambda groups: [[s.stream.name for s in group] for group in groups]  # noqa: E731
    assert as_names(plan.groups(selections, None)) == [
        ["lists"], ["subscribed_contacts"], ["messages"], ["message_sends", "message_opens", "message_clicks"]]
    assert as_names(plan.groups(selections, "message_clicks"))[0] == ["message_sends", "message_opens",
                                                                       "message_clicks"]


def test_event_streams_walk_the_lookback_and_sends_only_messages_sent_since_start():
    units = _units(["message_sends", "message_opens"])
    assert [(u.stream.name, u.parent_value) for u in units] == [
        ("message_opens", 1), ("message_sends", 2), ("message_opens", 2), ("message_sends", 4), ("message_opens", 4)]
    opens = units[0]
    assert opens.position == [11, "2023-12-20T00:00:00.000000Z", 1]
    assert opens.params == {"MsgID": 1, "StartDate": dt.datetime(2023, 12, 31), "EndDate": dt.datetime(2024, 7, 2)}
    assert units[1].params == {"MsgID": 2}   # ReportMessageContactSent takes no range


def test_units_after_a_position_are_the_only_ones_left():
    position = [11, "2024-02-01T00:00:00.000000Z", 2]
    units = _units(["message_sends", "message_opens"], {"message_opens": position})
    assert [(u.stream.name, u.parent_value) for u in units] == [
        ("message_sends", 2), ("message_sends", 4), ("message_opens", 4)]


def test_list_children_get_one_unit_per_list():
    units = _units(["subscribed_contacts"], {"subscribed_contacts": [11]})
    assert [(u.position, u.params["ListID"]) for u in units] == [([22], 22)]


def test_an_incremental_stream_starts_at_its_own_start_and_sends_walk_from_it():
    window = _window(starts={"message_opens": dt.datetime(2024, 6, 1, tzinfo=UTC),
                             "message_sends": dt.datetime(2024, 6, 1, tzinfo=UTC)})
    units = _units(["message_sends", "message_opens"], window=window)
    # opens still walk every message a full run walks (exact), asking only from their start;
    # sends walk only messages sent since their start.
    assert [(u.stream.name, u.parent_value) for u in units] == [
        ("message_opens", 1), ("message_opens", 2), ("message_sends", 4), ("message_opens", 4)]
    assert units[0].params["StartDate"] == dt.datetime(2024, 5, 31)
    keeps = window.keeps(STREAMS_BY_NAME["message_opens"])
    assert not keeps({"OpenDate": "2024-05-31T23:59:59.999999Z"}) and keeps({"OpenDate": "2024-06-01T00:00:00.000000Z"})
    assert not keeps({"OpenDate": "2024-07-01T00:00:00.000000Z"}) and not keeps({"OpenDate": None})
    assert window.keeps(STREAMS_BY_NAME["message_clicks"])({"ClickDate": "2024-01-01T00:00:00.000000Z"})


def test_a_message_floor_limits_an_incremental_event_walk():
    window = _window(floors={"message_opens": dt.datetime(2024, 3, 1, tzinfo=UTC)})
    assert [u.parent_value for u in _units(["message_opens"], window=window)] == [4]


def test_collected_units_carry_their_share_of_the_records():
    group = [_selection("messages")]
    shares = {11: MESSAGES[:2], 22: MESSAGES[2:]}
    units = plan.units(group, {"messages": [11]}, STREAMS_BY_NAME["lists"], LISTS, _window(), False,
                       collected={"messages": shares})
    assert [(u.position, [r["MsgID"] for r in u.records]) for u in units] == [([22], [3, 4])]


@pytest.mark.parametrize("days,expected", [(365, 1), (60, 4), (30, 7)])
def test_windows_cover_the_run_without_overlap(days, expected):
    windows = _window().windows(START, days)
    assert len(windows) == expected and windows[0][0] == START and windows[-1][1] == END
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:]))


def _many_messages(count: int) -> list[dict]:
    return [{"ListID": 11, "SendDate": f"2024-02-01T00:00:{n // 1000:02d}.{n % 1000:03d}000Z", "MsgID": 1000 + n}
            for n in range(count)]


def test_a_batch_stream_asks_for_up_to_its_batch_size_of_parents_at_once():
    messages = _many_messages(5001)
    group = [_selection("message_analytics")]
    units = plan.units(group, {"message_analytics": None}, STREAMS_BY_NAME["messages"], messages, _window(), False)
    assert [len(u.parent_value) for u in units] == [2500, 2500, 1]
    assert units[0].params == {"MsgIDs": {"int": [m["MsgID"] for m in messages[:2500]]}}
    # A unit's position is its last parent's: a resumed run asks only for the parents after it.
    assert units[0].position == plan.order_key(STREAMS_BY_NAME["messages"], messages[2499])
    resumed = plan.units(group, {"message_analytics": units[0].position}, STREAMS_BY_NAME["messages"], messages,
                         _window(), False)
    assert [u.parent_value[0] for u in resumed] == [messages[2500]["MsgID"], messages[5000]["MsgID"]]
    assert units[2].describe() == "message_analytics of 1 MsgIDs 6000 to 6000"


def test_a_batch_stream_walks_only_the_messages_sent_in_the_run_beside_the_event_streams():
    group = [_selection("message_opens"), _selection("message_analytics")]
    units = plan.units(group, {"message_opens": None, "message_analytics": None}, STREAMS_BY_NAME["messages"],
                       MESSAGES, _window(), False)
    assert [(u.stream.name, u.parent_value) for u in units] == [
        ("message_opens", 1), ("message_opens", 2), ("message_opens", 4), ("message_analytics", [2, 4])]


def test_constant_parameters_are_sent_with_every_request():
    units = _units(["conversations"])
    assert [u.params for u in units] == [{"ListID": 11, "IncludeTerminated": True},
                                         {"ListID": 22, "IncludeTerminated": True}]


def test_an_account_wide_stream_is_one_ranged_unit_and_keeps_only_the_lists_asked_for():
    group = [_selection("spam_complaints")]
    (unit,) = plan.units(group, {"spam_complaints": None}, None, [], _window(), False)
    assert unit.position is None
    assert unit.params == {"StartDate": dt.datetime(2023, 12, 31), "EndDate": dt.datetime(2024, 7, 2)}
    record = {"ListID": 11, "AbuseDate": "2024-03-01T00:00:00.000000Z"}
    stream = STREAMS_BY_NAME["spam_complaints"]
    assert _window().keeps(stream)(record)
    assert _window(list_ids=frozenset({11})).keeps(stream)(record)
    assert not _window(list_ids=frozenset({22})).keeps(stream)(record)
    assert not _window(list_ids=frozenset({11})).keeps(stream)({**record, "AbuseDate": "2023-03-01T00:00:00.000000Z"})
    # list_ids never applies to a stream read per list (its lists are already restricted).
    assert _window(list_ids=frozenset({22})).keeps(STREAMS_BY_NAME["campaigns"])({"ListID": 11})


def test_lazy_units_are_the_units_made_one_at_a_time_and_counted():
    messages = _many_messages(5001)
    group = [_selection("message_opens"), _selection("message_analytics")]
    args = (group, {"message_opens": None, "message_analytics": None}, STREAMS_BY_NAME["messages"], messages,
            _window(), False)
    lazy = plan.LazyUnits(*args)
    listed = plan.units(*args)
    assert len(lazy) == len(listed) and len(listed) > 3
    assert [(u.stream.name, u.position, u.params) for u in lazy] == \
        [(u.stream.name, u.position, u.params) for u in listed]


# -- REST: variants, snapshots, the latest of several dates -------------------------------------------------------
def _rest_units(name: str, incremental: bool, window: plan.RunWindow, positions=None):
    from tap_listrak.streams import by_name, parent_of
    stream = by_name("rest")[name]
    selection = Selection(stream, None, stream.schema, incremental)
    parent = parent_of(stream)
    record = {"listId": 5, "messageId": 7, "sendDate": "2024-03-01T00:00:00.000000Z", "transactionalMessageId": 9}
    return plan.units([selection], {name: positions}, parent, [record], window, include_test_messages=False)


def test_rest_activity_asks_by_send_in_every_run_and_also_by_activity_in_an_incremental_one():
    bookmark = dt.datetime(2024, 6, 1, tzinfo=UTC)
    full = _rest_units("message_activity", False, _window())
    assert [(u.params["dateType"], u.params["startDate"], u.position) for u in full] == [
        ("Send", dt.datetime(2023, 12, 31), [5, 7, 0])]
    incremental = _rest_units("message_activity", True, _window(starts={"message_activity": bookmark}))
    # The send range re-reads the lookback (30 days here) before the stream's start; the activity range starts there.
    assert [(u.params["dateType"], u.params["startDate"], u.params["endDate"], u.position) for u in incremental] == [
        ("Send", dt.datetime(2024, 5, 1), dt.datetime(2024, 7, 2), [5, 7, 0]),
        ("Activity", dt.datetime(2024, 5, 31), dt.datetime(2024, 7, 2), [5, 7, 1])]
    # A resumed run after the first variant asks only the second.
    resumed = _rest_units("message_activity", True, _window(starts={"message_activity": bookmark}), [5, 7, 0])
    assert [u.params["dateType"] for u in resumed] == ["Activity"]


def test_rest_snapshot_rows_are_kept_from_start_date_and_contacts_by_their_latest_date():
    from tap_listrak.streams import by_name
    window = _window(starts={"message_activity": dt.datetime(2024, 6, 1, tzinfo=UTC),
                             "contacts": dt.datetime(2024, 6, 1, tzinfo=UTC)})
    keeps = window.keeps(by_name("rest")["message_activity"])
    assert keeps({"sendDate": "2024-02-01T00:00:00.000000Z"})  # before the bookmark, after start_date
    assert not keeps({"sendDate": "2023-12-31T23:59:59.000000Z"}) and not keeps({"sendDate": None})
    contact = window.keeps(by_name("rest")["contacts"])
    old = "2023-05-01T00:00:00.000000Z"
    assert contact({"subscribeDate": old, "resubscribeDate": None, "unsubscribeDate": "2024-06-02T00:00:00.000000Z"})
    assert contact({"subscribeDate": old, "resubscribeDate": "2024-06-05T00:00:00.000000Z", "unsubscribeDate": None})
    assert not contact({"subscribeDate": "2024-05-30T00:00:00.000000Z", "resubscribeDate": None,
                        "unsubscribeDate": None})
    assert not contact({"subscribeDate": old, "resubscribeDate": None, "unsubscribeDate": END.strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")})


# -- REST: a batched parameter (contacts with every profile value) --------------------------------------------------
def test_contacts_walk_each_list_once_per_thirty_segmentation_fields_and_once_without_any():
    from tap_listrak.streams import by_name
    streams = by_name("rest")
    contacts, fields = streams["contacts"], streams["segmentation_fields"]
    assert contacts.batched_param.source == fields.name and fields.collected and contacts.item_key == ("emailAddress",)
    # The source's records (its index, in order) give each list's ids; a list without fields has none.
    index = [{"listId": 5, "segmentationFieldGroupId": 1, "segmentationFieldId": 100 + n} for n in range(65)] + \
        [{"listId": 6, "segmentationFieldGroupId": 2, "segmentationFieldId": 900 + n} for n in range(12)]
    ids = plan.batched_ids(contacts, index)
    assert ids == {5: [100 + n for n in range(65)], 6: [900 + n for n in range(12)]}
    assert [len(walk["segmentationFieldIds"]) for walk in plan.walks(contacts, ids[5])] == [30, 30, 5]
    assert plan.walks(contacts, ids[5])[1]["segmentationFieldIds"][0] == 130
    assert plan.walks(contacts, ids[6]) == ({"segmentationFieldIds": ids[6]},)
    assert plan.walks(contacts, []) == plan.walks(contacts, None) == ()
    selection = Selection(contacts, None, contacts.schema, False)
    lists = [{"listId": 5}, {"listId": 6}, {"listId": 7}]
    units = plan.units([selection], {"contacts": [5, 1]}, streams["lists"], lists, _window(),
                       include_test_messages=False, batched={"contacts": ids})
    # A unit is still a list and a variant (its position), whatever its walks; list 7 has no fields: one walk.
    assert [(u.position, len(u.walks)) for u in units] == [([6, 0], 1), ([6, 1], 1), ([7, 0], 0), ([7, 1], 0)]
    assert all("segmentationFieldIds" not in u.params for u in units)


def test_merged_records_join_every_walk_by_key_in_first_seen_order():
    from tap_listrak.output import MergedRecords
    merged = MergedRecords(("emailAddress",), "values")
    merged.add([{"emailAddress": "a", "state": 1, "values": [{"id": 1}]},
                {"emailAddress": "b", "state": 2, "values": []}])
    merged.next_walk()
    merged.add([{"emailAddress": "c", "state": 3, "values": [{"id": 31}]},
                {"emailAddress": "a", "state": 9, "values": [{"id": 30}, {"id": 32}]}])
    merged.next_walk()
    merged.add([{"emailAddress": "b", "state": 2, "values": [{"id": 61}]}])
    try:
        batches = list(merged.batches(2))
    finally:
        merged.close()
    assert [len(batch) for batch in batches] == [2, 1]
    assert [record for batch in batches for record in batch] == [
        {"emailAddress": "a", "state": 1, "values": [{"id": 1}, {"id": 30}, {"id": 32}]},  # the first walk's item
        {"emailAddress": "b", "state": 2, "values": [{"id": 61}]},
        {"emailAddress": "c", "state": 3, "values": [{"id": 31}]}]  # seen by a later walk only


def test_rest_messages_are_one_detail_request_per_message_of_the_index():
    """messages reads each message of the (hidden) index by its own route: one unit per message, its position the
    message's order key, its request the route's ids and nothing else; messages sent before start_date are not read."""
    from tap_listrak.streams import by_name, parent_of
    stream = by_name("rest")["messages"]
    index = parent_of(stream)
    assert index.name == "message_index" and index.collected and index.index_of == "messages"
    records = [{"listId": 5, "messageId": 6, "sendDate": "2023-12-31T00:00:00.000000Z"},
               {"listId": 5, "messageId": 7, "sendDate": "2024-03-01T00:00:00.000000Z"},
               {"listId": 8, "messageId": 2, "sendDate": "2024-04-01T00:00:00.000000Z"}]
    selection = Selection(stream, None, stream.schema)
    units = plan.units([selection], {"messages": None}, index, records, _window(), include_test_messages=False)
    assert [(u.position, u.params, u.parent_value, u.inherited) for u in units] == [
        ([5, 7], {"messageId": 7, "listId": 5}, 7, {"listId": 5}),
        ([8, 2], {"messageId": 2, "listId": 8}, 2, {"listId": 8})]
    assert not stream.paged and stream.operation == "List/{listId}/Message/{messageId}"
    resumed = plan.units([selection], {"messages": [5, 7]}, index, records, _window(), include_test_messages=False)
    assert [u.position for u in resumed] == [[8, 2]]


def test_rest_messages_walk_the_index_beside_the_activity_and_the_index_is_never_a_group():
    from tap_listrak.streams import by_name
    streams = by_name("rest")
    selections = [Selection(streams[name], None, streams[name].schema)
                  for name in ("lists", "messages", "message_activity", "message_links", "message_summaries")]
    assert [[s.stream.name for s in group] for group in plan.groups(selections, None)] == [
        ["lists"], ["messages", "message_activity"], ["message_summaries"], ["message_links"]]
