"""The state: checked on the way in, progress kept per run window, everything unknown carried over."""
import copy
import datetime as dt
import json

import pytest

from tap_listrak.errors import StateError
from tap_listrak.state import State, validate

UTC = dt.timezone.utc
START = dt.datetime(2024, 1, 1, tzinfo=UTC)
END = dt.datetime(2024, 6, 1, 12, 30, tzinfo=UTC)
S, E = "2024-01-01T00:00:00.000000Z", "2024-06-01T12:30:00.000000Z"
OTHER_END = dt.datetime(2024, 6, 2, tzinfo=UTC)


def rich_state() -> dict:
    """A state another version of the tap (or a state backend) might hand back."""
    return {
        "currently_syncing": "message_opens",
        "written_by": {"tool": "meltano", "run": 17},
        "bookmarks": {
            "lists": {"run_start": S, "run_end": E, "complete": True},
            "message_opens": {"run_start": S, "run_end": E, "position": [12, "2024-02-01T00:00:00.000000Z", 900],
                              "note": {"kept": [1, 2]}},
            "message_bounces": {"run_start": S, "run_end": E, "position": [12]},
            "retired_stream": {"run_start": S, "run_end": "not a date", "position": {"odd": True}},
            "another_tap_stream": ["whatever", 1],
        },
    }


# -- validation -------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [[], [{"bookmarks": {}}], "state", 0, 1, True, False, ""])
def test_state_must_be_an_object(raw):
    with pytest.raises(StateError, match="JSON object"):
        State(raw)
    with pytest.raises(StateError):
        validate(raw)


def test_no_state_or_an_empty_one():
    for raw in (None, {}):
        state = State(raw)
        assert state.value == {"bookmarks": {}, "currently_syncing": None}
        assert state.position("lists", START, END) is None and state.resumable_end(START, {"lists"}) is None


@pytest.mark.parametrize("raw, names", [
    ({"bookmarks": []}, "'bookmarks'"),
    ({"bookmarks": "lists"}, "'bookmarks'"),
    ({"currently_syncing": 3}, "'currently_syncing'"),
    ({"currently_syncing": ["lists"]}, "'currently_syncing'"),
    ({"bookmarks": {"lists": "complete"}}, "'lists'"),
    ({"bookmarks": {"lists": None}}, "'lists'"),
    ({"bookmarks": {"messages": {"run_start": "2024-01-01"}}}, "messages.run_start"),
    ({"bookmarks": {"messages": {"run_start": "2024-01-01T00:00:00Z"}}}, "messages.run_start"),
    ({"bookmarks": {"messages": {"run_start": 1704067200}}}, "messages.run_start"),
    ({"bookmarks": {"messages": {"run_start": S, "run_end": "tomorrow"}}}, "messages.run_end"),
    ({"bookmarks": {"message_opens": {"position": "12"}}}, "message_opens.position"),
    ({"bookmarks": {"message_opens": {"position": []}}}, "message_opens.position"),
    ({"bookmarks": {"message_opens": {"position": [12, 1.5]}}}, "message_opens.position"),
    ({"bookmarks": {"message_opens": {"position": [12, None]}}}, "message_opens.position"),
    ({"bookmarks": {"message_opens": {"position": [[12]]}}}, "message_opens.position"),
    ({"bookmarks": {"message_opens": {"position": {"ListID": 12}}}}, "message_opens.position"),
    ({"bookmarks": {"message_opens": {"replication_key_value": "yesterday"}}}, "message_opens.replication_key_value"),
    ({"bookmarks": {"message_opens": {"replication_key_value": 1704067200}}}, "message_opens.replication_key_value"),
])
def test_bad_shapes_are_state_errors_naming_the_place(raw, names):
    with pytest.raises(StateError) as caught:
        State(raw)
    assert names in str(caught.value)
    assert "\n" not in str(caught.value)


def test_good_shapes_pass():
    state = State(rich_state())
    assert state.currently_syncing == "message_opens"
    validate({"bookmarks": {"message_opens": {"run_start": S, "run_end": E, "position": [1, "x", 2]}},
              "currently_syncing": None})


