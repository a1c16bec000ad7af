"""Deterministic, lazy generator of the emulated Listrak account.

Every list, message, contact and event is a pure function of (seed, ids), computed on first use and
kept in bounded caches, so an account of hundreds of thousands of records starts instantly. The server
and the ground truth both read this one generator; nothing about the data is written down twice.

All instants are naive UTC datetimes with millisecond precision (see times.py). Values are produced as
local wall times of the account's zone first (so that midnights are local midnights) and converted.
"""
from __future__ import annotations

import hashlib
import random
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from decimal import Context, Decimal
from functools import lru_cache
from typing import NamedTuple, Optional

from .spec import DatasetSpec
from .times import DOTNET_MIN, Clock

LIST_ID_BASE, LIST_ID_STEP = 5001, 11
MSG_ID_BASE, MSG_ID_STEP = 300007, 7
TEST_MESSAGE_RECIPIENTS = 10

# Index of the message inside its list that carries each designed special case.
BUSY_CONTACT_MESSAGE = 0  # one contact with several opens, reads and clicks (same link twice)
YEAR_END_MESSAGE = 1  # sent late on 31 December: its events run into January
QUIET_MESSAGE = 2  # sent, but no opens, clicks, reads, removals or bounces
NIL_ITEM_MESSAGE = 3  # its arrays end with an xsi:nil item
FORCED_TEST_MESSAGE = 4  # a test message whenever test_message_rate > 0

_DEC = Context(prec=28)  # .NET System.Decimal keeps 28-29 significant digits
_CENT = Decimal("0.01")

LIST_NAMES = (
    'Newsletter & Offers <VIP> "Gold" \'members\'',
    "Café Crème – l'été ☕ 🎉",
    "顧客リスト（日本）",
)
SUBJECTS = (
    "Weekly deals & offers <{n}>",
    "L'été est là – « soldes » jusqu'à -50 % ☀️",
    "新商品のお知らせ 🆕 #{n}",
    "\"Quoted\" subject with 'apostrophes' & <tags> {n}",
    "",
    None,
    "Ünïcödé Ñews № {n} — ✉️",
    "  padded subject {n}  ",
    "Plain subject {n}",
)
LINKS = (
    ("https://shop.example.com/p?id={n}&utm_source=listrak&utm_medium=email", "Shop now & save"),
    ("https://example.com/café/menü?q=crème+brûlée&x={n}", "Café « menu » 🍰"),
    ("https://例え.jp/パス?x={n}", "日本語リンク"),
    ("https://example.com/o'brien?a={n}&b=<2>", 'He said "hi" > she said \'bye\''),
    ("https://example.com/unsubscribe?e={n}", ""),
    ("https://example.com/view-in-browser/{n}", None),
)
ADDITION_METHODS = ("Web Form", "Import", "API", "Sign-up «Pop-up» & <Co>", "", None, "店舗 POS 🛒")
REMOVAL_METHODS = ("Unsubscribe link", "List-Unsubscribe header", "Complaint (feedback loop) & block", "", None, "Désinscription «web»")
BOUNCE_REASONS = ("Hard Bounce", "Soft Bounce", "Blocked", "", None, "Unknown <other>")
BOUNCE_DETAILS = (
    "550 5.1.1 <{email}>: Recipient address rejected: User unknown",
    "452 4.2.2 Mailbox full & over quota – « réessayer plus tard »",
    '554 5.7.1 Message rejected: "spam" content detected 🚫',
    "",
    None,
    "421 4.7.0 Deferred; see https://help.example.com/?a=1&b=2 'later'",
    "メールボックスが見つかりません",
)
# Addresses of contacts k = 0..4 modulo 11; the others are plain.
EMAIL_STYLES = ("o'brien+tag{k}@exämple.com", "sales&marketing{k}@example.com", "josé.garcía{k}@correo.es",
                "用户{k}@例子.测试", "First.Last{k}@Example.COM")
TRACKING_DOMAINS = ("shop.example.com", "www.exämple.de", "例え.jp")


