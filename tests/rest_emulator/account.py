"""The REST view of the generated account: every resource as Listrak's REST API serves it.

Where the REST API and SOAP API show the same things (lists, campaigns, messages, subscribers and
unsubscribed contacts, message activity, links and clickers, conversations, profile fields) the items
come from the SOAP emulator's generator (tests/emulator/data.py, secondary.py), so both emulators serve
one account. REST-only resources (events and event groups, transactional messages, conversation messages,
split tests, list imports, saved audiences, saved messages, folders, IP pools, content) are derived from
the same seed and ids, deterministically.

Every collection is a list of Item: `wire` is the JSON object exactly as served (Swagger property order,
dates rendered), `dates` the naive UTC instants the server filters on. Items are built for one clock
(`at`: None = everything exists) and one date form.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple, Optional

from tests.emulator.data import DOTNET_MIN, QUIET_MESSAGE, Dataset, Message, _hash_int, until
from tests.emulator.secondary import Secondary

from .times import render

BOUNCE_HANDLING = ("None", "Standard", "Aggressive")
# The REST names of the SOAP DataTypeSettings values the generator uses.
DATA_TYPES = {"RadioButton": "RadioButton", "CheckBox": "CheckBox", "TextArea": "CommentArea", "Numeric": "Numeric",
              "Text": "Text", "Date": "Date", "ContentBlock": "ContentBlock"}
FOLDER_NAMES = ("Newsletters « hebdo »", "Transactional & <system>", "アーカイブ")
IMPORT_RESULTS = ("Subscribed", "AlreadySubscribed", "InvalidEmail", "Skipped", "Suppressed", "Banned")
ACTIVITY_TYPES = ("Open", "Click", "Read", "Bounce", "Unsubscribe", "Abuse")
EVENT_NAMES = ("Welcome « signup »", "Cart & <checkout>", "購入完了", "Blocked event")


class Item(NamedTuple):
    wire: dict
    dates: dict  # name -> naive UTC instant or None (what the server filters on)


def _h(*parts) -> int:
    return int.from_bytes(hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


@dataclass
class Recipient:
    email: str
    contact_id: str
    send: Optional[datetime]
    opens: list = field(default_factory=list)
    reads: list = field(default_factory=list)
    clicks: list = field(default_factory=list)  # (when, linkId)
    bounce: Optional[tuple] = None  # (when, reason)
    unsubscribe: Optional[datetime] = None
    abuse: Optional[datetime] = None
    order_total: float = 0.0

    def activity_dates(self) -> list[datetime]:
        found = list(self.opens) + list(self.reads) + [c[0] for c in self.clicks]
        found += [d for d in (self.bounce and self.bounce[0], self.unsubscribe, self.abuse) if d]
        return sorted(found)


@dataclass
class MessageModel:
    """A sent message as the REST reports see it: recipients with their activity, links and their clicks."""
    message_id: int
    send: Optional[datetime]
    links: list  # (linkId, description, url)
    recipients: list  # Recipient
    counters: dict  # MessageSummary figures


class Account:
    """The REST resources of one Dataset. Cheap to build; generates on demand (bounded caches)."""

    def __init__(self, data: Dataset, date_form: str = "trimmed") -> None:
        self.data = data
        self.secondary = Secondary(data)
        self.clock = data.clock
        self.seed = data.spec.seed
        self.date_form = date_form
        self._complaints = lru_cache(maxsize=1)(self._complaints_by_message)
        self.message_model = lru_cache(maxsize=256)(self._message_model)
        self.synthetic_model = lru_cache(maxsize=256)(self._synthetic_model)
        self.contacts = lru_cache(maxsize=32)(self._contacts)

    def d(self, utc: Optional[datetime]) -> Optional[str]:
        return render(utc, self.clock, self.date_form)

    def local(self, days: float, list_index: int = 0, salt: str = "") -> datetime:
        """An instant `days` after the first send day's local midnight, with a seeded time of day."""
        first = datetime.combine(self.data.spec.first_date, datetime.min.time())
        h = _h(self.seed, "local", list_index, salt)
        wall = first + timedelta(days=days, seconds=h % 86400, milliseconds=(h >> 20) % 1000 if h % 3 else 0)
        return self.clock.to_utc(self.clock.unambiguous(wall))

    # ---- lists, folders, IP pools -----------------------------------------------------------------

    def list_ids(self) -> list[int]:
        return self.data.list_ids()

    def folders(self) -> list[Item]:
        return [Item({"folderId": 9001 + f, "folderName": FOLDER_NAMES[f]}, {}) for f in range(len(FOLDER_NAMES))]

    def ip_pools(self) -> list[Item]:
        pools = {}
        for cl in self.data.lists():
            if cl.Vmta is not None:
                pools.setdefault(cl.Vmta[0], cl.Vmta[1])
        return [Item({"ipPoolId": pid, "ipPoolDescription": text}, {}) for pid, text in sorted(pools.items())]

    def list_item(self, li: int) -> Item:
        cl = self.data.contact_list(li)
        h = _h(self.seed, "rest-list", li)
        wire = {
            "listId": cl.ListID, "listName": cl.ListName, "folderId": 0 if li % 4 == 3 else 9001 + li % 3,
            "ipPoolId": cl.Vmta[0] if cl.Vmta else 0,
            "bounceDomainAlias": ("", "bounce.example.com")[li % 2],
            "bounceHandling": BOUNCE_HANDLING[cl.bounceHandling], "bounceUnsubscribeCount": cl.BounceUnsubscribeCount,
            "createDate": self.d(cl.CreateDate), "enableBrowserLink": cl.EnableBrowserLink,
            "enableDoubleOptIn": cl.EnableDoubleOptin, "enableDynamicContent": cl.EnableDynamicContent,
            "enableGoogleAnalytics": cl.EnableGoogleAnalytics,
            "enableInternationalization": cl.EnableInternationalization, "enableListHygiene": cl.EnableListHygiene,
            "enableListRemovalHeader": cl.EnableListRemoveHeader, "enableListRemovalLink": cl.EnableRemovalLink,
            "enableListrakAnalytics": bool(h & 1), "enableSpamScorePersonalization": bool(h & 2),
            "enableToNamePersonalization": bool(h & 4), "enableUniversalEmailKeySetting": bool(h & 8),
            # Unset strings are "" on the List (recorded), never null.
            "fromEmail": cl.FromEmail or "", "fromName": cl.FromName or "",
            "googleTrackingDomains": list(cl.GoogleTrackingDomains),
            "linkDomainAlias": cl.DomainAliasLink or "", "mediaDomainAlias": cl.DomainAliasEmail or "",
        }
        return Item(wire, {"createDate": cl.CreateDate})

    def lists(self) -> list[Item]:
        return [self.list_item(li) for li in range(self.data.spec.lists)]

    # ---- campaigns and messages ---------------------------------------------------------------------

    def campaigns(self, li: int, at) -> list[Item]:
        return [Item({"campaignId": c.CampaignID, "campaignName": c.Name}, {})
                for c in self.secondary.campaigns(li, self._asof(at))]

    @staticmethod
    def _asof(at):
        from tests.emulator.data import AsOf
        return None if at is None else AsOf(at, at)

    def messages(self, li: int, at, include_tests: bool = False) -> list[Message]:
        return [m for m in self.data.messages(li) if (include_tests or not m.is_test)
                and (at is None or m.SendDate <= at)]

    def find_message(self, li: int, message_id: int, at) -> Optional[Message]:
        located = self.data.locate_message(message_id)
        if located is None or located[0] != li:
            return None
        m = self.data.message(*located)
        return None if at is not None and m.SendDate > at else m

    def message_item(self, m: Message) -> Item:
        campaign_id, _name = self.secondary.campaign_of(m)
        wire = {"messageId": m.MsgID, "sendDate": self.d(m.SendDate), "messageStatus": "Sent",
                "campaignId": campaign_id, "externalCampaignId": (f"EXT-{campaign_id}", None, "")[m.index % 3],
                "subject": m.Subject}
        return Item(wire, {"sendDate": m.SendDate})

    def message_detail(self, m: Message) -> Item:
        base = self.message_item(m).wire
        analytics = self.secondary.analytics(m)
        cl = self.data.contact_list(m.list_index)
        k = m.index % 4
        wire = {
            "messageId": m.MsgID, "sendDate": base["sendDate"], "messageStatus": "Sent",
            "enableUniversalEmailKeySetting": bool(k & 1), "campaignId": base["campaignId"],
            "bodyHtml": f"<html><body><p>{m.Subject or ''}</p><a href=\"{m.links[0][0]}\">&amp;</a></body></html>",
            "bodyText": (f"Message {m.MsgID}\r\n« texte »", None)[k % 2], "codePage": (65001, 1252)[k % 2],
            "enablePassalong": bool(k & 2), "enableTracking": k != 3, "externalCampaignId": base["externalCampaignId"],
            "fromEmail": cl.FromEmail or "", "fromName": cl.FromName or "",
            "googleAnalyticsCampaignName": analytics.GoogleAnalyticsCampaignName,
            "googleAnalyticsCampaignContent": analytics.GoogleAnalyticsCampaignContent,
            "replyEmail": (f"reply{m.list_index}@example.com", None)[k % 2],
            "savedAudienceId": 0 if k else 20001 + m.list_index,
            "segmentsApplied": None if k == 1 else {"includedSegments": ["VIP « gold »", "新規"][:k],
                                                    "excludedSegments": ["Bounced & <inactive>"][:k % 2]},
            "subject": m.Subject, "toName": ("[FirstName]", None, "")[k % 3],
        }
        return Item(wire, {"sendDate": m.SendDate})

    def message_status(self, m: Message) -> Item:
        end = m.SendDate + timedelta(seconds=30 + m.recipient_count * 2)
        return Item({"sendCount": m.recipient_count, "startDate": self.d(m.SendDate), "endDate": self.d(end),
                     "status": "Completed", "type": "Test" if m.is_test else "Standard"}, {})

    # ---- message reports from the generator's events --------------------------------------------------

    def _complaints_by_message(self) -> dict:
        found: dict = {}
        for c in self.secondary.complaints():
            found.setdefault(c.MessageID, {}).setdefault(c.EmailAddress, c.AbuseDate)
        return found

    def _message_model(self, li: int, index: int, at) -> MessageModel:
        m = self.data.message(li, index)
        events = self.data.events(li, index)
        cut = (lambda evs: evs) if at is None else (lambda evs: until(evs, at))
        links = [(link.LinkID, link.LinkDescription, link.LinkURL) for link in self.secondary.links(m, self._asof(at))]
        link_ids = {url: lid for lid, _desc, url in links}
        people = {c.email: Recipient(c.email, c.contact_id, m.SendDate) for c in self.data.recipients(li, index)}
        for e in cut(events.opens):
            people[e.email].opens.append(e.when)
        for e in cut(events.reads):
            people[e.email].reads.append(e.when)
        for e in cut(events.clicks):
            people[e.email].clicks.append((e.when, link_ids.get(e.link_url)))
        for e in cut(events.bounces):
            people[e.email].bounce = (e.when, e.reason)
        for e in cut(events.removals):
            people[e.email].unsubscribe = people[e.email].unsubscribe or e.when
        for email, when in self._complaints().get(m.MsgID, {}).items():
            if email in people and (at is None or when <= at):
                people[email].abuse = when
        for r in people.values():
            if r.clicks and _h(self.seed, "order", m.MsgID, r.email) % 5 == 0:
                r.order_total = (_h(self.seed, "total", m.MsgID, r.email) % 50000) / 100
        counted = m if at is None else self.data.reported_message(li, index, at)
        delivery = self.secondary.delivery(m, self._asof(at))
        counters = {"averageOrderValue": float(counted.AverageOrderValue),
                    "bounceCount": m.recipient_count - counted.DeliverCount, "clickCount": counted.ClickCount,
                    "conversionCount": counted.ConversionCount, "openCount": counted.OpenCount,
                    "passAlongCount": delivery.PassAlongCount, "readCount": counted.ReadCount,
                    "revenue": float(counted.OrderTotal), "sentCount": m.recipient_count,
                    "unsubscribeCount": counted.RemoveCount, "visitCount": 0}
        return MessageModel(m.MsgID, m.SendDate, links, list(people.values()), counters)

    def model_of(self, m: Message, at) -> MessageModel:
        return self.message_model(m.list_index, m.index, at)

    # ---- synthetic sent messages (conversation and transactional) -------------------------------------

    def _synthetic_model(self, li: int, message_id: int, send: Optional[datetime], spread_days: int,
                         at) -> MessageModel:
        """Recipients drawn from the list's contacts, activity from the seed; with spread_days > 0 each recipient
        has their own send (transactional sends), else every send is the message's."""
        data = self.data
        links = [(message_id * 10 + p, ("Voir « plus »", None, "Shop & <save>")[p % 3],
                  f"https://example.com/m/{message_id}?p={p}&x=é") for p in range(1 + message_id % 3)]
        recipients = []
        if send is not None:
            universe = data.contact_universe()
            start = _h(self.seed, "synthetic-audience", message_id) % universe
            for r in range(min(universe, 12 + message_id % 17)):
                contact = data.contact(li, (start + r) % universe)
                h = _h(self.seed, "synthetic", message_id, contact.email)
                mine = send + timedelta(seconds=(h >> 3) % (spread_days * 86400)) if spread_days else send
                if at is not None and mine > at:
                    continue
                rec = Recipient(contact.email, contact.contact_id, mine)
                roll = h % 100
                after = lambda n: mine + timedelta(seconds=60 + (h >> (8 + n)) % (6 * 86400))  # noqa: E731
                if roll < 5:
                    rec.bounce = (after(0), ("Hard Bounce", "Soft Bounce", None)[h % 3])
                elif roll < 45:
                    rec.opens.append(after(1))
                    if roll < 25:
                        rec.reads.append(after(2) + timedelta(seconds=5))
                    if roll < 20:
                        for c in range(1 + (h >> 40) % 2):
                            rec.clicks.append((after(3) + timedelta(minutes=c * 7),
                                               links[(h >> (44 + c)) % len(links)][0]))
                        if roll < 8:
                            rec.order_total = ((h >> 30) % 30000) / 100
                    if roll == 44:
                        rec.unsubscribe = after(4) + timedelta(hours=1)
                    if roll == 43:
                        rec.abuse = after(5) + timedelta(hours=2)
                if at is not None:
                    rec.opens = [t for t in rec.opens if t <= at]
                    rec.reads = [t for t in rec.reads if t <= at]
                    rec.clicks = [c for c in rec.clicks if c[0] <= at]
                    rec.bounce = rec.bounce if rec.bounce and rec.bounce[0] <= at else None
                    rec.unsubscribe = rec.unsubscribe if rec.unsubscribe and rec.unsubscribe <= at else None
                    rec.abuse = rec.abuse if rec.abuse and rec.abuse <= at else None
                recipients.append(rec)
        bounced = sum(1 for r in recipients if r.bounce)
        conversions = sum(1 for r in recipients if r.order_total)
        revenue = round(sum(r.order_total for r in recipients), 2)
        counters = {"averageOrderValue": round(revenue / conversions, 2) if conversions else 0.0,
                    "bounceCount": bounced, "clickCount": sum(len(r.clicks) for r in recipients),
                    "conversionCount": conversions, "openCount": sum(len(r.opens) for r in recipients),
                    "passAlongCount": 0, "readCount": sum(len(r.reads) for r in recipients), "revenue": revenue,
                    "sentCount": len(recipients), "unsubscribeCount": sum(1 for r in recipients if r.unsubscribe),
                    "visitCount": 0}
        return MessageModel(message_id, send, links, recipients, counters)

    # ---- items of a message model ---------------------------------------------------------------------

    def activity_items(self, model: MessageModel, li: int, transactional: bool = False) -> list[Item]:
        items = []
        for r in model.recipients:
            dates = r.activity_dates()
            wire = {"abuse": r.abuse is not None, "activityDate": self.d(dates[0] if dates else None),
                    "bounce": r.bounce is not None, "bounceReason": r.bounce[1] if r.bounce else None,
                    "click": bool(r.clicks), "clickCount": len(r.clicks), "emailAddress": r.email,
                    "open": bool(r.opens), "orderTotal": r.order_total, "read": bool(r.reads),
                    "sendDate": self.d(r.send), "unsubscribe": r.unsubscribe is not None, "visitDate": None,
                    "externalContactID": self.external_id(li, r.contact_id)}
            if transactional:
                wire["resendKey"] = f"{model.message_id:X}-{int(r.contact_id):X}".lower()
            flags = {"open": wire["open"], "click": wire["click"], "read": wire["read"], "bounce": wire["bounce"],
                     "unsubscribe": wire["unsubscribe"], "abuse": wire["abuse"]}
            items.append(Item(wire, {"sendDate": r.send, "activityDate": dates[0] if dates else None,
                                     "activityDates": dates, "flags": flags}))
        return items

    def link_items(self, model: MessageModel) -> list[Item]:
        counts = {}
        for r in model.recipients:
            for _when, lid in r.clicks:
                counts[lid] = counts.get(lid, 0) + 1
        return [Item({"linkId": lid, "linkDescription": desc, "linkUrl": url, "clickCount": counts.get(lid, 0)}, {})
                for lid, desc, url in model.links]

    def clicker_items(self, model: MessageModel, link_id: int) -> list[Item]:
        clicks = sorted((when, r.email) for r in model.recipients for when, lid in r.clicks if lid == link_id)
        return [Item({"emailAddress": email, "clickDate": self.d(when)}, {"clickDate": when}) for when, email in clicks]

    # ---- contacts and profile fields --------------------------------------------------------------------

    def external_id(self, li: int, contact_id: str) -> Optional[str]:
        return f"CRM-{contact_id}" if int(contact_id) % 3 == 0 else None

    def segmentation_fields(self, li: int) -> list[tuple]:
        """(group id, field) pairs of the list's profile fields (the SOAP profile headers and attributes)."""
        return [(header, a) for header in self.secondary.profile_headers(li) for a in header.WSProfileAttributes]

    def field_groups(self, li: int) -> list[Item]:
        return [Item({"segmentationFieldGroupId": h.HeaderID, "segmentationFieldGroupName": h.Name,
                      "position": h.Position}, {}) for h in self.secondary.profile_headers(li)]

    def field_items(self, li: int, group_id: int) -> list[Item]:
        return [Item({"segmentationFieldId": a.AttributeID, "segmentationFieldName": a.Name,
                      "segmentationFieldGroupId": a.HeaderID, "dataType": DATA_TYPES[a.DataType],
                      "maxLength": a.MaxLength, "position": a.Position}, {})
                for h, a in self.segmentation_fields(li) if h.HeaderID == group_id]

    def field_value(self, li: int, contact_id: str, field_id: int, data_type: str) -> Optional[str]:
        h = _h(self.seed, "profile-value", li, contact_id, field_id)
        if h % 4 == 0:
            return None  # the contact has no value for this field
        return {"Numeric": str(h % 1000), "CheckBox": "on", "RadioButton": ("Yes", "No")[h % 2],
                "Date": f"{1 + h % 12:02d}/{1 + h % 28:02d}/19{50 + h % 50}"}.get(
            data_type, ("Grande & <XL>", "moyen « M »", "小さい")[h % 3])

    def _contacts(self, li: int, at) -> list[dict]:
        """The list's contacts: every subscriber, plus every contact removed from the list; a contact whose
        (first) removal existed by `at` is Unsubscribed, the others Subscribed (if subscribed by `at`)."""
        data, list_id = self.data, self.list_ids()[li]
        removed: dict = {}
        for e in self.secondary.list_removals(li):
            if at is None or e.when <= at:
                removed.setdefault(e.contact_id, e)
        people = {}
        for k in range(data.spec.subscribers_per_list):
            c = data.contact(li, k)
            people[c.contact_id] = c
        for cid in removed:
            if cid not in people:
                k = (int(cid) - list_id * 1_000_000 - 7) // 3
                people[cid] = data.contact(li, k)
        out = []
        for cid, c in people.items():
            h = _h(self.seed, "rest-contact", li, cid)
            e = removed.get(cid)
            subscribe = c.addition if e is None else min(c.addition, e.when - timedelta(days=1))
            if at is not None and subscribe > at:
                continue
            resubscribe = None
            if e is None and h % 9 == 0:
                resubscribe = subscribe + timedelta(days=20 + h % 200, seconds=(h >> 10) % 86400)
                if at is not None and resubscribe > at:
                    resubscribe = None
            out.append({
                "contact_id": cid, "email": c.email, "state": "Unsubscribed" if e else "Subscribed",
                "subscribe": subscribe, "resubscribe": resubscribe,
                "subscribe_method": None if e else (c.addition_method or "Administrator"),
                "unsubscribe": e.when if e else None, "unsubscribe_method": (e.method or "Administrator") if e else None,
                "email_key": f"{h:016X}{_h(self.seed, 'key', cid) % (1 << 40):010X}",
                "universal": hashlib.sha256(c.email.strip().lower().encode()).hexdigest(),
            })
        out.sort(key=lambda p: (p["unsubscribe"] or p["subscribe"], p["email"]))
        return out

    def contact_item(self, li: int, p: dict, field_ids: tuple = ()) -> Item:
        types = {a.AttributeID: (h.HeaderID, DATA_TYPES[a.DataType]) for h, a in self.segmentation_fields(li)}
        values = []
        for fid in field_ids:
            if fid in types:
                value = self.field_value(li, p["contact_id"], fid, types[fid][1])
                if value is not None:
                    values.append({"segmentationFieldGroupId": types[fid][0], "segmentationFieldId": fid,
                                   "value": value})
        wire = {"emailAddress": p["email"], "emailKey": p["email_key"], "universalEmailKey": p["universal"],
                "subscriptionState": p["state"], "subscribeDate": self.d(p["subscribe"]),
                "resubscribeDate": self.d(p["resubscribe"]), "subscribeMethod": p["subscribe_method"],
                "unsubscribeDate": self.d(p["unsubscribe"]), "unsubscribeMethod": p["unsubscribe_method"],
                "externalContactID": self.external_id(li, p["contact_id"]), "segmentationFieldValues": values}
        return Item(wire, {"subscribeDate": p["subscribe"], "resubscribeDate": p["resubscribe"],
                           "unsubscribeDate": p["unsubscribe"]})

    # ---- conversations ------------------------------------------------------------------------------

    def conversations(self, li: int) -> list:
        return self.secondary.conversations(li)

    def conversation_item(self, c) -> Item:
        k = (c.ConversationID - 4100) // 17 % 4
        published = None if c.PublishedDate == DOTNET_MIN else c.PublishedDate
        expiration = published + timedelta(days=365) if published and k % 2 else None
        status = "Terminated" if c.terminated else ("Draft" if published is None else "Active")
        return Item({"conversationId": c.ConversationID, "conversationName": c.ConversationName,
                     "campaignId": c.CampaignID, "expirationDate": self.d(expiration), "status": status}, {})

    def conversation_summary(self, c) -> Item:
        bounced = c.ContactCount % 17
        return Item({"averageOrderValue": float(c.AverageOrderValue), "bounceCount": bounced,
                     "clickCount": c.ClickCount, "conversionCount": c.ConversionCount,
                     "deliveredCount": c.DeliverCount, "openCount": c.OpenCount, "readCount": c.ReadCount,
                     "revenue": float(c.OrderTotal), "sentCount": c.DeliverCount + bounced,
                     "unsubscribeCount": c.RemoveCount, "visitCount": 0}, {})

    def conversation_messages(self, li: int, c, at, include_previous: bool = False) -> list[tuple]:
        """(message id, send or None, subject, previous version?) of a conversation, in step order. The last
        step of every first conversation of a list is a previous version (served with includePreviousVersions)."""
        published = None if c.PublishedDate == DOTNET_MIN else c.PublishedDate
        k = (c.ConversationID - 4100) // 17 % 4
        found = []
        for n in range(1, 3 + (c.ConversationID % 2) + (1 if k == 0 else 0)):
            previous = k == 0 and n == 3 + (c.ConversationID % 2)
            send = published + timedelta(days=n - 1, hours=n) if published else None
            if (previous and not include_previous) or (send is not None and at is not None and send > at):
                continue
            found.append((c.ConversationID * 100 + n, send, f"Step {n} « {c.ConversationName or ''} » & <more>",
                          previous))
        return found

    def conversation_message_item(self, c, entry, detail: bool = False) -> Item:
        mid, send, subject, _previous = entry
        wire = {"messageId": mid, "sendDate": self.d(send), "messageStatus": "Sent" if send else "NotReady",
                "campaignId": c.CampaignID, "externalCampaignId": None, "subject": subject}
        if detail:
            wire = {"messageId": mid, "sendDate": wire["sendDate"], "messageStatus": wire["messageStatus"],
                    "enableUniversalEmailKeySetting": False, "campaignId": c.CampaignID,
                    "bodyHtml": f"<p>{subject}</p>", "bodyText": subject, "codePage": 65001, "enablePassalong": False,
                    "enableTracking": True, "externalCampaignId": None, "fromEmail": "", "fromName": "",
                    "googleAnalyticsCampaignName": None, "googleAnalyticsCampaignContent": None, "replyEmail": None,
                    "savedAudienceId": 0, "subject": subject, "toName": None}
        return Item(wire, {"sendDate": send})

    # ---- transactional messages ------------------------------------------------------------------------

    def transactional(self, li: int) -> list[tuple]:
        """(id, name, campaign id, external campaign id, subject, first send) per transactional message."""
        if not self.data.message_count(li):
            return []
        campaigns = self.secondary.campaign_ids(li)
        return [(11838000 + 100 * li + t, ("Order confirmation « #{n} »", "Shipping & <tracking>", "")[t],
                 campaigns[t % len(campaigns)], (f"TX-{li}-{t}", None, "")[t],
                 ("Your order #{{OrderNumber}} ✔", "Il est parti ! 📦", None)[t],
                 self.local(5 + 7 * t, li, f"tx{t}")) for t in range(2 + li % 2)]

    def transactional_item(self, entry) -> Item:
        tid, name, campaign, external, subject, _send = entry
        return Item({"transactionalMessageId": tid, "transactionalMessageName": name, "campaignId": campaign,
                     "externalCampaignId": external, "subject": subject}, {})

    # ---- events --------------------------------------------------------------------------------------

    def event_groups(self, li: int) -> list[Item]:
        return [Item({"eventGroupId": 3100 + 10 * li + g, "eventGroupName": ("Checkout « flow »", "購入")[g]}, {})
                for g in range(2 if li % 3 != 1 else 0)]

    def events(self, li: int) -> list[Item]:
        groups = [g.wire["eventGroupId"] for g in self.event_groups(li)]
        out = []
        for e in range(4):
            group = 0 if e == 0 or not groups else groups[e % len(groups)]  # 0: in no group, as recorded
            out.append(Item({"eventId": 12700 + 10 * li + e, "eventName": EVENT_NAMES[e], "eventGroupId": group,
                             "status": "Blocked" if e == 3 else "Active"}, {}))
        return out

    # ---- split tests ------------------------------------------------------------------------------------

    def split_tests(self, li: int, at) -> list[tuple]:
        """(split test id, [A, B, remainder] messages) for every three non-test messages (at most two tests)."""
        regular = [m for m in self.data.messages(li) if not m.is_test]
        tests = []
        for s in range(min(2, len(regular) // 3)):
            trio = regular[3 * s: 3 * s + 3]
            if at is None or trio[0].SendDate <= at:
                tests.append((5500 + 10 * li + s, trio))
        return tests

    def split_test_item(self, entry, at) -> Item:
        sid, trio = entry
        start = trio[0].SendDate
        end = start + timedelta(hours=4)
        running = at is not None and end > at
        wire = {"splitTestId": sid, "splitTestName": f"Subject test {sid} « A/B »", "startDate": self.d(start),
                "endDate": None if running else self.d(end), "status": "Running" if running else "Completed",
                "testCriteria": ("Subject", "FromName")[sid % 2], "testType": ("Remainder", "NoRemainder")[sid % 2],
                "winnerMetric": ("OpenRate", "ClickRate")[sid % 2]}
        return Item(wire, {"startDate": start, "endDate": None if running else end})

    def split_test_messages(self, entry) -> list[Item]:
        _sid, trio = entry
        return [Item({"messageId": m.MsgID, "messageStatus": "Sent",
                      "messageType": "Remainder" if g == 2 else "SplitTestGroup",
                      "groupName": ("Group A", "Group B", "Remainder")[g], "segmentSize": None if g == 2 else 10}, {})
                for g, m in enumerate(trio)]

    # ---- list imports -----------------------------------------------------------------------------------

    def imports(self, li: int, at) -> list[tuple]:
        found = []
        span = (self.data.spec.last_date - self.data.spec.first_date).days
        for f in range(3):
            when = self.local(f * span // 3 + 3, li, f"import{f}")
            if at is None or when <= at:
                found.append((77000 + 10 * li + f, (f"contacts_{li}_{f}.csv", "import «été» & <co>.txt", "顧客.csv")[f],
                              when))
        return found

    def import_item(self, entry) -> Item:
        fid, name, when = entry
        return Item({"importFileId": fid, "importFileName": name, "importDate": self.d(when)}, {"importDate": when})

    def import_contacts(self, li: int, entry) -> list[Item]:
        fid = entry[0]
        n = self.data.spec.subscribers_per_list
        return [Item({"emailAddress": self.data.contact(li, k).email,
                      "importResult": IMPORT_RESULTS[_h(self.seed, "import-result", fid, k) % len(IMPORT_RESULTS)]}, {})
                for k in range(fid % 5, n, 2)]

    def import_status(self, entry) -> Item:
        _fid, _name, when = entry
        return Item({"startDate": self.d(when), "endDate": self.d(when + timedelta(minutes=4, seconds=12)),
                     "status": "Completed"}, {})

    def import_summary(self, li: int, entry) -> Item:
        results = [i.wire["importResult"] for i in self.import_contacts(li, entry)]
        count = results.count
        return Item({"alreadySubscribedCount": count("AlreadySubscribed"), "alreadyUnsubscribedCount": 0,
                     "bannedCount": count("Banned"), "invalidEmailCount": count("InvalidEmail"),
                     "previouslyUnsubscribedCount": 0, "processedCount": len(results),
                     "skippedCount": count("Skipped"), "subscribedCount": count("Subscribed"),
                     "suppressedCount": count("Suppressed"), "unsubscribedCount": 0}, {})

    # ---- saved audiences, saved messages, content ---------------------------------------------------------

    def saved_audiences(self, li: int) -> list[Item]:
        return [Item({"name": ("Engaged « 90 days »", "VIP & <gold>", "")[a],
                      "lastModified": self.d(self.local(30 * a + 1, li, f"aud{a}")),
                      "savedAudienceId": (1 << 33) + 100 * li + a}, {}) for a in range(3 - li % 2)]

    def saved_messages(self, li: int) -> list[tuple]:
        return [(41000 + 10 * li + s, self.local(10 * s, li, f"sm{s}"), self.local(10 * s + 40, li, f"smm{s}"))
                for s in range(2)]

    def saved_message_item(self, li: int, entry, detail: bool = False) -> Item:
        sid, created, modified = entry
        campaigns = self.secondary.campaign_ids(li)
        campaign = campaigns[0] if campaigns else 0
        subject = f"Brouillon « {sid} » & <draft>"
        if not detail:
            return Item({"savedMessageId": sid, "savedMessageName": f"Draft {sid}", "campaignId": campaign,
                         "createDate": self.d(created), "lastModifiedDate": self.d(modified),
                         "externalCampaignId": None, "subject": subject}, {})
        return Item({"enableUniversalEmailKeySetting": False, "savedMessageId": sid, "savedMessageName": f"Draft {sid}",
                     "campaignId": campaign, "bodyHtml": f"<p>{subject}</p>", "bodyText": subject, "codePage": 65001,
                     "createDate": self.d(created), "lastModifiedDate": self.d(modified), "enablePassalong": False,
                     "enableTracking": True, "externalCampaignId": None, "fromEmail": "", "fromName": "",
                     "googleAnalyticsCampaignName": None, "googleAnalyticsCampaignContent": None, "replyEmail": None,
                     "subject": subject, "toName": None}, {})

    def content_folders(self) -> list[Item]:
        first = self.list_ids()[0]
        return [Item({"contentFolderId": 610, "listId": None, "parentFolderId": None, "folderName": "Company"}, {}),
                Item({"contentFolderId": 611, "listId": first, "parentFolderId": 610, "folderName": "Blocs « A »"}, {})]

    def contents(self) -> list[Item]:
        return [Item({"contentId": 620 + c, "contentFolderId": 610 + c % 2, "contentName": f"Footer {c} & <legal>",
                      "textContent": "© « Co »", "htmlContent": "<p>&copy; Co</p>",
                      "contentType": ("SavedContent", "DynamicContent")[c % 2], "contentReadOnly": c == 1,
                      "lastModifiedDate": self.d(self.local(c, 0, f"content{c}"))}, {}) for c in range(3)]
