"""The recorded bodies (fact sheet §3.3/§3.4: lists, contacts, events, unsubscribing) in shape, and the account
shared with the SOAP emulator."""
from __future__ import annotations

import re

from tests.emulator.data import Dataset
from tests.emulator.spec import DatasetSpec
from tests.rest_emulator.client import Api
from tests.rest_emulator.swagger import item_order

RECORDED_LIST_KEYS_2018 = [k for k in item_order("List_GetListCollection") if k != "enableUniversalEmailKeySetting"]


def test_lists_as_recorded(rest_emulator):
    reply = Api(rest_emulator).get("/List")
    assert reply.headers["content-type"] == "application/json; charset=utf-8"
    assert reply.headers["server"] == "Microsoft-IIS/8.5" and reply.headers["x-powered-by"] == "ASP.NET"
    assert reply.raw.startswith(b'{"status":200,"data":[{"listId":')
    for item in reply.body["data"]:
        assert [k for k in item if k != "enableUniversalEmailKeySetting"] == RECORDED_LIST_KEYS_2018
        for key in ("bounceDomainAlias", "fromEmail", "fromName", "linkDomainAlias", "mediaDomainAlias"):
            assert isinstance(item[key], str)  # unset strings are "", never null
        assert isinstance(item["googleTrackingDomains"], list)
    assert any(item["fromName"] == "" for item in reply.body["data"])


def test_contacts_as_recorded(rest_emulator):
    api = Api(rest_emulator)
    subscribed = api.get_all("/List/5001/Contact")[0]
    for c in subscribed:
        assert re.fullmatch(r"[0-9A-F]{26}", c["emailKey"]) and re.fullmatch(r"[0-9a-f]{64}", c["universalEmailKey"])
        assert c["segmentationFieldValues"] == [] and c["subscriptionState"] == "Subscribed"
        assert c["unsubscribeDate"] is None and c["unsubscribeMethod"] is None
    one = api.get(f"/List/5001/Contact/{subscribed[0]['emailKey']}").body["data"]
    assert one == subscribed[0]  # by email key as by address


def test_unsubscribing_as_recorded(rest_emulator):
    unsubscribed = Api(rest_emulator).get_all("/List/5001/Contact", subscriptionState="Unsubscribed")[0]
    assert unsubscribed
    for c in unsubscribed:
        assert c["subscriptionState"] == "Unsubscribed" and c["subscribeMethod"] is None
        assert c["unsubscribeDate"] > c["subscribeDate"] and c["unsubscribeMethod"]


def test_events_as_recorded(rest_emulator):
    events = Api(rest_emulator).get("/List/5001/Event").body["data"]
    assert any(e["eventGroupId"] == 0 for e in events) and any(e["eventGroupId"] for e in events)
    assert {e["status"] for e in events} == {"Active", "Blocked"}


def test_the_same_account_as_the_soap_emulator(rest_emulator):
    soap = Dataset(DatasetSpec(lists=3, messages_per_list=6, recipients=40, subscribers_per_list=60,
                               timezone="America/New_York"))
    api = Api(rest_emulator)
    assert [x["listId"] for x in api.get("/List").body["data"]] == soap.list_ids()
    for li, list_id in enumerate(soap.list_ids()):
        rest = api.get_all(f"/List/{list_id}/Message", includeTestMessages="true")[0]
        assert [m["messageId"] for m in rest] == [m.MsgID for m in soap.messages(li)]
        emails = {c.email for c in soap.subscribers(li)}
        assert {c["emailAddress"] for c in api.get_all(f"/List/{list_id}/Contact")[0]} <= emails
    m = soap.messages(0)[0]
    activity = api.get_all(f"/List/5001/Message/{m.MsgID}/Activity")[0]
    events = soap.events(0, m.index)
    assert [r["emailAddress"] for r in activity] == [c.email for c in soap.recipients(0, m.index)]
    assert sum(r["clickCount"] for r in activity) == len(events.clicks)
    assert sum(r["open"] for r in activity) == len({e.email for e in events.opens})
