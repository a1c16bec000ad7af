"""The collected parents: what is kept of them once their own records are handed out."""
import datetime as dt

from tap_listrak import plan
from tap_listrak.config import parse_config
from tap_listrak.parents import Parents
from tap_listrak.streams import STREAMS_BY_NAME

UTC = dt.timezone.utc


def test_release_keeps_only_what_children_and_the_walk_read_and_changes_no_record_handed_out():
    config = parse_config({"username": "u", "password": "p", "start_date": "2024-01-01"})
    run = plan.RunWindow(dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 7, 1, tzinfo=UTC),
                         dt.timedelta(days=30), lambda value: value)
    parents = Parents(config, client=None, run=run, shapers={})
    messages = STREAMS_BY_NAME["messages"]
    full = [{"ListID": 11, "SendDate": "2024-02-01T00:00:00.000000Z", "MsgID": 2, "Subject": "Sale",
             "OpenCount": 40, "Statistics": {"big": "x" * 100}}]
    parents._records["messages"] = full
    handed_out = parents.records(messages)
    parents.release(messages)
    assert parents.records(messages) == [{"ListID": 11, "SendDate": "2024-02-01T00:00:00.000000Z", "MsgID": 2}]
    assert handed_out[0]["Subject"] == "Sale" and handed_out[0]["OpenCount"] == 40


class _WindowedReports:
    """A client answering ReportListMessageActivity from a fixed set of messages per list, whatever
    the window (the reader's own window bounds decide which window a message belongs to)."""

    def __init__(self, messages_by_list: dict[int, list[dict]]):
        self.messages_by_list = messages_by_list

    def request(self, operation, **params):
        from tap_listrak.replies import Page

        items = [dict(item) for item in self.messages_by_list[params["ListID"]]]
        return Page(len(items), items)


def _message(list_id: int, msg_id: int, day: int, subject: str = "Sale") -> dict:
    return {"ListID": list_id, "MsgID": msg_id, "SendDate": f"2024-{day // 28 + 1:02d}-{day % 28 + 1:02d}T00:00:00",
            "Subject": subject, "OpenCount": msg_id * 10}


def _parents(messages_by_list, written):
    from tap_listrak.transform import DateReader, RecordShaper

    config = parse_config({"username": "u", "password": "p", "start_date": "2024-01-01", "interval_days": 30})
    run = plan.RunWindow(dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 7, 1, tzinfo=UTC),
                         dt.timedelta(days=0), lambda value: value)
    stream = STREAMS_BY_NAME["messages"]
    shapers = {"messages": RecordShaper(stream.date_fields, stream.number_fields, DateReader(UTC))}
    parents = Parents(config, _WindowedReports(messages_by_list), run, shapers, written=written)
    parents._records["lists"] = [{"ListID": list_id} for list_id in sorted(messages_by_list)]
    return parents, stream


def test_a_windowed_stream_keeps_only_its_index_in_memory_and_its_records_spooled_per_list():
    later_first = [_message(11, 5, 100), _message(11, 4, 3), _message(11, 4, 3, "listed twice: the last counts")]
    parents, messages = _parents({11: later_first, 22: [_message(22, 9, 50)]}, written={"messages"})
    index = parents.records(messages)
    assert index == [{"ListID": 11, "SendDate": "2024-01-04T00:00:00.000000Z", "MsgID": 4},
                     {"ListID": 11, "SendDate": "2024-04-17T00:00:00.000000Z", "MsgID": 5},
                     {"ListID": 22, "SendDate": "2024-02-23T00:00:00.000000Z", "MsgID": 9}]
    shares = parents.shares(messages)
    assert sorted(shares) == [11, 22]
    assert [(r["MsgID"], r["Subject"], r["OpenCount"]) for r in shares[11]] == [
        (4, "listed twice: the last counts", 40), (5, "Sale", 50)]  # whole records, in send order
    assert [r["MsgID"] for r in shares[22]] == [9]
    assert parents.shares(messages) == {}  # handed over once


def test_a_windowed_stream_read_only_for_its_children_keeps_no_records():
    parents, messages = _parents({11: [_message(11, 4, 3)]}, written=set())
    assert [entry["MsgID"] for entry in parents.records(messages)] == [4]
    assert parents.shares(messages) == {}