class Contact(NamedTuple):
    contact_id: str
    email: str
    addition: datetime  # UTC
    addition_method: Optional[str]


class Open(NamedTuple):  # also used for reads
    when: datetime
    contact_id: str
    email: str


class Click(NamedTuple):
    when: datetime
    contact_id: str
    email: str
    link_description: Optional[str]
    link_url: str


class Removal(NamedTuple):
    when: datetime  # RemovalDate
    contact_id: str
    email: str
    addition: datetime  # AdditionDate, DOTNET_MIN when unknown
    method: Optional[str]


class Bounce(NamedTuple):
    when: datetime
    contact_id: str
    email: str
    reason: Optional[str]
    detail: Optional[str]
    count: int


@dataclass(frozen=True)
class ContactList:
    index: int
    ListID: int
    ListName: Optional[str]
    CreateDate: datetime
    FromName: Optional[str]
    FromEmail: Optional[str]
    EnableRemovalLink: bool
    EnableBrowserLink: bool
    bounceHandling: int
    EnableDoubleOptin: bool
    EnableListHygiene: bool
    Vmta: Optional[tuple]  # (VmtaID, Description or None)
    ShowEmailList: bool
    ShowAdvancedPersonalization: bool
    BounceUnsubscribeCount: int
    DomainAliasLink: Optional[str]
    DomainAliasEmail: Optional[str]
    EnableRSS: bool
    EnableGoogleAnalytics: bool
    GoogleTrackingDomains: tuple
    EnableInternationalization: bool
    EnableDynamicContent: bool
    EnableListRemoveHeader: bool


@dataclass(frozen=True)
class Message:
    list_index: int
    index: int
    is_test: bool
    recipient_count: int
    links: tuple  # ((url, description or None), ...)
    ListID: int
    MsgID: int
    Subject: Optional[str]
    SendDate: datetime
    DeliverCount: int
    RemoveCount: int
    RemovePercent: Decimal
    OpenCount: int
    OpenPercent: Decimal
    ReadCount: int
    ReadPercent: Decimal
    ClickCount: int
    ClickerCount: int
    RepeatClickerCount: int
    NewClickerCount: int
    ClickerPercent: Decimal
    OrderTotal: Decimal
    ConversionCount: int
    AverageOrderValue: Decimal


def _wire_fields(cls) -> tuple[str, ...]:
    """The fields an item carries on the wire, in the WSDL's order (bookkeeping fields are all lowercase)."""
    return tuple(f.name for f in fields(cls) if not f.name.islower())


LIST_FIELDS, MESSAGE_FIELDS = _wire_fields(ContactList), _wire_fields(Message)


@dataclass(frozen=True)
class MessageEvents:
    opens: tuple
    clicks: tuple
    reads: tuple
    removals: tuple
    bounces: tuple


class AsOf(NamedTuple):
    """The account at an instant: messages sent, contacts added and events dated up to `now` exist; the event
    reports, and the counters derived from them, hold the events up to `reported` (now - reporting delay)."""
    now: datetime
    reported: datetime


def cutoffs(instant: Optional[datetime], delay_hours: float = 0.0) -> Optional[AsOf]:
    """The clock's cutoffs, or None without a clock (everything exists and is reported)."""
    return None if instant is None else AsOf(instant, instant - timedelta(hours=delay_hours))


def until(events: tuple, moment: datetime) -> tuple:
    """The events (sorted by date, as MessageEvents holds them) dated at or before moment."""
    return events[:bisect_right(events, moment, key=lambda e: e.when)]


def _percent(part: int, whole: int) -> Decimal:
    return _DEC.divide(Decimal(part * 100), Decimal(whole)) if whole else Decimal("0")


def _hash_int(*parts) -> int:
    text = "/".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