def test_unknown_streams_are_not_checked():
    # Not ours to judge: another tap's or an older version's bookmarks.
    foreign = {"retired_stream": "anything", "x": {"run_start": 5, "position": "?"},
               "old_opens": {"run_start": S, "run_end": E, "position": "?", "replication_key_value": "today"}}
    state = State({"bookmarks": copy.deepcopy(foreign)})
    assert state.value == {"bookmarks": foreign, "currently_syncing": None}
    assert validate({"bookmarks": copy.deepcopy(foreign)}) == {"bookmarks": foreign}
    # They are never read either: no run to resume from a foreign bookmark of this very window ...
    assert state.resumable_end(START, {"old_opens", "x", "retired_stream"}) is None
    # ... and handed on as they came, through a whole run of the tap's own streams.
    state.set_position("lists", START, END, [5])
    state.set_replicated_until("message_opens", "OpenDate", END)
    state.clear_positions()
    assert state.value["bookmarks"] == {**foreign, "message_opens": {"replication_key": "OpenDate",
                                                                     "replication_key_value": E}}
    # The same shapes under a stream of this tap are refused: the leniency is for foreign names only.
    for name in ("lists", "message_opens"):
        with pytest.raises(StateError, match=name):
            State({"bookmarks": {name: foreign["old_opens"]}})


def test_the_input_is_not_changed():
    raw = rich_state()
    before = copy.deepcopy(raw)
    state = State(raw)
    state.set_position("message_opens", START, OTHER_END, [1])
    state.set_complete("message_bounces", START, END)
    state.clear_positions()
    assert raw == before


# -- carrying over what the tap does not know -------------------------------------------------------
def test_unknown_keys_survive_set_position_in_the_same_window():
    state = State(rich_state())
    state.set_position("message_opens", START, END, [13, "2024-03-01T00:00:00.000000Z", 901])
    expected = rich_state()
    expected["bookmarks"]["message_opens"]["position"] = [13, "2024-03-01T00:00:00.000000Z", 901]
    assert state.value == expected


def test_unknown_keys_survive_a_new_window():
    state = State(rich_state())
    state.set_position("message_opens", START, OTHER_END, [1])
    bookmark = state.value["bookmarks"]["message_opens"]
    assert bookmark == {"run_start": S, "run_end": "2024-06-02T00:00:00.000000Z", "position": [1],
                        "note": {"kept": [1, 2]}}
    state.set_position("lists", START, OTHER_END, [5])   # the old window's "complete" must not count any more
    assert state.value["bookmarks"]["lists"] == {"run_start": S, "run_end": "2024-06-02T00:00:00.000000Z",
                                                 "position": [5]}
    assert state.position("lists", START, OTHER_END) == [5]
    untouched = rich_state()
    for name in ("retired_stream", "another_tap_stream", "message_bounces"):
        assert state.value["bookmarks"][name] == untouched["bookmarks"][name]
    assert state.value["written_by"] == untouched["written_by"]


def test_unknown_keys_survive_set_complete():
    state = State(rich_state())
    state.set_complete("message_opens", START, END)
    assert state.value["bookmarks"]["message_opens"] == {"run_start": S, "run_end": E, "complete": True,
                                                         "note": {"kept": [1, 2]}}
    assert state.value["written_by"] == {"tool": "meltano", "run": 17}


def test_clear_positions_drops_only_positions():
    state = State(rich_state())
    state.clear_positions()
    untouched = rich_state()
    assert state.value == {
        "currently_syncing": None,
        "written_by": untouched["written_by"],
        "bookmarks": {
            # lists and message_bounces held nothing but progress: gone
            "message_opens": {"note": {"kept": [1, 2]}},
            "retired_stream": untouched["bookmarks"]["retired_stream"],
            "another_tap_stream": untouched["bookmarks"]["another_tap_stream"],
        },
    }
    json.dumps(state.value)  # still a JSON value for the STATE message


# -- progress ---------------------------------------------------------------------------------------
def test_progress_counts_only_for_the_same_window():
    state = State(rich_state())
    assert state.position("message_opens", START, END) == [12, "2024-02-01T00:00:00.000000Z", 900]
    assert state.position("lists", START, END) == "complete"
    assert state.position("message_opens", START, OTHER_END) is None
    assert state.position("message_opens", START + dt.timedelta(microseconds=1), END) is None
    assert state.position("messages", START, END) is None          # no bookmark
    assert state.position("retired_stream", START, END) is None    # not ours


