"""The runner with fake units and a stand-in client: order, STATE after each unit, skips, bounds."""
import datetime as dt
import io
import json

from tap_listrak import plan
from tap_listrak.catalog import Selection
from tap_listrak.errors import NotFoundError
from tap_listrak.output import SingerWriter
from tap_listrak.progress import Progress
from tap_listrak.runner import Group, Runner
from tap_listrak.state import State
from tap_listrak.streams import STREAMS_BY_NAME
from tap_listrak.transform import DateReader, RecordShaper

UTC = dt.timezone.utc
START, END = dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 7, 1, tzinfo=UTC)
OPENS = STREAMS_BY_NAME["message_opens"]


class PagesByMsgID:
    """Answers client.pages() from a table, each page read in one batch; a missing MsgID is Listrak's
    not-found fault."""

    def __init__(self, pages: dict[int, list[list[dict]]]):
        self.table = pages

    def pages(self, operation, collect, **params):
        if params["MsgID"] not in self.table:
            raise NotFoundError("Listrak says the object no longer exists (404 - File or directory not found.)")
        for page in self.table[params["MsgID"]]:
            read = collect()
            read.extend([dict(item) for item in page])
            yield read


def _open(day: int, email: str) -> dict:
    return {"ContactID": "1", "EmailAddress": email, "OpenDate": f"2024-0{day}-01T00:00:00"}


def _run(table, msg_ids, workers=4, fields=None):
    out, state = io.StringIO(), State()
    run = plan.RunWindow(START, END, dt.timedelta(days=30), lambda value: value)
    shapers = {"message_opens": RecordShaper(OPENS.date_fields, (), DateReader(UTC))}
    runner = Runner(PagesByMsgID(table), SingerWriter(out), state, run, shapers, Progress(terminal=False), workers)
    units = [plan.Unit(Selection(OPENS, fields, OPENS.schema), [1, "2024-01-01", msg_id], {"MsgID": msg_id}, msg_id)
             for msg_id in msg_ids]
    runner.run_groups([Group("message_opens", units)])
    return [json.loads(line) for line in out.getvalue().splitlines()], runner


def test_records_in_unit_order_and_a_state_after_each_unit():
    table = {7: [[_open(2, "a@x")], [_open(3, "b@x")]], 8: [[_open(4, "c@x")]], 9: [[]]}
    messages, _ = _run(table, [7, 8, 9])
    kinds = [(m["type"], m["record"]["EmailAddress"] if m["type"] == "RECORD" else
              m["value"]["bookmarks"]["message_opens"]["position"][-1]) for m in messages]
    assert kinds == [("RECORD", "a@x"), ("RECORD", "b@x"), ("STATE", 7), ("RECORD", "c@x"), ("STATE", 8),
                     ("STATE", 9)]
    first = messages[0]["record"]
    assert first["MsgID"] == 7 and first["OpenDate"] == "2024-02-01T00:00:00.000000Z"


def test_records_outside_the_window_are_dropped_and_fields_projected():
    table = {7: [[_open(2, "in@x"), {**_open(2, "early@x"), "OpenDate": "2023-12-31T23:59:59"},
                  {**_open(2, "late@x"), "OpenDate": "2024-07-01T00:00:00"}]]}
    messages, _ = _run(table, [7], fields=frozenset({"MsgID", "EmailAddress", "OpenDate"}))
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    assert records == [{"EmailAddress": "in@x", "OpenDate": "2024-02-01T00:00:00.000000Z", "MsgID": 7}]


def test_a_vanished_unit_is_skipped_named_and_its_position_still_moves():
    messages, runner = _run({7: [[_open(2, "a@x")]], 9: [[_open(5, "z@x")]]}, [7, 8, 9], workers=1)
    assert runner.skipped == ["message_opens of MsgID 8"]
    positions = [m["value"]["bookmarks"]["message_opens"]["position"][-1] for m in messages if m["type"] == "STATE"]
    assert positions == [7, 8, 9]


class GatedPages(PagesByMsgID):
    """Like PagesByMsgID, and notes which MsgIDs were asked for before `gate` was released."""

    def __init__(self, pages, gate):
        super().__init__(pages)
        self.gate = gate
        self.asked_before_gate = []

    def pages(self, operation, collect, **params):
        if not self.gate.is_set():
            self.asked_before_gate.append(params["MsgID"])
        if params["MsgID"] == 7:
            assert self.gate.wait(5), "the first group's unit was never released"
        yield from super().pages(operation, collect, **params)


def test_groups_run_as_one_line_and_write_in_order():
    import threading


    gate = threading.Event()
    table = {7: [[_open(2, "a@x")]], 8: [[_open(3, "b@x")]], 9: [[_open(4, "c@x")]]}
    client = GatedPages(table, gate)
    out, state = io.StringIO(), State()
    run = plan.RunWindow(START, END, dt.timedelta(days=30), lambda value: value)
    shapers = {"message_opens": RecordShaper(OPENS.date_fields, (), DateReader(UTC))}
    writer = SingerWriter(out)
    runner = Runner(client, writer, state, run, shapers, Progress(terminal=False), 4)

    def unit(msg_id):
        return plan.Unit(Selection(OPENS, None, OPENS.schema), [1, "2024-01-01", msg_id], {"MsgID": msg_id}, msg_id)

    events = []

    def mark(name):
        def action():
            events.append((name, [json.loads(line)["record"]["EmailAddress"]
                                  for line in out.getvalue().splitlines() if '"RECORD"' in line]))
            if name == "first started":
                # The second group's units are already on the pool while the first one waits.
                for _ in range(100):
                    if set(client.asked_before_gate) >= {8, 9}:
                        break
                    threading.Event().wait(0.02)
                gate.set()
        return action

    runner.run_groups([Group("first", [unit(7)], mark("first started"), mark("first finished")),
                       Group("second", [unit(8), unit(9)], mark("second started"), mark("second finished"))])
    assert set(client.asked_before_gate) >= {8, 9}
    assert events == [("first started", []), ("first finished", ["a@x"]), ("second started", ["a@x"]),
                      ("second finished", ["a@x", "b@x", "c@x"])]
