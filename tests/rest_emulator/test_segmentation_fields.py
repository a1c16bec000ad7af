"""--segmentation-fields N: every list has N profile fields, served by the field routes and as contact values
(at most 30 ids a request); the truth asks more than 30 in groups of 30 and merges them per contact."""
from __future__ import annotations

import pytest

from tests.rest_emulator.client import Api
from tests.rest_emulator.options import add_knobs, cli_args, specs_from_args

SMALL = dict(lists=2, messages_per_list=2, recipients=10, subscribers_per_list=25)


def _field_ids(api: Api, list_id: int) -> list[int]:
    ids = []
    for group in api.get(f"/List/{list_id}/SegmentationFieldGroup").body["data"]:
        fields = api.get(f"/List/{list_id}/SegmentationFieldGroup/{group['segmentationFieldGroupId']}"
                         "/SegmentationField").body["data"]
        ids += [field["segmentationFieldId"] for field in fields]
    return ids


@pytest.mark.parametrize("count", [0, 12, 65])
def test_every_list_has_the_fields_asked_for(rest_emulator_factory, count):
    emulator = rest_emulator_factory(**SMALL, segmentation_fields=count)
    api = Api(emulator)
    for list_id in emulator.account.list_ids():
        ids = _field_ids(api, list_id)
        assert len(ids) == len(set(ids)) == count


def test_the_truth_merges_every_field_of_a_list_asked_thirty_at_a_time(rest_emulator_factory):
    emulator = rest_emulator_factory(**SMALL, segmentation_fields=65)
    api = Api(emulator)
    list_id = emulator.account.list_ids()[0]
    ids = sorted(_field_ids(api, list_id))
    # The route refuses more than 30 ids; the truth asks 30, 30 and 5 and merges them.
    assert api.get(f"/List/{list_id}/Contact", segmentationFieldIds=",".join(map(str, ids[:31]))).status == 400
    merged = [entry["item"] for entry in emulator.truth(["contacts"], list_ids=[list_id],
                                                         subscription_states=("Subscribed",),
                                                         segmentation_field_ids="all")["contacts"]]
    walks = [api.get_all(f"/List/{list_id}/Contact", segmentationFieldIds=",".join(map(str, ids[i:i + 30])))[0]
             for i in (0, 30, 60)]
    assert [c["emailAddress"] for c in merged] == [c["emailAddress"] for c in walks[0]]
    for contact, *parts in zip(merged, *walks):
        values = [v for part in parts for v in part["segmentationFieldValues"]]
        assert contact["segmentationFieldValues"] == sorted(values, key=lambda v: v["segmentationFieldId"])
        assert {k: v for k, v in contact.items() if k != "segmentationFieldValues"} == \
            {k: v for k, v in parts[0].items() if k != "segmentationFieldValues"}
    every = [v for c in merged for v in c["segmentationFieldValues"]]
    assert {v["segmentationFieldId"] for v in every} == set(ids)  # each field has a value on some contact
    assert all(0 < len(c["segmentationFieldValues"]) < 65 for c in merged)  # a contact lacks a few


def test_the_knob_round_trips_through_the_command_line():
    import argparse
    parser = argparse.ArgumentParser()
    add_knobs(parser)
    dataset, server = specs_from_args(parser.parse_args(["--segmentation-fields", "65"]))
    assert dataset.segmentation_fields == 65 and "--segmentation-fields" in cli_args(dataset, server)
    assert specs_from_args(parser.parse_args([]))[0].segmentation_fields is None
    with pytest.raises(ValueError):
        specs_from_args(parser.parse_args(["--segmentation-fields", "981"]))
