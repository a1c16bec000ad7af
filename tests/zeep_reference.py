"""The reference reading of a reply: zeep's own object building, flattened to plain dicts.

The tap reads replies with lxml for speed; tests hold its records against this path."""
from lxml import etree
from zeep.helpers import serialize_object

from tap_listrak.streams import STREAMS

ITEM_TYPES = {stream.operation: stream.item_type for stream in STREAMS}


def zeep_items(zeep_client, operation: str, body: bytes) -> list[dict]:
    service = zeep_client.bind("IntegrationService", "IntegrationServiceSoap")
    reply = service._binding._operations[operation].process_reply(etree.fromstring(body))
    if reply is None:
        return []
    if not isinstance(reply, list):  # two-child wrapper: Result + WSException
        result = reply[f"{operation}Result"]
        reply = result[ITEM_TYPES[operation]] if result is not None else []
    return [_plain(serialize_object(item)) for item in reply if item is not None]


def _plain(value):
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    return value
