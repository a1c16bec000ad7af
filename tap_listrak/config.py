"""Reading and checking the config file, before any network call.

Each setting is declared once in SETTINGS (name, kind, default, description); the README table,
`--about` and the Meltano example are written from the same facts.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tap_listrak import __version__
from tap_listrak.errors import ConfigError

DEFAULT_ENDPOINT = "https://webservices.listrak.com/v31/IntegrationService.asmx"
DEFAULT_REST_BASE_URL = "https://api.listrak.com/email/v1"
DEFAULT_REST_TOKEN_URL = "https://auth.listrak.com/OAuth2/Token"
SOAP, REST = "soap", "rest"
# The zone of offset-less dates when the config names none. SOAP: UTC, as before (no capture shows its
# zone). REST: US Eastern, the only zone a capture of the REST API shows (docs/architecture.md).
DEFAULT_ZONES = {SOAP: "UTC", REST: "America/New_York"}


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str  # string, password, date_iso8601, integer, number, boolean, array
    default: object
    description: str
    required: bool = False


SETTINGS = (
    Setting("username", "string", None, "SOAP API: Listrak user with the API Access and Analytics Access permissions."),
    Setting("password", "password", None, "SOAP API: that user's password."),
    Setting("client_id", "string", None, "REST API: Client ID of an Email integration (Integrations Manager)."),
    Setting("client_secret", "password", None, "REST API: that integration's Client Secret."),
    Setting("api", "string", None, "'soap' or 'rest': which API to read; needed only when the config holds "
                                   "credentials for both."),
    Setting("rest_base_url", "string", DEFAULT_REST_BASE_URL, "REST API: base address of the Email REST API v1."),
    Setting("rest_token_url", "string", DEFAULT_REST_TOKEN_URL, "REST API: OAuth2 token endpoint."),
    Setting("start_date", "date_iso8601", None,
            "Earliest send, event or subscription date to extract (ISO 8601; UTC unless an offset is given).", True),
    Setting("end_date", "date_iso8601", None, "Latest date to extract, exclusive (default: the run's start time)."),
    Setting("endpoint_url", "string", DEFAULT_ENDPOINT, "Address of the IntegrationService SOAP endpoint."),
    Setting("request_timeout", "number", 300,
            "Seconds one request may take, from connecting to its reply's last byte, before it is retried."),
    Setting("user_agent", "string", f"tap-listrak/{__version__}", "User-Agent header sent with every request."),
    Setting("list_ids", "array", None, "Only these ListIDs (a JSON list or a comma-separated string); default all."),
    Setting("interval_days", "integer", 365, "Days per ReportListMessageActivity call when listing messages."),
    Setting("include_test_messages", "boolean", False, "Also extract test sends."),
    Setting("message_lookback_days", "integer", 30,
            "Event streams also walk messages sent this many days before start_date, for their late events."),
    Setting("listrak_timezone", "string", None, "IANA zone in which Listrak writes and reads dates without offset "
                                                "(default: UTC for the SOAP API, America/New_York for the REST API)."),
    Setting("max_workers", "integer", 12, "Concurrent requests (1 = sequential)."),
    Setting("backoff_max_tries", "integer", 5, "Attempts per request before a transient failure stops the run."),
    Setting("backoff_max_seconds", "number", 600, "Longest total time spent retrying one request."),
    Setting("backoff_base_seconds", "number", 2, "First retry delay; later delays grow exponentially with jitter."),
    Setting("incremental_lookback_hours", "number", 24,
            "INCREMENTAL streams start this long before their bookmark, for events Listrak reports late."),
    Setting("incremental_message_days", "integer", None,
            "INCREMENTAL event streams read only messages sent this many days before the run's end "
            "(default: every message a FULL_TABLE run reads; see the README for what this trades)."),
    Setting("max_reply_megabytes", "number", 100,
            "A reply larger than this is refused and ends the run (a real Listrak page is a few MB)."),
    Setting("max_pages", "integer", 100000,
            "A list or message report with more pages than this, and no empty page, ends the run."),
)
_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    username: str | None = field(repr=False)  # secrets stay out of any repr that reaches a log
    password: str | None = field(repr=False)
    client_id: str | None = field(repr=False)
    client_secret: str | None = field(repr=False)
    api: str
    rest_base_url: str
    rest_token_url: str
    start_date: dt.datetime
    end_date: dt.datetime | None
    endpoint_url: str
    request_timeout: float
    user_agent: str
    list_ids: frozenset[int] | None
    interval_days: int
    include_test_messages: bool
    message_lookback_days: int
    listrak_timezone: ZoneInfo
    max_workers: int
    backoff_max_tries: int
    backoff_max_seconds: float
    backoff_base_seconds: float
    incremental_lookback_hours: float
    incremental_message_days: int | None
    max_reply_megabytes: float
    max_pages: int

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never reach logs, errors, state or output."""
        return tuple(s for s in (self.password, self.username, self.client_secret, self.client_id) if s)

    @property
    def rest(self) -> bool:
        return self.api == REST


def load_json_file(path: str, what: str, error: type[Exception]):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise error(f"{what} file {path!r} does not exist: check the path given on the command line") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{what} file {path!r} cannot be read ({exc.__class__.__name__}): check its permissions "
                    "and that it is UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise error(f"{what} file {path!r} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}): "
                    "fix the JSON syntax") from None


def load_config(path: str) -> Config:
    return parse_config(load_json_file(path, "config", ConfigError))


