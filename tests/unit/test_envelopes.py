"""Request bodies filled into zeep-built templates equal zeep's own rendering, byte for byte."""
import datetime as dt
import random

import pytest

from tap_listrak.client import load_wsdl
from tap_listrak.envelopes import NS, Envelopes

BINDING = f"{{{NS}}}IntegrationServiceSoap"
STAMP = dt.datetime(2024, 1, 31, 23, 59, 59)
OPERATIONS = {
    "GetContactListCollection": {},
    "ReportListMessageActivity": {"ListID": 5001, "StartDate": STAMP, "EndDate": STAMP, "IncludeTestMessages": False},
    "ReportMessageContactSent": {"MsgID": 1, "Page": 1},
    "ReportRangeMessageContactOpen": {"MsgID": 1, "StartDate": STAMP, "EndDate": STAMP, "Page": 1},
    "ReportRangeSubscribedContacts": {"ListID": 1, "StartDate": STAMP, "EndDate": STAMP, "Page": 1},
    "ReportListConversationActivity": {"ListID": 1, "IncludeTerminated": True},
    "GetMessageAnalyticsInformation": {"MsgIDs": {"int": [1, 2, 3]}},
    "ReportAdminContactFeedbackLoop": {"StartDate": STAMP, "EndDate": STAMP, "Page": 2},
}


@pytest.fixture(scope="module")
def envelopes():
    client = load_wsdl()
    service = client.create_service(BINDING, "http://127.0.0.1/x.asmx")
    header = client.get_element(f"{{{NS}}}WSUser")(UserName="user & <co>", Password="p\"w'd")
    return Envelopes(client, service, header)


def _vary(params: dict, rng: random.Random) -> dict:
    varied = {}
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, (int, dt.datetime)):
            varied[name] = value
        elif isinstance(value, int):
            varied[name] = rng.choice([0, 1, 7, 2147483647, -5, rng.randrange(1, 10**9)])
        else:
            varied[name] = dt.datetime(rng.randrange(1, 9999), rng.randrange(1, 13), rng.randrange(1, 29),
                                       rng.randrange(24), rng.randrange(60), rng.randrange(60),
                                       rng.choice([0, 0, 1, 123456, 999999]))
    return varied


@pytest.mark.parametrize("operation", OPERATIONS)
def test_filled_templates_equal_zeeps_rendering(envelopes, operation):
    rng = random.Random(operation)
    for _ in range(50):
        params = _vary(OPERATIONS[operation], rng)
        assert envelopes.body(operation, params) == envelopes.render(operation, params)


def test_a_boolean_is_part_of_the_template_not_a_marker(envelopes):
    base = OPERATIONS["ReportListMessageActivity"]
    for flag in (True, False, True):
        params = {**base, "IncludeTestMessages": flag}
        assert envelopes.body("ReportListMessageActivity", params) == envelopes.render("ReportListMessageActivity",
                                                                                      params)