class Dataset:
    """The account. Cheap to build; generates on demand."""

    def __init__(self, spec: DatasetSpec) -> None:
        self.spec = spec
        self.clock = Clock(spec.timezone)
        self.vanished = frozenset(spec.vanish_msg_ids)
        self._span_days = (spec.last_date - spec.first_date).days + 1
        self._first_local = datetime.combine(spec.first_date, datetime.min.time())
        # Per-instance caches: bounded, so memory stays small whatever the account size.
        self.message = lru_cache(maxsize=4096)(self._message)
        self.reported_message = lru_cache(maxsize=4096)(self._reported_message)
        self.events = lru_cache(maxsize=64)(self._events)
        self.recipients = lru_cache(maxsize=64)(self._recipients)
        self.subscribers = lru_cache(maxsize=16)(self._subscribers)
        self.contact_list = lru_cache(maxsize=None)(self._contact_list)

    # ---- ids ---------------------------------------------------------------------------------

    @property
    def lists_with_messages(self) -> int:
        spec = self.spec
        return spec.lists - min(spec.empty_lists, max(spec.lists - 1, 0))

    def list_ids(self) -> list[int]:
        return [LIST_ID_BASE + i * LIST_ID_STEP for i in range(self.spec.lists)]

    def list_index(self, list_id: int) -> Optional[int]:
        offset = list_id - LIST_ID_BASE
        if offset < 0 or offset % LIST_ID_STEP:
            return None
        index = offset // LIST_ID_STEP
        return index if index < self.spec.lists else None

    def message_count(self, list_index: int) -> int:
        if list_index >= self.lists_with_messages:
            return 0
        return self.spec.messages_per_list + (self.spec.burst_messages if list_index == 0 else 0)

    def msg_id(self, list_index: int, index: int) -> int:
        per_list = self.spec.messages_per_list
        if index >= per_list:  # a burst message of list 0: numbered after every regular message
            return MSG_ID_BASE + (self.spec.lists * per_list + index - per_list) * MSG_ID_STEP
        return MSG_ID_BASE + (list_index * per_list + index) * MSG_ID_STEP

    def locate_message(self, msg_id: int) -> Optional[tuple[int, int]]:
        """MsgID -> (list index, message index), or None when the account has no such message."""
        offset = msg_id - MSG_ID_BASE
        per_list = self.spec.messages_per_list
        if offset < 0 or offset % MSG_ID_STEP:
            return None
        number = offset // MSG_ID_STEP
        regular = self.spec.lists * per_list
        if number >= regular:
            list_index, index = 0, per_list + number - regular
        else:
            list_index, index = divmod(number, per_list)
        if list_index >= self.spec.lists or index >= self.message_count(list_index):
            return None
        return list_index, index

    def burst_send_date(self) -> datetime:
        """When the burst messages of list 0 are all sent (UTC): the middle day of the span, 09:00 local."""
        local = self._first_local + timedelta(days=self._span_days // 2, hours=9)
        return self._utc(local)

    # ---- time helpers ------------------------------------------------------------------------

    def _utc(self, local: datetime) -> datetime:
        return self.clock.to_utc(self.clock.unambiguous(local))

    @staticmethod
    def _shape_time(local: datetime, rng: random.Random, midnight_share: float = 0.08) -> datetime:
        """Snap some times to the next local midnight, keep some whole seconds, others milliseconds."""
        roll = rng.random()
        if roll < midnight_share:
            day = local.replace(hour=0, minute=0, second=0, microsecond=0)
            return day if day == local else day + timedelta(days=1)
        if roll < 0.5:
            return local.replace(microsecond=0)
        return local.replace(microsecond=rng.randrange(1000) * 1000)

    # ---- lists -------------------------------------------------------------------------------

    def lists(self) -> list[ContactList]:
        return [self.contact_list(i) for i in range(self.spec.lists)]

    def _contact_list(self, i: int) -> ContactList:
        rng = random.Random(f"{self.spec.seed}/list/{i}")
        name = LIST_NAMES[i] if i < len(LIST_NAMES) else f"List {i} — Ωmega & co"
        if i % 3 == 1:
            create = DOTNET_MIN
        else:
            local = self._first_local - timedelta(days=rng.randrange(30, 900), seconds=rng.randrange(86400))
            create = self._utc(self._shape_time(local, rng, midnight_share=0.3))
        vmta_kind = i % 4
        vmta = {0: (101 + i, "Shared pool «A» & <B>"), 1: None, 2: (201 + i, None), 3: (301 + i, "")}[vmta_kind]
        return ContactList(
            index=i,
            ListID=LIST_ID_BASE + i * LIST_ID_STEP,
            ListName=name,
            CreateDate=create,
            FromName=("Ma boutique & Cie", "", None)[i % 3],
            FromEmail=f"news{i}@exämple.com" if i % 5 != 4 else None,
            EnableRemovalLink=rng.random() < 0.9,
            EnableBrowserLink=rng.random() < 0.5,
            bounceHandling=rng.randrange(3),
            EnableDoubleOptin=rng.random() < 0.3,
            EnableListHygiene=rng.random() < 0.5,
            Vmta=vmta,
            ShowEmailList=rng.random() < 0.5,
            ShowAdvancedPersonalization=rng.random() < 0.5,
            BounceUnsubscribeCount=rng.randrange(0, 6),
            DomainAliasLink=("links.example.com", None, "")[i % 3],
            DomainAliasEmail=(None, "", "mail.exämple.com")[i % 3],
            EnableRSS=rng.random() < 0.2,
            EnableGoogleAnalytics=rng.random() < 0.6,
            GoogleTrackingDomains=(TRACKING_DOMAINS[:0], TRACKING_DOMAINS[:1], TRACKING_DOMAINS)[i % 3],
            EnableInternationalization=rng.random() < 0.5,
            EnableDynamicContent=rng.random() < 0.5,
            EnableListRemoveHeader=rng.random() < 0.5,
        )

    # ---- contacts ----------------------------------------------------------------------------

    def contact_universe(self) -> int:
        return max(self.spec.subscribers_per_list, self.spec.recipients, TEST_MESSAGE_RECIPIENTS, 1)

    def contact(self, list_index: int, k: int) -> Contact:
        h = _hash_int(self.spec.seed, "contact", list_index, k)
        list_id = LIST_ID_BASE + list_index * LIST_ID_STEP
        style = k % 11
        email = (EMAIL_STYLES[style] if style < len(EMAIL_STYLES) else "contact{k}.l{list_id}@example.com").format(
            k=k, list_id=list_id)
        # Subscriptions spread from two years before the first send to the last day.
        span = (self._span_days + 730) * 86400
        local = self._first_local - timedelta(days=730) + timedelta(seconds=h % span)
        shape = (h >> 40) % 10
        if shape == 0:
            local = local.replace(hour=0, minute=0, second=0)
        elif shape < 5:
            local = local.replace(microsecond=((h >> 20) % 1000) * 1000)
        method = ADDITION_METHODS[(h >> 48) % len(ADDITION_METHODS)]
        contact_id = str(list_id * 1_000_000 + k * 3 + 7)
        return Contact(contact_id, email, self._utc(local), method)

    def _subscribers(self, list_index: int) -> tuple[Contact, ...]:
        contacts = [self.contact(list_index, k) for k in range(self.spec.subscribers_per_list)]
        contacts.sort(key=lambda c: (c.addition, c.contact_id))
        return tuple(contacts)

    def nil_item_in_subscribers(self, list_index: int) -> bool:
        return self.spec.nil_items and list_index == 0

    # ---- messages ----------------------------------------------------------------------------

    def messages(self, list_index: int) -> list[Message]:
        """A list's messages (test messages included), ordered by SendDate then MsgID."""
        found = [self.message(list_index, j) for j in range(self.message_count(list_index))]
        found.sort(key=lambda m: (m.SendDate, m.MsgID))
        return found

    def all_messages(self) -> list[Message]:
        return [m for i in range(self.spec.lists) for m in self.messages(i)]

    def _send_local(self, rng: random.Random, j: int, n: int) -> datetime:
        slot = self._span_days / n
        day = int((j + 0.5 + rng.uniform(-0.3, 0.3)) * slot)
        day = min(max(day, 0), self._span_days - 1)
        local = self._first_local + timedelta(days=day)
        if j == YEAR_END_MESSAGE:
            year_end = local.replace(month=12, day=31)
            for candidate in (year_end, year_end.replace(year=year_end.year - 1)):
                if self._first_local <= candidate and candidate.date() <= self.spec.last_date:
                    return candidate.replace(hour=22, minute=15, second=30, microsecond=250000)
        if j % 4 == 3:
            return local  # exactly midnight
        local += timedelta(seconds=rng.randrange(6 * 3600, 22 * 3600))
        if j % 4 == 1:
            return local
        return local.replace(microsecond=rng.randrange(1, 1000) * 1000)

    def _message(self, list_index: int, j: int) -> Message:
        spec = self.spec
        rng = random.Random(f"{spec.seed}/message/{list_index}/{j}")
        n = spec.messages_per_list
        # The designed special cases (indexes below FORCED_TEST_MESSAGE) are never test messages.
        roll = rng.random()
        burst = j >= n
        is_test = spec.test_message_rate > 0 and not burst and (
            j == FORCED_TEST_MESSAGE or (j > FORCED_TEST_MESSAGE and roll < spec.test_message_rate))
        send = self.burst_send_date() if burst else self._utc(self._send_local(rng, j, n))
        msg_id = self.msg_id(list_index, j)
        subject = SUBJECTS[(j + list_index) % len(SUBJECTS)]
        if subject is not None:
            subject = subject.format(n=msg_id)
            if is_test and subject:
                subject = "[Test] " + subject
        link_count = 3 + rng.randrange(3) if j == BUSY_CONTACT_MESSAGE else 1 + rng.randrange(5)
        picks = rng.sample(range(len(LINKS)), min(link_count, len(LINKS)))
        links = tuple((LINKS[p][0].format(n=f"{msg_id}-{p}"), LINKS[p][1]) for p in sorted(picks))
        recipients = min(spec.recipients, TEST_MESSAGE_RECIPIENTS) if is_test else spec.recipients
        return Message(
            list_index=list_index, index=j, is_test=is_test, recipient_count=recipients, links=links,
            ListID=LIST_ID_BASE + list_index * LIST_ID_STEP, MsgID=msg_id, Subject=subject, SendDate=send,
            **self._statistics(rng, j, recipients),
        )

    def _statistics(self, rng: random.Random, j: int, sent: int) -> dict:
        """Report figures of the message. They look like Listrak's (counts, percentages with .NET decimal
        precision, money with cents); they are not recounted from the events, as the live figures
        are not either (they cover activity outside any requested window)."""
        spec = self.spec
        deliver = sent - round(sent * spec.bounce_rate * rng.uniform(0.5, 1.5))
        deliver = max(deliver, 0)
        removes = round(deliver * spec.unsub_rate * rng.uniform(0.5, 1.5))
        openers = round(deliver * spec.open_rate * rng.uniform(0.7, 1.1))
        opens = openers + round(openers * rng.uniform(0, 0.6))
        readers = min(round(deliver * spec.read_rate * rng.uniform(0.7, 1.1)), openers)
        clickers = min(round(deliver * spec.click_rate * rng.uniform(0.7, 1.1)), openers)
        repeat = round(clickers * rng.uniform(0, 0.4))
        conversions = round(clickers * rng.uniform(0, 0.3))
        order_total = Decimal(rng.randrange(0, 5_000_000)) / 100 if conversions else Decimal("0")

        def percent(part: int) -> Decimal:
            if not deliver:
                return Decimal("0")
            # Half the messages carry the full 28-digit quotient, half a rounded figure.
            return _percent(part, deliver) if rng.random() < 0.5 else _percent(part, deliver).quantize(_CENT)

        stats = dict(
            DeliverCount=deliver, RemoveCount=removes, RemovePercent=percent(removes),
            OpenCount=opens, OpenPercent=percent(openers), ReadCount=readers, ReadPercent=percent(readers),
            ClickCount=clickers + repeat + round(clickers * rng.uniform(0, 0.5)), ClickerCount=clickers,
            RepeatClickerCount=repeat, NewClickerCount=clickers - repeat, ClickerPercent=percent(clickers),
            OrderTotal=order_total, ConversionCount=conversions,
            AverageOrderValue=_DEC.divide(order_total, Decimal(conversions)) if conversions else Decimal("0"),
        )
        if j == BUSY_CONTACT_MESSAGE:
            # Fixed awkward figures: many digits, and one that no binary float can hold exactly.
            stats.update(RemovePercent=Decimal("0.123456789"), OrderTotal=Decimal("12345.67"),
                         AverageOrderValue=Decimal("98765.4321098765432101"),
                         OpenPercent=Decimal("33.333333333333333333333333333"))
        return stats

    def _reported_message(self, list_index: int, index: int, reported: datetime) -> Message:
        """The message when the reports hold its events up to `reported` (a clock is set): its counters are
        recounted from exactly those events, so a client can check them against the event reports.
        DeliverCount is recipients minus reported bounces; each percentage keeps the form (full quotient or
        cents) of the generated figure; order and conversion figures are not events and stay as generated."""
        message, events = self.message(list_index, index), self.events(list_index, index)
        opens, clicks, reads, removals, bounces = (until(getattr(events, f.name), reported)
                                                   for f in fields(MessageEvents))
        deliver = message.recipient_count - len(bounces)
        clicks_per_contact = Counter(e.contact_id for e in clicks)
        clickers = len(clicks_per_contact)
        repeat = sum(1 for n in clicks_per_contact.values() if n > 1)

        def percent(part: int, generated: Decimal) -> Decimal:
            value = _percent(part, deliver)
            return value.quantize(_CENT) if generated.as_tuple().exponent == -2 else value

        return replace(
            message, DeliverCount=deliver,
            RemoveCount=len(removals), RemovePercent=percent(len(removals), message.RemovePercent),
            OpenCount=len(opens), OpenPercent=percent(len({e.contact_id for e in opens}), message.OpenPercent),
            ReadCount=len(reads), ReadPercent=percent(len({e.contact_id for e in reads}), message.ReadPercent),
            ClickCount=len(clicks), ClickerCount=clickers, RepeatClickerCount=repeat,
            NewClickerCount=clickers - repeat, ClickerPercent=percent(clickers, message.ClickerPercent),
        )

    def nil_item_in_message(self, list_index: int, index: int) -> bool:
        return self.spec.nil_items and index == NIL_ITEM_MESSAGE

    def nil_item_in_activity(self, list_index: int) -> bool:
        return self.spec.nil_items and list_index == 0

    # ---- per-message detail ------------------------------------------------------------------

    def _recipient_indexes(self, message: Message) -> range | list[int]:
        if message.is_test:
            return range(message.recipient_count)
        universe = self.contact_universe()
        start = _hash_int(self.spec.seed, "audience", message.MsgID) % universe
        return [(start + r) % universe for r in range(message.recipient_count)]

    def _recipients(self, list_index: int, index: int) -> tuple[Contact, ...]:
        message = self.message(list_index, index)
        return tuple(self.contact(list_index, k) for k in self._recipient_indexes(message))

    def _events(self, list_index: int, index: int) -> MessageEvents:
        message = self.message(list_index, index)
        if index == QUIET_MESSAGE:
            return MessageEvents((), (), (), (), ())
        spec = self.spec
        rng = random.Random(f"{spec.seed}/events/{list_index}/{index}")
        clock = self.clock
        send_local = clock.to_local(message.SendDate)
        horizon = send_local + timedelta(days=45)
        opens, clicks, reads, removals, bounces = [], [], [], [], []
        p_read = spec.read_rate / spec.open_rate if spec.open_rate else 0.0
        p_click = spec.click_rate / spec.open_rate if spec.open_rate else 0.0
        p_unsub = spec.unsub_rate / (1 - spec.bounce_rate) if spec.bounce_rate < 1 else 0.0

        def later(base: datetime, low: float, high: float) -> datetime:
            return base + timedelta(seconds=rng.uniform(low, high))

        def first_delay() -> datetime:
            roll = rng.random()
            if roll < 0.6:
                return later(send_local, 60, 2 * 86400)
            if roll < 0.9:
                return later(send_local, 2 * 86400, 20 * 86400)
            return later(send_local, 20 * 86400, 44 * 86400)

        def distinct_times(count: int, start: datetime, gap_low: float, gap_high: float) -> list[datetime]:
            """count wall times from start on, at least a second apart, shaped, within the horizon."""
            times, current = [], start
            for _ in range(count):
                stamp = self._utc(self._shape_time(current, rng))
                if times and stamp.replace(microsecond=0) <= times[-1].replace(microsecond=0):
                    bumped = times[-1].replace(microsecond=0) + timedelta(seconds=1, microseconds=stamp.microsecond)
                    stamp = self._utc(clock.to_local(bumped))
                times.append(stamp)
                current = min(later(clock.to_local(stamp), gap_low, gap_high), horizon)
            return times

        for position, contact in enumerate(self.recipients(list_index, index)):
            cid, email = contact.contact_id, contact.email
            busy = index == BUSY_CONTACT_MESSAGE and position == 0
            roll = rng.random()
            if not busy and roll < spec.bounce_rate:
                when = self._utc(self._shape_time(later(send_local, 1, 3 * 86400), rng))
                detail = BOUNCE_DETAILS[rng.randrange(len(BOUNCE_DETAILS))]
                bounces.append(Bounce(when, cid, email, BOUNCE_REASONS[rng.randrange(len(BOUNCE_REASONS))],
                                      detail.format(email=email) if detail else detail, 1 + rng.randrange(3)))
                continue
            if busy or roll < spec.bounce_rate + spec.open_rate:
                n_opens = 3 if busy else rng.choices((1, 2, 3), (70, 20, 10))[0]
                open_times = distinct_times(n_opens, first_delay(), 60, 5 * 86400)
                opens.extend(Open(t, cid, email) for t in open_times)
                if busy or rng.random() < p_read:
                    n_reads = 2 if busy else rng.choices((1, 2), (85, 15))[0]
                    read_start = clock.to_local(open_times[0]) + timedelta(seconds=rng.uniform(2, 300))
                    reads.extend(Open(t, cid, email) for t in distinct_times(n_reads, read_start, 60, 3 * 86400))
                if busy:
                    # Two different links, then the first link again later, then a third link.
                    chosen = [message.links[0], message.links[1 % len(message.links)], message.links[0],
                              message.links[2 % len(message.links)]]
                elif rng.random() < p_click:
                    chosen = [rng.choice(message.links) for _ in range(rng.choices((1, 2, 3), (75, 20, 5))[0])]
                else:
                    chosen = []
                if chosen:
                    click_start = clock.to_local(open_times[0]) + timedelta(seconds=rng.uniform(1, 600))
                    for t, (url, desc) in zip(distinct_times(len(chosen), click_start, 30, 2 * 86400), chosen):
                        clicks.append(Click(t, cid, email, desc, url))
            if not busy and rng.random() < p_unsub:
                when = self._utc(self._shape_time(later(send_local, 120, 30 * 86400), rng))
                addition = DOTNET_MIN if rng.random() < 0.3 else min(contact.addition, message.SendDate - timedelta(days=1))
                removals.append(Removal(when, cid, email, addition, REMOVAL_METHODS[rng.randrange(len(REMOVAL_METHODS))]))

        opens.sort(key=lambda e: (e.when, e.email))
        reads.sort(key=lambda e: (e.when, e.email))
        clicks.sort(key=lambda e: (e.when, e.email, e.link_url))
        removals.sort(key=lambda e: (e.when, e.email))
        bounces.sort(key=lambda e: (e.when, e.email))
        return MessageEvents(tuple(opens), tuple(clicks), tuple(reads), tuple(removals), tuple(bounces))