def parse_config(raw: object) -> Config:
    if not isinstance(raw, dict):
        raise ConfigError("config must be a JSON object such as sample_config.json, "
                          f"not a JSON {type(raw).__name__}")
    values = {}
    for setting in SETTINGS:
        value = raw.get(setting.name)
        if value is None or (isinstance(value, str) and not value.strip() and setting.kind != "password"):
            if setting.required:
                raise ConfigError(f"config key {setting.name!r} is missing or empty: add it ({setting.description})")
            values[setting.name] = setting.default
            continue
        values[setting.name] = _PARSERS[setting.kind](setting.name, value)
    values["api"] = _api(values)
    if values["listrak_timezone"] is None:
        values["listrak_timezone"] = DEFAULT_ZONES[values["api"]]
    return _checked(values)


def _api(v: dict) -> str:
    """Which API the credentials select: username + password the SOAP API, client_id + client_secret
    the REST API; `api` decides when both pairs are there."""
    soap = bool(v["username"]) or bool(v["password"])
    rest = bool(v["client_id"]) or bool(v["client_secret"])
    chosen = v["api"]
    if chosen is not None and chosen.strip().lower() not in (SOAP, REST):
        raise ConfigError(f"config key 'api' must be 'soap' or 'rest', not {chosen!r}")
    chosen = chosen.strip().lower() if chosen else (REST if rest and not soap else SOAP if soap and not rest else None)
    if chosen is None and soap and rest:
        raise ConfigError("config holds both username/password (SOAP API) and client_id/client_secret (REST API): "
                          "set config key 'api' to \"soap\" or \"rest\" to say which to read")
    if chosen == REST:
        for name, what in (("client_id", "the Client ID"), ("client_secret", "the Client Secret")):
            if not v[name]:
                raise ConfigError(f"config key {name!r} is missing or empty: add {what} of the Listrak Email "
                                  "integration (Integrations Manager) to read the REST API")
        return REST
    for name, what in (("username", "the Listrak user (SOAP API)"), ("password", "the Listrak user's password")):
        if not v[name]:
            raise ConfigError(f"config key {name!r} is missing or empty: add it ({what}), or client_id and "
                              "client_secret to read the REST API")
    return SOAP


def _checked(v: dict) -> Config:
    _positive(v, "request_timeout", "interval_days", "max_workers", "backoff_max_tries", "backoff_max_seconds",
              "max_reply_megabytes", "max_pages")
    if v["message_lookback_days"] < 0:
        raise ConfigError("config key 'message_lookback_days' must be 0 or more")
    if v["incremental_lookback_hours"] < 0:
        raise ConfigError("config key 'incremental_lookback_hours' must be 0 or more")
    if v["incremental_message_days"] is not None and v["incremental_message_days"] <= 0:
        raise ConfigError("config key 'incremental_message_days' must be greater than 0, or left out")
    if v["backoff_base_seconds"] < 0:
        raise ConfigError("config key 'backoff_base_seconds' must be 0 or more")
    for name, default in (("endpoint_url", DEFAULT_ENDPOINT), ("rest_base_url", DEFAULT_REST_BASE_URL),
                          ("rest_token_url", DEFAULT_REST_TOKEN_URL)):
        url = urlparse(v[name])
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ConfigError(f"config key {name!r} must be an http(s) URL such as {default!r}")
    try:
        zone = ZoneInfo(v["listrak_timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"config key 'listrak_timezone' is not an IANA time zone name: "
                          f"{v['listrak_timezone']!r} (use e.g. 'UTC' or 'America/New_York')") from None
    if v["end_date"] is not None and v["end_date"] <= v["start_date"]:
        raise ConfigError("config key 'end_date' must be later than 'start_date'")
    list_ids = frozenset(v["list_ids"]) if v["list_ids"] is not None else None
    return Config(**{**v, "listrak_timezone": zone, "list_ids": list_ids})


def _positive(values: dict, *names: str) -> None:
    for name in names:
        if values[name] <= 0:
            raise ConfigError(f"config key {name!r} must be greater than 0, not {values[name]!r}")


def _string(name, value):
    if not isinstance(value, str):
        raise ConfigError(f"config key {name!r} must be a string, not {type(value).__name__}")
    return value


def _password(name, value):
    # The value itself is never quoted back: it may be the secret.
    if not isinstance(value, str):
        raise ConfigError(f"config key {name!r} must be a string")
    return value


def _integer(name, value):
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:  # "--5", "2.5": reported below, not as a stray ValueError
            pass
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"config key {name!r} must be a whole number, not {value!r}")
    return value


def _number(name, value):
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    # NaN and infinity pass every "> 0" check, and a NaN timeout or delay makes no sense.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"config key {name!r} must be a finite number, not {value!r}")
    return float(value)


def _boolean(name, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ConfigError(f"config key {name!r} must be true or false, not {value!r}")


def _date(name, value):
    if not isinstance(value, str):
        raise ConfigError(f"config key {name!r} must be an ISO 8601 date string such as '2024-01-01T00:00:00Z'")
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"config key {name!r} is not an ISO 8601 date: {value!r} "
                          "(use e.g. '2024-01-01' or '2024-01-01T00:00:00Z')") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def _id_list(name, value):
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ConfigError(f"config key {name!r} must be a list of ListIDs such as [123, 456] or '123,456'")
    try:
        ids = [_integer(name, item.strip() if isinstance(item, str) else item) for item in items if item != ""]
    except ConfigError:
        raise ConfigError(f"config key {name!r} must hold whole-number ListIDs, not {value!r}") from None
    if not ids:
        raise ConfigError(f"config key {name!r} is empty: remove it to extract every list, or name some ListIDs")
    return ids


_PARSERS = {
    "string": _string, "password": _password, "date_iso8601": _date, "integer": _integer,
    "number": _number, "boolean": _boolean, "array": _id_list,
}
