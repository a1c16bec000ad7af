"""Ground truth: exactly the records the tap must emit for a sync of the emulated account.

Read from the same generator the server serves, after the tap's normalisation: every date-time as
RFC 3339 UTC with six fractional digits and Z (.NET's minimum date -> null), ints, booleans, exact
decimals, strings unchanged, absent or nil optional values -> null, MsgID/ListID added from the parent.
Records are selected as a sync from start to end with the given lookback would select them:

  lists                 all lists (or --list-ids)
  messages              those lists' messages sent in [start, end) (test messages only if included)
  message_sends         recipients of exactly those messages, with the message's SendDate
  message_<events>      events dated in [start, end) of such messages sent in [start - lookback, end)
  subscribed_contacts   contacts of those lists added in [start, end)
  list_removals         removals from those lists dated in [start, end) (every message's and the admin's)
  list_hygiene          addresses of those lists corrected in [start, end)
  message_links         the links of the messages above (not vanished), with their click counters
  campaigns             those lists' campaigns
  message_analytics     one record per message above (not vanished)
  message_deliveries    one record per message above (vanished ones too: a list report, like messages)
  conversations         those lists' conversations, terminated ones included (the tap asks for them)
  profile_fields        one record per attribute of those lists' profile headers
  spam_complaints       complaints about messages of those lists dated in [start, end)

Vanished messages are listed (messages) but yield nothing else: the service answers 404 for them.
As of an instant (the server's clock, --as-of and --reporting-delay-hours), only what exists then is
selected, as the server filters it: messages sent and contacts added up to as_of, events dated up to
as_of minus the delay, and each message's counters recounted from those events (data.reported_message).
xsi:nil array items yield no record. The event dates in the iso and us forms carry no fraction on the
wire, so they are truncated to the second here too.

  python -m tests.emulator.truth [same knobs as the server] --start-date 2024-01-01T00:00:00Z
      [--end-date ...] [--lookback-days 30] [--list-ids 5001,5012] [--include-test-messages]
prints one JSON line per record: {"stream": "<name>", "record": {...}}.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Iterable, Optional

from .data import LIST_FIELDS, MESSAGE_FIELDS, AsOf, Dataset, Message, cutoffs
from .secondary import CONVERSATION_FIELDS, Secondary
from .options import add_knobs, specs_from_args
from .spec import DatasetSpec
from .times import event_date_precision, rfc3339, to_utc_instant

STREAMS = ("lists", "messages", "message_sends", "message_opens", "message_clicks", "message_reads",
           "message_unsubs", "message_bounces", "subscribed_contacts", "list_removals", "list_hygiene",
           "message_links", "campaigns", "message_analytics", "message_deliveries", "conversations",
           "profile_fields", "spam_complaints")


def truth(dataset: DatasetSpec | Dataset, start_date, end_date=None, lookback_days: float = 30,
          list_ids: Optional[Iterable[int]] = None, include_test_messages: bool = False,
          event_date_format: str = "iso-fraction", as_of=None,
          reporting_delay_hours: float = 0.0) -> dict[str, list[dict]]:
    """{stream: [records]} for a sync of [start_date, end_date) (end defaults to now) against a server whose
    clock is as_of (None: no clock) with that reporting delay.

    Bounds and as_of are ISO strings or datetimes; naive ones are UTC. Fractional statistics are Decimal.
    event_date_format must be the server's (--event-date-format): it decides what precision survives.
    """
    data = dataset if isinstance(dataset, Dataset) else Dataset(dataset)
    at = cutoffs(None if as_of is None else to_utc_instant(as_of), reporting_delay_hours)
    start = to_utc_instant(start_date)
    end = to_utc_instant(end_date) if end_date is not None else datetime.now(timezone.utc).replace(tzinfo=None)
    event_floor = start - timedelta(days=lookback_days)
    wanted = None if list_ids is None else {int(i) for i in list_ids}
    lists = [cl for cl in data.lists() if wanted is None or cl.ListID in wanted]
    out: dict[str, list[dict]] = {name: [] for name in STREAMS}

    def inside(moment: datetime) -> bool:
        return start <= moment < end

    def exists(moment: datetime) -> bool:
        return at is None or moment <= at.now

    def event_time(moment: datetime) -> datetime:
        return event_date_precision(moment, event_date_format)

    secondary = Secondary(data)
    reported = (lambda moment: True) if at is None else (lambda moment: moment <= at.reported)
    _account_reports(secondary, {cl.ListID for cl in lists}, inside, reported, out)
    for cl in lists:
        out["lists"].append(_list_record(cl))
        _list_reports(secondary, cl, at, inside, event_time, reported, out)
        for c in data.subscribers(cl.index):
            if inside(c.addition) and exists(c.addition):
                out["subscribed_contacts"].append({"ListID": cl.ListID, "ContactID": c.contact_id,
                                                   "EmailAddress": c.email, "AdditionDate": rfc3339(c.addition),
                                                   "AdditionMethod": c.addition_method})
        for m in data.messages(cl.index):
            if (m.is_test and not include_test_messages) or not exists(m.SendDate):
                continue
            if inside(m.SendDate):
                out["messages"].append(_message_record(
                    m if at is None else data.reported_message(m.list_index, m.index, at.reported)))
                _message_reports(secondary, m, at, out)
            if m.MsgID in data.vanished or not (event_floor <= m.SendDate < end):
                continue
            if inside(m.SendDate):
                out["message_sends"].extend({"MsgID": m.MsgID, "EmailAddress": c.email, "SendDate": rfc3339(m.SendDate)}
                                            for c in data.recipients(cl.index, m.index))
            _events(data, m, inside, event_time, None if at is None else at.reported, out)
    return out


def _events(data: Dataset, m: Message, inside, event_time, reported: Optional[datetime], out: dict) -> None:
    events = data.events(m.list_index, m.index)

    def add(stream: str, e, when: datetime, **fields) -> None:
        if inside(when) and (reported is None or e.when <= reported):  # e.when: the instant, not its rendering
            out[stream].append({"MsgID": m.MsgID, "ContactID": e.contact_id, "EmailAddress": e.email, **fields})

    for e in events.opens:
        add("message_opens", e, event_time(e.when), OpenDate=rfc3339(event_time(e.when)))
    for e in events.clicks:
        add("message_clicks", e, event_time(e.when), LinkDescription=e.link_description, LinkUrl=e.link_url,
            ClickDate=rfc3339(event_time(e.when)))
    for e in events.reads:
        add("message_reads", e, event_time(e.when), ReadDate=rfc3339(event_time(e.when)))
    for e in events.removals:
        add("message_unsubs", e, e.when, AdditionDate=rfc3339(e.addition), RemovalDate=rfc3339(e.when),
            RemovalMethod=e.method)
    for e in events.bounces:
        add("message_bounces", e, event_time(e.when), BounceReason=e.reason, BounceDetail=e.detail,
            BounceDate=rfc3339(event_time(e.when)), BounceCount=e.count)


def _list_reports(secondary: Secondary, cl, at: Optional[AsOf], inside, event_time, reported, out: dict) -> None:
    """The list's removals and hygiene (dated, reported like events), campaigns, conversations and profile fields.
    Hygiene dates are strings on the wire, rendered like the event dates (event_time: what survives)."""
    out["list_removals"].extend(
        {"ListID": cl.ListID, "ContactID": e.contact_id, "EmailAddress": e.email, "AdditionDate": rfc3339(e.addition),
         "RemovalDate": rfc3339(e.when), "RemovalMethod": e.method}
        for e in secondary.list_removals(cl.index) if inside(e.when) and reported(e.when))
    out["list_hygiene"].extend(
        {"ListID": cl.ListID, "ContactID": e.ContactID, "OldEmailAddress": e.OldEmailAddress,
         "EmailAddress": e.EmailAddress, "AddDate": rfc3339(event_time(e.AddDate)),
         "HygieneDate": rfc3339(event_time(e.HygieneDate))}
        for e in secondary.hygiene(cl.index) if inside(event_time(e.HygieneDate)) and reported(e.HygieneDate))
    out["campaigns"].extend(c._asdict() for c in secondary.campaigns(cl.index, at))
    out["conversations"].extend(
        {**{name: getattr(c, name) for name in CONVERSATION_FIELDS}, "PublishedDate": rfc3339(c.PublishedDate)}
        for c in secondary.conversations(cl.index))
    for h in secondary.profile_headers(cl.index):
        out["profile_fields"].extend({"ListID": h.ListID, "HeaderID": h.HeaderID, "HeaderName": h.Name,
                                      "HeaderPosition": h.Position, **a._asdict()} for a in h.WSProfileAttributes)


def _message_reports(secondary: Secondary, m: Message, at: Optional[AsOf], out: dict) -> None:
    """A listed message's delivery record, and, unless it vanished, its links and analytics."""
    out["message_deliveries"].append({**secondary.delivery(m, at)._asdict(), "SendDate": rfc3339(m.SendDate)})
    if m.MsgID in secondary.data.vanished:
        return
    out["message_links"].extend(link._asdict() for link in secondary.links(m, at))
    out["message_analytics"].append({**secondary.analytics(m)._asdict(), "SendDate": rfc3339(m.SendDate)})


