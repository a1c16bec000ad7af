"""Dates out (Eastern wall time, no offset, Json.NET fraction) and startDate/endDate in."""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from tests.emulator.times import Clock
from tests.rest_emulator.client import Api
from tests.rest_emulator.times import parse_request_date, render

NY = Clock("America/New_York")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d*[1-9])?$")


def test_rendering_is_eastern_wall_time_without_offset():
    # The recorded unsubscribe: 17:44:40 GMT on 14 January 2019 came back as 12:44:40.
    assert render(datetime(2019, 1, 14, 17, 44, 40), NY) == "2019-01-14T12:44:40"
    assert render(datetime(2015, 8, 31, 20, 2, 41, 650000), NY) == "2015-08-31T16:02:41.65"  # EDT, trimmed
    assert render(datetime(2015, 8, 31, 20, 2, 41, 650000), NY, "milliseconds") == "2015-08-31T16:02:41.650"
    assert render(datetime(2015, 8, 31, 20, 2, 41, 650000), NY, "seconds") == "2015-08-31T16:02:41"
    assert render(datetime.min, NY) == "0001-01-01T00:00:00"
    assert render(None, NY) is None


@pytest.mark.parametrize("text, utc", [
    ("2024-01-05", datetime(2024, 1, 5, 5)),
    ("2024-07-05T13:04:05", datetime(2024, 7, 5, 17, 4, 5)),
    ("2024-07-05T13:04:05.25", datetime(2024, 7, 5, 17, 4, 5, 250000)),
    ("2024-07-05T13:04:05Z", datetime(2024, 7, 5, 13, 4, 5)),
    ("2024-07-05T13:04:05+02:00", datetime(2024, 7, 5, 11, 4, 5)),
    ("07-05-2024", datetime(2024, 7, 5, 4)),
    ("7/5/2024 1:04:05 PM", datetime(2024, 7, 5, 17, 4, 5)),
])
def test_request_dates_in_the_forms_clients_send(text, utc):
    assert parse_request_date(text, NY) == utc


def test_the_request_zone_knob():
    assert parse_request_date("2024-01-05", NY, "utc") == datetime(2024, 1, 5)


def test_every_served_date_has_the_wire_form(rest_emulator):
    truth = rest_emulator.truth()
    found = 0
    for entries in truth.values():
        for entry in entries:
            for key, value in entry["item"].items():
                if key.endswith("Date") or key in ("lastModified",):
                    if value is not None:
                        assert DATE.match(value), (key, value)
                        found += 1
    assert found > 500


def test_a_malformed_date_is_an_invalid_parameter(rest_emulator):
    reply = Api(rest_emulator).get("/List/5001/Message", startDate="yesterday")
    assert reply.status == 400 and reply.body == {"status": 400, "error": "ERROR_INVALID_PARAMETER",
                                                  "message": "An invalid value was supplied for startDate."}


def _messages(handle, **query):
    return [m["messageId"] for m in Api(handle).get_all("/List/5001/Message", **query)[0]]


@pytest.mark.parametrize("ends", ["inclusive", "exclusive", "start-exclusive", "end-exclusive"])
def test_range_ends_on_the_message_collection(rest_emulator_factory, ends):
    handle = rest_emulator_factory(lists=1, messages_per_list=6, recipients=5, range_ends=ends)
    everything = Api(handle).get_all("/List/5001/Message")[0]
    first, last = everything[0], everything[-1]
    window = dict(startDate=first["sendDate"], endDate=last["sendDate"])  # Eastern wall time, as served
    got = _messages(handle, **window)
    want = [m["messageId"] for m in everything]
    if ends in ("exclusive", "start-exclusive"):
        want = want[1:]
    if ends in ("exclusive", "end-exclusive"):
        want = want[:-1]
    assert got == want
    truth = handle.truth(["messages"], window["startDate"], window["endDate"])
    assert [e["item"]["messageId"] for e in truth["messages"]] == want


