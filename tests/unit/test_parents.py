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