def test_progress_compares_instants_in_any_offset():
    state = State(rich_state())
    eastern = dt.timezone(dt.timedelta(hours=-5))
    assert state.position("lists", START.astimezone(eastern), END.astimezone(eastern)) == "complete"


def test_progress_after_writing():
    state = State()
    state.set_position("subscribed_contacts", START, END, [7])
    assert state.position("subscribed_contacts", START, END) == [7]
    state.set_position("subscribed_contacts", START, END, [9])
    assert state.position("subscribed_contacts", START, END) == [9]
    state.set_complete("subscribed_contacts", START, END)
    assert state.position("subscribed_contacts", START, END) == "complete"
    assert "position" not in state.value["bookmarks"]["subscribed_contacts"]
    state.clear_positions()
    assert state.position("subscribed_contacts", START, END) is None
    assert state.value == {"bookmarks": {}, "currently_syncing": None}


def test_written_state_reads_back():
    state = State()
    state.set_syncing("message_clicks")
    state.set_position("message_clicks", START, END, [3, "2024-02-01T00:00:00.000000Z", 44])
    again = State(json.loads(json.dumps(state.value)))
    assert again.currently_syncing == "message_clicks"
    assert again.position("message_clicks", START, END) == [3, "2024-02-01T00:00:00.000000Z", 44]
    assert again.resumable_end(START, {"message_clicks"}) == END
    assert again.resumable_end(START, {"lists", "messages"}) is None   # not selected now: no trace


# -- resuming ---------------------------------------------------------------------------------------
def test_resumable_end_is_the_interrupted_runs_end():
    state = State(rich_state())
    end = state.resumable_end(START, {"message_opens"})
    assert end == END and end.tzinfo is not None
    assert state.resumable_end(START + dt.timedelta(days=1), {"message_opens"}) is None


def test_resumable_end_ignores_bookmarks_of_other_streams():
    # retired_stream's run_start matches but its run_end is not the tap's to read.
    raw = {"bookmarks": {"retired_stream": {"run_start": S, "run_end": "not a date"}}}
    assert State(raw).resumable_end(START, {"retired_stream", "lists"}) is None
    raw = {"bookmarks": {"retired_stream": {"run_start": S, "run_end": 42}}}
    assert State(raw).resumable_end(START, {"retired_stream", "lists"}) is None


def test_resumable_end_needs_an_end():
    state = State({"bookmarks": {"lists": {"run_start": S}}})
    assert state.resumable_end(START, {"lists"}) is None


def test_resumable_end_reads_only_streams_selected_now():
    state = State(rich_state())
    assert state.resumable_end(START, {"lists"}) == END          # lists finished in that window
    assert state.resumable_end(START, {"messages", "subscribed_contacts"}) is None


# -- the replication bookmark ---------------------------------------------------------------------
def test_a_state_without_a_replication_bookmark_has_none():
    # A state written before INCREMENTAL existed, or by a FULL_TABLE run of a stream without a key.
    state = State({"bookmarks": {"message_opens": {"run_start": S, "run_end": E, "complete": True}}})
    assert state.replicated_until("message_opens") is None
    assert state.replicated_until("message_clicks") is None


def test_the_replication_bookmark_reads_back_in_any_iso_form():
    state = State({"bookmarks": {"message_opens": {"replication_key": "OpenDate",
                                                   "replication_key_value": "2024-06-01T14:30:00+02:00"}}})
    assert state.replicated_until("message_opens") == END


def test_setting_the_replication_bookmark_keeps_the_rest_and_survives_clearing_positions():
    state = State(rich_state())
    state.set_replicated_until("message_opens", "OpenDate", END)
    state.clear_positions()
    bookmark = state.value["bookmarks"]["message_opens"]
    assert bookmark["replication_key"] == "OpenDate" and bookmark["replication_key_value"] == E
    assert "position" not in bookmark and bookmark["note"] == {"kept": [1, 2]}
    assert State(json.loads(json.dumps(state.value))).replicated_until("message_opens") == END