def test_the_zone_knob_sets_the_zone_the_wall_times_belong_to(rest_emulator_factory):
    """The generator makes wall times of the account's zone: the served text is the same in every zone, the
    instant it names is not (and is what a request date in another zone is compared with)."""
    eastern = rest_emulator_factory(lists=1, recipients=5)
    utc = rest_emulator_factory(lists=1, recipients=5, timezone="UTC")
    e, u = (Api(h).get("/List/5001/Message").body["data"][0] for h in (eastern, utc))
    assert e == u
    gap = eastern.data.messages(0)[0].SendDate - utc.data.messages(0)[0].SendDate
    assert gap.total_seconds() in (4 * 3600, 5 * 3600)
    instant = utc.data.messages(0)[0].SendDate.isoformat() + "Z"  # the same instant, with Z, selects it only in UTC
    assert len(Api(utc).get("/List/5001/Message", startDate=instant, endDate=instant).body["data"]) == 1
    assert Api(eastern).get("/List/5001/Message", startDate=instant, endDate=instant).body["data"] == []


def test_contact_windows_follow_the_documentation(rest_emulator):
    api = Api(rest_emulator)
    subscribed = api.get_all("/List/5001/Contact")[0]
    edge = subscribed[5]["subscribeDate"]
    inclusive = api.get_all("/List/5001/Contact", startDate=edge, endDate=edge)[0]
    assert [c["emailAddress"] for c in inclusive] == [subscribed[5]["emailAddress"]]
    # endDate exclusive when useOriginalSubscribeDate is false (on the most recent subscribe date)
    recent = api.get_all("/List/5001/Contact", startDate=edge, endDate=edge, useOriginalSubscribeDate="false")[0]
    assert subscribed[5]["emailAddress"] not in [c["emailAddress"] for c in recent]
    unsubscribed = api.get_all("/List/5001/Contact", subscriptionState="Unsubscribed")[0]
    assert unsubscribed and all(c["subscribeMethod"] is None and c["unsubscribeDate"] for c in unsubscribed)
    edge = unsubscribed[0]["unsubscribeDate"]
    got = api.get_all("/List/5001/Contact", subscriptionState="Unsubscribed", startDate=edge, endDate=edge)[0]
    assert [c["emailAddress"] for c in got] == [unsubscribed[0]["emailAddress"]]
    truth = rest_emulator.truth(["contacts"], edge, edge, list_ids=[5001], subscription_states=["Unsubscribed"])
    assert [e["item"] for e in truth["contacts"]] == got


def test_activity_date_types(rest_emulator):
    api = Api(rest_emulator)
    messages = api.get_all("/List/5001/Message")[0]
    message = messages[0]
    path = f"/List/5001/Message/{message['messageId']}/Activity"
    everything = api.get_all(path)[0]
    assert len(everything) == 40 and all(r["sendDate"] == message["sendDate"] for r in everything)
    assert api.get_all(path, startDate=message["sendDate"], endDate=message["sendDate"])[0] == everything
    active = [r for r in everything if r["activityDate"]]
    assert 0 < len(active) < len(everything)
    pivot = sorted(r["activityDate"] for r in active)[len(active) // 2]
    by_activity = api.get_all(path, dateType="Activity", startDate=pivot)[0]
    assert by_activity == [r for r in active if datetime.fromisoformat(r["activityDate"]) >=
                           datetime.fromisoformat(pivot)]
    assert api.get(path, dateType="Sometime").status == 400
    opens = api.get_all(path, activityType="Open")[0]
    assert opens == [r for r in everything if r["open"]]
    who = everything[3]["emailAddress"]
    assert api.get_all(path, emailAddress=who.upper())[0] == [everything[3]]


def test_the_clock_hides_what_did_not_exist_yet(rest_emulator_factory):
    handle = rest_emulator_factory(lists=1, messages_per_list=6, recipients=5)
    api = Api(handle)
    everything = api.get_all("/List/5001/Message")[0]
    second = datetime.fromisoformat(everything[1]["sendDate"])
    handle.set_clock(as_of=NY.to_utc(second).isoformat())
    assert [m["messageId"] for m in api.get_all("/List/5001/Message")[0]] == [m["messageId"] for m in everything[:2]]
    assert api.get(f"/List/5001/Message/{everything[3]['messageId']}").status == 404
    assert len(handle.truth(["messages"])["messages"]) == 2
    handle.set_clock(as_of=None)
    assert len(api.get_all("/List/5001/Message")[0]) == len(everything)
