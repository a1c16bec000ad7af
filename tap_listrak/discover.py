"""Discovery: check that the credentials work (one call), then print the catalog."""
from __future__ import annotations

import logging

from tap_listrak.catalog import build_catalog
from tap_listrak.client import ListrakClient

LOGGER = logging.getLogger(__name__)


def discover(client: ListrakClient) -> dict:
    lists = client.items("GetContactListCollection")
    LOGGER.info("Credentials accepted; the user can see %d list(s)", len(lists))
    return build_catalog()
