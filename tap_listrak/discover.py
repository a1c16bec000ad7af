"""Discovery: check that the credentials work (one call), then print the catalog."""
from __future__ import annotations

import logging

from tap_listrak.catalog import build_catalog
from tap_listrak.streams import table

LOGGER = logging.getLogger(__name__)


def discover(client, api: str = "soap") -> dict:
    """`client`: the SOAP or the REST client of the config's API; its root stream (the lists) is read."""
    root = next(stream for stream in table(api) if stream.parent is None and stream.collected)
    lists = client.items(root.operation)
    LOGGER.info("Credentials accepted; the %s can see %d list(s)", "integration" if api == "rest" else "user",
                len(lists))
    return build_catalog(api)
