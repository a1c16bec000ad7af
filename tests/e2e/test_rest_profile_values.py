"""REST contacts with every profile value: each list's segmentation fields read first, then its contacts asked
once per group of up to 30 field ids (one cursor walk each) and merged per contact, against the emulator's
truth merged the same way, with 0, 12 and 65 fields on every list."""
from __future__ import annotations

import math
from collections import Counter

import pytest

from tap_listrak.catalog import build_catalog
from tap_listrak.streams import REST, by_name
from tests.conftest import SMALL_REST_DATASET
from tests.e2e.tap_runner import canonical, catalog_selecting, run_tap
from tests.e2e.test_rest_sync import expected, rest_config

CONTACTS = by_name(REST)["contacts"]
PAGE = 20  # the emulator's largest page: several pages per walk


@pytest.mark.parametrize("fields", [0, 12, 65])
def test_every_contact_carries_every_profile_value_of_its_list(tmp_path, rest_emulator_factory, fields):
    emulator = rest_emulator_factory(**SMALL_REST_DATASET, segmentation_fields=fields, max_count=PAGE)
    done = run_tap(tmp_path, rest_config(emulator), catalog_selecting(["contacts"], base=build_catalog(REST)))
    assert done.returncode == 0, done.stderr[-3000:]
    records = done.records("contacts")
    assert canonical(records) == canonical(expected(emulator, CONTACTS))
    counts = [len(record["segmentationFieldValues"]) for record in records]
    assert records and (max(counts) == 0 if fields == 0 else 0 < max(counts) <= fields)
    if fields == 65:
        assert max(counts) > 30  # values from more than one walk in one record
    for record in records:
        ids = [value["segmentationFieldId"] for value in record["segmentationFieldValues"]]
        assert ids == sorted(set(ids))
    # lists × states × (ceil(fields / 30) walks, one without the parameter for none) × the pages of each walk
    served = Counter((entry["params"]["listId"], entry["params"]["subscriptionState"])
                     for entry in emulator.truth(["contacts"])["contacts"])
    pairs = [(list_id, state) for list_id in emulator.account.list_ids() for state in ("Subscribed", "Unsubscribed")]
    pages = sum(max(1, math.ceil(served[pair] / PAGE)) for pair in pairs)
    walks = max(1, math.ceil(fields / 30))
    requests = emulator.stats()["requests"]
    assert requests["Contact_GetContactCollection"] == {"200": walks * pages}
    assert sum(requests.get("SegmentationField_GetSegmentationFieldCollection", {}).values()) == \
        len(emulator.account.list_ids()) * math.ceil(fields / 20)  # one per group of fields
