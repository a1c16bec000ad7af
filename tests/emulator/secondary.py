"""The account's secondary objects: campaigns, links, deliveries, conversations, profile headers, list removals,
list hygiene and feedback-loop complaints. Pure functions of the Dataset (seed, ids), computed on first use.

Designed cases (list index i, message index j):
- campaigns: a list with messages has four; message j belongs to campaign j % 3, so the fourth has none
  (MessageCount 0); a list without messages has none (an empty result).
- links: message QUIET_MESSAGE has no link (an empty result); every other link's counters are recounted from
  the clicks the reports hold.
- conversations: (3, 0, 2, 1)[i % 4] per list; conversation 1 of a list is terminated (served only with
  IncludeTerminated true); conversation 2 was never published (.NET's minimum date).
- profile headers: (3, 0, 1)[...] attributes per header, by i % 3: list 0 has headers of 3, 0 and 1 attributes,
  list 1 none at all, list 2 one header of 2 attributes. With --segmentation-fields N every list has N, in
  headers of up to 20.
- list removals: every removal of the list's messages, plus removals by the administrator of every tenth
  subscriber (not tied to a message); list hygiene: every ninth subscriber of lists other than index 1.
- complaints: about one recipient in 23 of each non-test message (QUIET_MESSAGE aside) complains.
Dated items put about a tenth of their dates on a local midnight.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple, Optional

from .spec import FIELDS_PER_HEADER
from .data import (DOTNET_MIN, QUIET_MESSAGE, AsOf, Dataset, Message, Removal, _hash_int, _percent, until)

DATA_TYPES = ("RadioButton", "CheckBox", "TextArea", "Numeric", "Text", "Date", "ContentBlock")
CAMPAIGN_NAMES = ("Soldes d'été « 2024 » & <more>", "", None, "週刊ニュース 📰")
HEADER_NAMES = ("Préférences « email »", "", None, "好み & <Interests>")
ATTRIBUTE_NAMES = ("Taille/サイズ", "", None, "Favourite \"colour\" & <shade>")
ISP_NAMES = ("Gmail", "Yahoo!", "Microsoft «Outlook» & Hotmail", "", None, "ＡＯＬ")
LINK_TYPES = ("Standard", "Tracked « image »", "", None, "Unsubscribe", "ViewInBrowser")
ADMIN_METHODS = ("Admin removal", "Bulk removal «import»", None)
CAMPAIGNS_PER_LIST, CAMPAIGNS_IN_USE = 4, 3
CONVERSATIONS_PER_LIST = (3, 0, 2, 1)
ATTRIBUTES_PER_HEADER = ((3, 0, 1), (), (2,))
TERMINATED_CONVERSATION, UNPUBLISHED_CONVERSATION = 1, 2


class Campaign(NamedTuple):
    CampaignID: int
    ListID: int
    MessageCount: int
    Name: Optional[str]


class MessageLink(NamedTuple):
    MsgID: int
    LinkID: int
    ClickCount: int
    ClickerCount: int
    ClickPercent: Decimal
    LinkURL: str
    LinkType: Optional[str]
    LinkDescription: Optional[str]


class MessageAnalytics(NamedTuple):
    CampaignID: int
    CampaignName: Optional[str]
    GoogleAnalyticsCampaignContent: Optional[str]
    GoogleAnalyticsCampaignName: Optional[str]
    ListrakAnalyticsCampaignName: Optional[str]
    ListrakAnalyticsModuleName: Optional[str]
    ListrakAnalyticsVersion: Optional[str]
    ListID: int
    MsgID: int
    SendDate: datetime
    Subject: Optional[str]


class MessageDelivery(NamedTuple):
    ListID: int
    MsgID: int
    SendDate: datetime
    DeliverCount: int
    DeliverPercent: Decimal
    BounceCount: int
    BouncePercent: Decimal
    PassAlongCount: int
    Subject: Optional[str]


@dataclass(frozen=True)
class Conversation:
    terminated: bool  # bookkeeping (lowercase): not on the wire
    ListID: int
    CampaignID: int
    ConversationID: int
    PublishedDate: datetime
    ContactCount: int
    WaitingCount: int
    TerminatedCount: int
    DeliverCount: int
    RemoveCount: int
    RemoveRate: Decimal
    OpenCount: int
    OpenRate: Decimal
    ReadCount: int
    ReadRate: Decimal
    ClickCount: int
    OrderTotal: Decimal
    ConversionCount: int
    AverageOrderValue: Decimal
    CampaignName: Optional[str]
    ConversationName: Optional[str]


CONVERSATION_FIELDS = tuple(f.name for f in fields(Conversation) if not f.name.islower())


class ProfileAttribute(NamedTuple):
    AttributeID: int
    HeaderID: int
    DataType: str
    MaxLength: int
    Position: int
    Name: Optional[str]


class ProfileHeader(NamedTuple):
    HeaderID: int
    ListID: int
    Position: int
    Name: Optional[str]
    WSProfileAttributes: tuple


class Hygiene(NamedTuple):
    ContactID: str
    OldEmailAddress: Optional[str]
    EmailAddress: str
    AddDate: datetime
    HygieneDate: datetime


class Complaint(NamedTuple):
    ListID: int
    CampaignID: int
    MessageID: int
    AbuseDate: datetime
    ListName: Optional[str]
    CampaignName: Optional[str]
    MessageSubject: Optional[str]
    ContactID: str
    EmailAddress: str
    ISPName: Optional[str]


class Secondary:
    """The secondary objects of one Dataset; bounded caches, like the Dataset's own."""

    def __init__(self, data: Dataset) -> None:
        self.data = data
        self.list_removals = lru_cache(maxsize=16)(self._list_removals)
        self.hygiene = lru_cache(maxsize=16)(self._hygiene)
        self._complaints = lru_cache(maxsize=1)(self._all_complaints)

    # ---- campaigns and analytics -------------------------------------------------------------

    def campaign_ids(self, list_index: int) -> list[int]:
        count = CAMPAIGNS_PER_LIST if self.data.message_count(list_index) else 0
        return [70001 + 13 * (list_index * CAMPAIGNS_PER_LIST + c) for c in range(count)]

    def campaign_of(self, message: Message) -> tuple[int, Optional[str]]:
        c = message.index % CAMPAIGNS_IN_USE
        return self.campaign_ids(message.list_index)[c], CAMPAIGN_NAMES[(c + message.list_index) % len(CAMPAIGN_NAMES)]

    def campaigns(self, list_index: int, at: Optional[AsOf]) -> list[Campaign]:
        """MessageCount counts the campaign's messages sent by the clock's instant (test messages included)."""
        counts = [0] * CAMPAIGNS_PER_LIST
        for m in self.data.messages(list_index):
            if at is None or m.SendDate <= at.now:
                counts[m.index % CAMPAIGNS_IN_USE] += 1
        list_id = self.data.list_ids()[list_index]
        return [Campaign(cid, list_id, counts[c], CAMPAIGN_NAMES[(c + list_index) % len(CAMPAIGN_NAMES)])
                for c, cid in enumerate(self.campaign_ids(list_index))]

    def analytics(self, message: Message) -> MessageAnalytics:
        campaign_id, campaign_name = self.campaign_of(message)
        k = message.index % 4
        return MessageAnalytics(
            campaign_id, campaign_name,
            (f"content-{message.MsgID}", "", None, "bannière « haut »")[k],
            (None, f"ga_{message.MsgID}", "", "été & <promo>")[k],
            (f"lt-{campaign_id}", None, "", "キャンペーン")[k],
            ("Newsletter", "", None, "Module « A »")[k],
            (None, "1", "2.0", "")[k],
            message.ListID, message.MsgID, message.SendDate, message.Subject)

    # ---- per-message reports -----------------------------------------------------------------

    def _counted(self, message: Message, at: Optional[AsOf]) -> Message:
        return message if at is None else self.data.reported_message(message.list_index, message.index, at.reported)

    def links(self, message: Message, at: Optional[AsOf]) -> list[MessageLink]:
        """The message's links (none for QUIET_MESSAGE) with counters recounted from its reported clicks."""
        if message.index == QUIET_MESSAGE:
            return []
        clicks = self.data.events(message.list_index, message.index).clicks
        if at is not None:
            clicks = until(clicks, at.reported)
        deliver = self._counted(message, at).DeliverCount
        result = []
        for position, (url, description) in enumerate(message.links):
            mine = [c for c in clicks if c.link_url == url]
            clickers = len({c.contact_id for c in mine})
            result.append(MessageLink(message.MsgID, message.MsgID * 10 + position, len(mine), clickers,
                                      _percent(clickers, deliver), url, LINK_TYPES[position % len(LINK_TYPES)],
                                      description))
        return result

    def delivery(self, message: Message, at: Optional[AsOf]) -> MessageDelivery:
        counted = self._counted(message, at)
        sent = message.recipient_count
        bounced = sent - counted.DeliverCount
        return MessageDelivery(message.ListID, message.MsgID, message.SendDate, counted.DeliverCount,
                               _percent(counted.DeliverCount, sent), bounced, _percent(bounced, sent),
                               _hash_int(self.data.spec.seed, "pass-along", message.MsgID) % 4, message.Subject)

    # ---- per-list snapshots ------------------------------------------------------------------

    def conversations(self, list_index: int) -> list[Conversation]:
        list_id = self.data.list_ids()[list_index]
        campaigns = self.campaign_ids(list_index) or [69001 + list_index]
        return [self._conversation(list_index, list_id, k, campaigns[k % len(campaigns)])
                for k in range(CONVERSATIONS_PER_LIST[list_index % len(CONVERSATIONS_PER_LIST)])]

    def _conversation(self, list_index: int, list_id: int, k: int, campaign_id: int) -> Conversation:
        rng = random.Random(f"{self.data.spec.seed}/conversation/{list_index}/{k}")
        contacts = rng.randrange(10, 5000)
        deliver = rng.randrange(contacts, contacts * 4)
        counts = {name: rng.randrange(0, deliver + 1) for name in ("RemoveCount", "OpenCount", "ReadCount",
                                                                   "ClickCount")}
        conversions = rng.randrange(0, 50)
        total = Decimal(rng.randrange(0, 10_000_000)) / 100 if conversions else Decimal("0")
        local = datetime.combine(self.data.spec.first_date, datetime.min.time()) + timedelta(days=rng.randrange(400))
        published = DOTNET_MIN if k == UNPUBLISHED_CONVERSATION else self.data._utc(
            local if k == 0 else local.replace(hour=rng.randrange(6, 22), microsecond=rng.randrange(1000) * 1000))
        return Conversation(
            terminated=k == TERMINATED_CONVERSATION, ListID=list_id, CampaignID=campaign_id,
            ConversationID=4100 + 17 * (list_index * 4 + k), PublishedDate=published, ContactCount=contacts,
            WaitingCount=rng.randrange(0, contacts), TerminatedCount=contacts if k == TERMINATED_CONVERSATION else 0,
            DeliverCount=deliver, RemoveRate=_percent(counts["RemoveCount"], deliver),
            OpenRate=_percent(counts["OpenCount"], deliver), ReadRate=_percent(counts["ReadCount"], deliver),
            OrderTotal=total, ConversionCount=conversions,
            AverageOrderValue=_percent(int(total * 100), conversions * 10000) if conversions else Decimal("0"),
            CampaignName=CAMPAIGN_NAMES[k % len(CAMPAIGN_NAMES)],
            ConversationName=("Welcome « série » & <drip>", "", None, "Abandoned cart 🛒")[k % 4], **counts)

    def _attributes_per_header(self, list_index: int) -> tuple[int, ...]:
        wanted = self.data.spec.segmentation_fields
        if wanted is None:
            return ATTRIBUTES_PER_HEADER[list_index % len(ATTRIBUTES_PER_HEADER)]
        full, rest = divmod(wanted, FIELDS_PER_HEADER)
        return (FIELDS_PER_HEADER,) * full + ((rest,) if rest else ())

    def profile_headers(self, list_index: int) -> list[ProfileHeader]:
        list_id = self.data.list_ids()[list_index]
        headers = []
        for h, attributes in enumerate(self._attributes_per_header(list_index)):
            header_id = 800 + 50 * list_index + h
            headers.append(ProfileHeader(header_id, list_id, h + 1, HEADER_NAMES[(h + list_index) % len(HEADER_NAMES)],
                                         tuple(ProfileAttribute(header_id * 100 + a, header_id,
                                                                DATA_TYPES[(header_id + a) % len(DATA_TYPES)],
                                                                (50, 0, 255, 4000)[a % 4], a + 1,
                                                                ATTRIBUTE_NAMES[a % len(ATTRIBUTE_NAMES)])
                                               for a in range(attributes))))
        return headers

    # ---- dated list and account reports ------------------------------------------------------

    def _midnight_or(self, local: datetime, h: int) -> datetime:
        """A tenth of the dates on a local midnight, the rest with or without milliseconds."""
        shape = h % 10
        if shape == 0:
            local = local.replace(hour=0, minute=0, second=0, microsecond=0)
        elif shape < 5:
            local = local.replace(microsecond=0)
        else:
            local = local.replace(microsecond=(h >> 8) % 1000 * 1000)
        return self.data._utc(local)

    def _list_removals(self, list_index: int) -> tuple[Removal, ...]:
        """Every removal of the list's messages, and the administrator's removals of every tenth subscriber."""
        data, found = self.data, {}
        for m in data.messages(list_index):
            for e in data.events(list_index, m.index).removals:
                found.setdefault((e.contact_id, e.when), e)
        for k in range(7, data.spec.subscribers_per_list, 10):
            contact = data.contact(list_index, k)
            h = _hash_int(data.spec.seed, "admin-removal", list_index, k)
            local = data.clock.to_local(contact.addition) + timedelta(seconds=3600 + h % (400 * 86400))
            e = Removal(self._midnight_or(local, h >> 12), contact.contact_id, contact.email,
                        contact.addition if k % 20 == 7 else DOTNET_MIN, ADMIN_METHODS[(h >> 30) % len(ADMIN_METHODS)])
            found.setdefault((e.contact_id, e.when), e)
        return tuple(sorted(found.values(), key=lambda e: (e.when, e.email)))

    def _hygiene(self, list_index: int) -> tuple[Hygiene, ...]:
        if list_index % len(ATTRIBUTES_PER_HEADER) == 1:
            return ()
        data, found = self.data, []
        for k in range(4, data.spec.subscribers_per_list, 9):
            contact = data.contact(list_index, k)
            h = _hash_int(data.spec.seed, "hygiene", list_index, k)
            local = data.clock.to_local(contact.addition) + timedelta(seconds=3600 + h % (60 * 86400))
            old = (None, contact.email.replace("@", "@@"), contact.email.upper() + ".con")[k // 9 % 3]
            found.append(Hygiene(contact.contact_id, old, contact.email, contact.addition,
                                 self._midnight_or(local, h >> 12)))
        return tuple(sorted(found, key=lambda e: (e.HygieneDate, e.ContactID)))

    def complaints(self) -> tuple[Complaint, ...]:
        return self._complaints()

    def _all_complaints(self) -> tuple[Complaint, ...]:
        data, found = self.data, []
        for cl in data.lists():
            for m in data.messages(cl.index):
                if m.is_test or m.index == QUIET_MESSAGE:
                    continue
                campaign_id, campaign_name = self.campaign_of(m)
                send_local = data.clock.to_local(m.SendDate)
                for contact in data.recipients(cl.index, m.index):
                    h = _hash_int(data.spec.seed, "complaint", m.MsgID, contact.contact_id)
                    if h % 23:
                        continue
                    local = send_local + timedelta(seconds=600 + (h >> 5) % (20 * 86400))
                    found.append(Complaint(cl.ListID, campaign_id, m.MsgID, self._midnight_or(local, h >> 20),
                                           cl.ListName, campaign_name, m.Subject, contact.contact_id, contact.email,
                                           ISP_NAMES[(h >> 40) % len(ISP_NAMES)]))
        return tuple(sorted(found, key=lambda e: (e.AbuseDate, e.MessageID, e.EmailAddress)))
