"""`tap-listrak --about`: name, version, capabilities and settings, in the shape Meltano's `about`
capability reads (JSON with a JSON-schema of the settings), or as plain text."""
from __future__ import annotations

import json

from tap_listrak import __version__
from tap_listrak.config import SETTINGS

CAPABILITIES = ["catalog", "discover", "state", "properties", "about"]
_JSON_TYPES = {"string": {"type": "string"}, "password": {"type": "string", "secret": True, "writeOnly": True},
               "date_iso8601": {"type": "string", "format": "date-time"}, "integer": {"type": "integer"},
               "number": {"type": "number"}, "boolean": {"type": "boolean"},
               "array": {"type": "array", "items": {"type": "integer"}}}


def about() -> dict:
    properties = {}
    for setting in SETTINGS:
        spec = dict(_JSON_TYPES[setting.kind], description=setting.description)
        if setting.default is not None:
            spec["default"] = setting.default
        properties[setting.name] = spec
    return {"name": "tap-listrak", "description": "Singer tap for the Listrak SOAP API v31",
            "version": __version__, "capabilities": CAPABILITIES,
            "settings": {"type": "object", "properties": properties,
                         "required": [s.name for s in SETTINGS if s.required]}}


def render(fmt: str) -> str:
    info = about()
    if fmt == "json":
        return json.dumps(info, indent=2)
    lines = [f"{info['name']} {info['version']}: {info['description']}",
             f"Capabilities: {', '.join(info['capabilities'])}",
             "Commands: --discover; --catalog FILE [--state FILE] (a sync); --probe (which of Listrak's undocumented "
             "behaviours hold on the account: a report to attach to any bug report)", "Settings:"]
    for setting in SETTINGS:
        default = "" if setting.default is None else f" (default {setting.default})"
        required = " [required]" if setting.required else ""
        lines.append(f"  {setting.name} ({setting.kind}){required}{default}: {setting.description}")
    return "\n".join(lines)