def _account_reports(secondary: Secondary, list_ids: set, inside, reported, out: dict) -> None:
    out["spam_complaints"].extend({**e._asdict(), "AbuseDate": rfc3339(e.AbuseDate)} for e in secondary.complaints()
                                  if e.ListID in list_ids and inside(e.AbuseDate) and reported(e.AbuseDate))


def _list_record(cl) -> dict:
    record = {name: getattr(cl, name) for name in LIST_FIELDS}
    record["CreateDate"] = rfc3339(cl.CreateDate)
    record["Vmta"] = None if cl.Vmta is None else {"VmtaID": cl.Vmta[0], "Description": cl.Vmta[1]}
    record["GoogleTrackingDomains"] = list(cl.GoogleTrackingDomains)
    return record


def _message_record(m: Message) -> dict:
    record = {name: getattr(m, name) for name in MESSAGE_FIELDS}
    record["SendDate"] = rfc3339(m.SendDate)
    return record


def to_json(value) -> str:
    """JSON whose numbers keep every digit of a Decimal (json.loads(parse_float=Decimal) gives it back)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(to_json(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator.truth", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start-date", required=True, help="sync start, ISO 8601 (naive = UTC)")
    parser.add_argument("--end-date", help="sync end, exclusive (default: now)")
    parser.add_argument("--lookback-days", type=float, default=30,
                        help="event streams read messages sent this long before the start (default %(default)s)")
    parser.add_argument("--list-ids", type=lambda t: [int(p) for p in t.split(",") if p.strip()],
                        help="only these ListIDs")
    parser.add_argument("--include-test-messages", action="store_true")
    add_knobs(parser)
    args = parser.parse_args(argv)
    dataset, server = specs_from_args(args)
    result = truth(dataset, args.start_date, args.end_date, args.lookback_days, args.list_ids,
                   args.include_test_messages, server.event_date_format, server.as_of, server.reporting_delay_hours)
    out = sys.stdout
    try:
        for name in STREAMS:
            for record in result[name]:
                out.write('{"stream": ' + json.dumps(name) + ', "record": ' + to_json(record) + "}\n")
        out.flush()
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
