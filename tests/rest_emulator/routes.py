"""The GET routes: path templates (Swagger's), required access areas, envelope, and what each serves.

A route's handler returns the item (R) or every item (C, P) for its path ids and filters; the server puts
them in the envelope and, for P, cuts the page (paging.py). The ground truth calls the same handlers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Optional

from .account import ACTIVITY_TYPES, Account, Item
from .times import in_range, parse_request_date

SEGMENTATION_FIELD_LIMIT = 30


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict:
        return {"status": self.status, "error": self.code, "message": self.message}


def invalid(parameter: str) -> ApiError:
    return ApiError(400, "ERROR_INVALID_PARAMETER", f"An invalid value was supplied for {parameter}.")


def not_found(names: list[str]) -> ApiError:
    if len(names) == 1:
        joined = names[0]
    elif len(names) == 2:
        joined = f"{names[0]} and {names[1]}"
    else:
        joined = ", ".join(names[:-1]) + ", and " + names[-1]
    return ApiError(404, "ERROR_UNABLE_TO_LOCATE_RESOURCE",
                    f"Unable to locate a resource associated with the {joined} supplied.")


@dataclass(frozen=True)
class Route:
    operation: str
    path: str  # Swagger's, without /v1
    scopes: tuple[str, ...]
    envelope: str  # R, C or P
    handler: Callable
    names: tuple[str, ...] = ()
    pattern: Optional[re.Pattern] = None


class Context:
    """One request's view: the account, the server's knobs, the clock, the query (names lowercased)."""

    def __init__(self, account: Account, spec, at: Optional[datetime], query: dict, route: Route) -> None:
        self.account, self.spec, self.at, self.query, self.route = account, spec, at, query, route
        self.clock = account.clock

    def arg(self, name: str) -> Optional[str]:
        value = self.query.get(name.lower())
        return None if value is None else value

    def date(self, name: str) -> Optional[datetime]:
        text = self.arg(name)
        if text is None or text == "":
            return None
        try:
            return parse_request_date(text, self.clock, self.spec.request_zone)
        except (ValueError, OverflowError):
            raise invalid(name) from None

    def flag(self, name: str, default: bool) -> bool:
        text = self.arg(name)
        if text is None or text == "":
            return default
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise invalid(name)

    def window(self, items: list[Item], date_name: str) -> list[Item]:
        start, end = self.date("startDate"), self.date("endDate")
        return [i for i in items if in_range(i.dates.get(date_name), start, end, self.spec.range_ends)]

    def fail(self) -> ApiError:
        return not_found(list(self.route.names))


# ---- resolvers: path ids -> objects, or the route's 404 ----------------------------------------------------

def _int(ctx: Context, ids: dict, name: str) -> int:
    try:
        value = int(ids[name])
    except ValueError:
        raise ctx.fail() from None
    if not -2**31 <= value < 2**31:
        raise ctx.fail()
    return value


def _list(ctx: Context, ids: dict) -> int:
    li = ctx.account.data.list_index(_int(ctx, ids, "listId"))
    if li is None:
        raise ctx.fail()
    return li


def _message(ctx: Context, ids: dict, li: int, detail_only: bool = True):
    m = ctx.account.find_message(li, _int(ctx, ids, "messageId"), ctx.at)
    if m is None or m.MsgID in ctx.account.data.vanished:
        raise ctx.fail()
    return m


def _conversation(ctx: Context, ids: dict, li: int):
    cid = _int(ctx, ids, "conversationId")
    for c in ctx.account.conversations(li):
        if c.ConversationID == cid:
            return c
    raise ctx.fail()


def _conversation_message(ctx: Context, ids: dict, li: int, c):
    mid = _int(ctx, ids, "conversationMessageId")
    for entry in ctx.account.conversation_messages(li, c, ctx.at, include_previous=True):
        if entry[0] == mid:
            return entry
    raise ctx.fail()


def _conversation_model(ctx: Context, ids: dict):
    li = _list(ctx, ids)
    c = _conversation(ctx, ids, li)
    entry = _conversation_message(ctx, ids, li, c)
    return li, ctx.account.synthetic_model(li, entry[0], entry[1], 0, ctx.at)


def _transactional(ctx: Context, ids: dict, li: int):
    tid = _int(ctx, ids, "transactionalMessageId")
    for entry in ctx.account.transactional(li):
        if entry[0] == tid:
            return entry
    raise ctx.fail()


def _pick(ctx: Context, items: list[Item], key: str, name: str) -> Item:
    wanted = _int(ctx, {name: ctx.ids[name]}, name)
    for item in items:
        if item.wire[key] == wanted:
            return item
    raise ctx.fail()


# ---- filters -------------------------------------------------------------------------------------

def _activity(ctx: Context, items: list[Item], date_types: bool = True) -> list[Item]:
    kind = ctx.arg("activityType")
    if kind:
        names = {t.lower() for t in ACTIVITY_TYPES}
        if kind.lower() not in names:
            raise invalid("activityType")
        items = [i for i in items if i.dates["flags"][kind.lower()]]
    email = ctx.arg("emailAddress") if date_types else None
    if email:
        items = [i for i in items if i.wire["emailAddress"].lower() == email.strip().lower()]
    date_type = (ctx.arg("dateType") or "Send") if date_types else "Send"
    if date_type.lower() not in ("send", "activity"):
        raise invalid("dateType")
    start, end = ctx.date("startDate"), ctx.date("endDate")
    ends = ctx.spec.range_ends
    if date_type.lower() == "send":
        return [i for i in items if in_range(i.dates["sendDate"], start, end, ends)]
    if ctx.spec.activity_date_filter == "first":
        return [i for i in items if in_range(i.dates["activityDate"], start, end, ends)]
    return [i for i in items if any(in_range(d, start, end, ends) for d in i.dates["activityDates"])]


def _contacts(ctx: Context, li: int) -> list[Item]:
    account = ctx.account
    state = ctx.arg("subscriptionState") or "Subscribed"
    if state.lower() not in ("subscribed", "unsubscribed"):
        raise invalid("subscriptionState")
    state = state.capitalize()
    field_ids = _field_ids(ctx)
    original = ctx.flag("useOriginalSubscribeDate", True)
    external = ctx.arg("externalContactId")
    start, end = ctx.date("startDate"), ctx.date("endDate")
    out = []
    for p in account.contacts(li, ctx.at):
        if p["state"] != state:
            continue
        if external is not None and external != "" and account.external_id(li, p["contact_id"]) != external:
            continue
        if state == "Unsubscribed":  # startDate and endDate inclusive, on the unsubscribe date
            keep = in_range(p["unsubscribe"], start, end, "inclusive")
        elif original:  # the original subscribe date; both ends inclusive
            keep = in_range(p["subscribe"], start, end, "inclusive")
        else:  # the most recent subscribe date; endDate exclusive
            keep = in_range(p["resubscribe"] or p["subscribe"], start, end, "end-exclusive")
        if keep:
            out.append(account.contact_item(li, p, field_ids))
    return out


def _field_ids(ctx: Context) -> tuple[int, ...]:
    text = ctx.arg("segmentationFieldIds")
    if not text:
        return ()
    try:
        ids = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise invalid("segmentationFieldIds") from None
    if len(ids) > SEGMENTATION_FIELD_LIMIT:
        raise ApiError(400, "ERROR_TOO_MANY_SEGMENTATION_FIELDS",
                       f"Number of requested profile fields exceeds the limit of {SEGMENTATION_FIELD_LIMIT}.")
    return ids


def _contact(ctx: Context, ids: dict) -> Item:
    li = _list(ctx, ids)
    who = ids["contactIdentifier"].strip().lower()
    for p in ctx.account.contacts(li, ctx.at):
        if who in (p["email"].lower(), p["email_key"].lower()):
            return ctx.account.contact_item(li, p, _field_ids(ctx))
    raise ctx.fail()


# ---- the route table ------------------------------------------------------------------------------

def _routes() -> list[Route]:
    A = Account  # noqa: N806 - for brevity below
    L, M, R, E, S, C = "List", "Message", "Report", "Event", "Segmentation", "Contact"  # noqa: N806
    msg = "/List/{listId}/Message/{messageId}"
    conv = "/List/{listId}/Conversation/{conversationId}"
    cmsg = conv + "/Message/{conversationMessageId}"
    tx = "/List/{listId}/TransactionalMessage/{transactionalMessageId}"
    imp = "/List/{listId}/ListImport/{importFileId}"

    def model(ctx, ids):
        li = _list(ctx, ids)
        return li, ctx.account.model_of(_message(ctx, ids, li), ctx.at)

    def tx_model(ctx, ids):
        li = _list(ctx, ids)
        entry = _transactional(ctx, ids, li)
        return li, ctx.account.synthetic_model(li, entry[0], entry[5], 20, ctx.at)

    def link(ctx, ids, get_model, name):
        li, mm = get_model(ctx, ids)
        _pick(ctx, ctx.account.link_items(mm), "linkId", name)
        return mm, int(ids[name])

    def split(ctx, ids):
        li = _list(ctx, ids)
        sid = _int(ctx, ids, "splitTestId")
        for entry in ctx.account.split_tests(li, ctx.at):
            if entry[0] == sid:
                return entry
        raise ctx.fail()

    def imported(ctx, ids):
        li = _list(ctx, ids)
        fid = _int(ctx, ids, "importFileId")
        for entry in ctx.account.imports(li, ctx.at):
            if entry[0] == fid:
                return li, entry
        raise ctx.fail()

    def saved(ctx, ids):
        li = _list(ctx, ids)
        sid = _int(ctx, ids, "savedMessageId")
        for entry in ctx.account.saved_messages(li):
            if entry[0] == sid:
                return li, entry
        raise ctx.fail()

    def groups(ctx, ids):
        li = _list(ctx, ids)
        _pick(ctx, ctx.account.field_groups(li), "segmentationFieldGroupId", "segmentationFieldGroupId")
        return li, int(ids["segmentationFieldGroupId"])

    def messages(ctx, ids):
        li = _list(ctx, ids)
        found = [ctx.account.message_item(m) for m in
                 ctx.account.messages(li, ctx.at, ctx.flag("includeTestMessages", False))]
        return ctx.window(found, "sendDate")

    table = [
        ("List_GetListCollection", "/List", (L,), "C", lambda ctx, ids: ctx.account.lists()),
        ("List_GetListResourceById", "/List/{listId}", (L,), "R",
         lambda ctx, ids: ctx.account.list_item(_list(ctx, ids))),
        ("Campaign_GetCampaignCollection", "/List/{listId}/Campaign", (L, M), "C",
         lambda ctx, ids: ctx.account.campaigns(_list(ctx, ids), ctx.at)),
        ("Campaign_GetCampaignResource", "/List/{listId}/Campaign/{campaignId}", (L, M), "R",
         lambda ctx, ids: _pick(ctx, ctx.account.campaigns(_list(ctx, ids), ctx.at), "campaignId", "campaignId")),
        ("Contact_GetContactCollection", "/List/{listId}/Contact", (), "P",
         lambda ctx, ids: _contacts(ctx, _list(ctx, ids))),
        ("Contact_GetContactResourceByIdentifier", "/List/{listId}/Contact/{contactIdentifier}", (), "R", _contact),
        ("SegmentationFieldGroup_GetSegmentationFieldGroupCollection", "/List/{listId}/SegmentationFieldGroup", (L, S),
         "C", lambda ctx, ids: ctx.account.field_groups(_list(ctx, ids))),
        ("SegmentationFieldGroup_GetSegmentationFieldGroupResource",
         "/List/{listId}/SegmentationFieldGroup/{segmentationFieldGroupId}", (L, S), "R",
         lambda ctx, ids: _pick(ctx, ctx.account.field_groups(_list(ctx, ids)), "segmentationFieldGroupId",
                                "segmentationFieldGroupId")),
        ("SegmentationField_GetSegmentationFieldCollection",
         "/List/{listId}/SegmentationFieldGroup/{segmentationFieldGroupId}/SegmentationField", (L, S), "C",
         lambda ctx, ids: ctx.account.field_items(*groups(ctx, ids))),
        ("SegmentationField_GetSegmentationFieldResource",
         "/List/{listId}/SegmentationFieldGroup/{segmentationFieldGroupId}/SegmentationField/{segmentationFieldId}",
         (L, S), "R", lambda ctx, ids: _pick(ctx, ctx.account.field_items(*groups(ctx, ids)), "segmentationFieldId",
                                             "segmentationFieldId")),
        ("Message_GetMessageCollection", "/List/{listId}/Message", (L, M), "P", messages),
        ("Message_GetMessageResource", msg, (L, M), "R",
         lambda ctx, ids: ctx.account.message_detail(_message(ctx, ids, _list(ctx, ids)))),
        ("MessageActivity_GetMessageActivityCollection", msg + "/Activity", (L, M, R), "P",
         lambda ctx, ids: _activity(ctx, ctx.account.activity_items(*reversed(model(ctx, ids))))),
        ("MessageLink_GetMessageLinkCollection", msg + "/Link", (L, M, R), "P",
         lambda ctx, ids: ctx.account.link_items(model(ctx, ids)[1])),
        ("MessageLink_GetMessageLinkResource", msg + "/Link/{messageLinkId}", (L, M, R), "R",
         lambda ctx, ids: _pick(ctx, ctx.account.link_items(model(ctx, ids)[1]), "linkId", "messageLinkId")),
        ("MessageLinkClicker_GetMessageLinkClickerCollection", msg + "/Link/{messageLinkId}/Clicker", (L, M, R), "P",
         lambda ctx, ids: ctx.window(ctx.account.clicker_items(*link(ctx, ids, model, "messageLinkId")),
                                     "clickDate")),
        ("MessageStatus_GetMessageStatusResource", msg + "/Status", (L, M, R), "R",
         lambda ctx, ids: ctx.account.message_status(_message(ctx, ids, _list(ctx, ids)))),
        ("MessageSummary_GetMessageSummaryResource", msg + "/Summary", (L, M, R), "R",
         lambda ctx, ids: Item(model(ctx, ids)[1].counters, {})),
        ("Conversation_GetConversationCollection", "/List/{listId}/Conversation", (L,), "C",
         lambda ctx, ids: [ctx.account.conversation_item(c) for c in ctx.account.conversations(_list(ctx, ids))]),
        ("Conversation_GetConversationResource", conv, (L,), "R",
         lambda ctx, ids: ctx.account.conversation_item(_conversation(ctx, ids, _list(ctx, ids)))),
        ("ConversationSummary_GetConversationSummaryResource", conv + "/Summary", (L, R), "R",
         lambda ctx, ids: ctx.account.conversation_summary(_conversation(ctx, ids, _list(ctx, ids)))),
        ("ConversationMessage_GetConversationMessageCollection", conv + "/Message", (L, M), "P",
         lambda ctx, ids: _conversation_messages(ctx, ids)),
        ("ConversationMessage_GetConversationMessageResource", cmsg, (L, M), "R",
         lambda ctx, ids: _conversation_message_detail(ctx, ids)),
        ("ConversationMessageActivity_GetConversationMessageActivityCollection", cmsg + "/Activity", (L, M, R), "P",
         lambda ctx, ids: _activity(ctx, ctx.account.activity_items(*reversed(_conversation_model(ctx, ids))),
                                    date_types=False)),
        ("ConversationMessageLink_GetConversationMessageLinkCollection", cmsg + "/Link", (L, M, R), "P",
         lambda ctx, ids: ctx.account.link_items(_conversation_model(ctx, ids)[1])),
        ("ConversationMessageLink_GetConversationMessageLinkResource", cmsg + "/Link/{conversationMessageLinkId}",
         (L, M, R), "R", lambda ctx, ids: _pick(ctx, ctx.account.link_items(_conversation_model(ctx, ids)[1]),
                                                "linkId", "conversationMessageLinkId")),
        ("ConversationMessageLinkClicker_GetMessageLinkClickerCollection",
         cmsg + "/Link/{conversationMessageLinkId}/Clicker", (L, M, R), "P",
         lambda ctx, ids: ctx.window(ctx.account.clicker_items(
             *link(ctx, ids, _conversation_model, "conversationMessageLinkId")), "clickDate")),
        ("ConversationMessageSummary_GetMessageSummaryResource", cmsg + "/Summary", (L, M, R), "R",
         lambda ctx, ids: Item(_conversation_model(ctx, ids)[1].counters, {})),
        ("TransactionalMessage_GetTransactionalMessageCollection", "/List/{listId}/TransactionalMessage", (L, M), "C",
         lambda ctx, ids: [ctx.account.transactional_item(t) for t in ctx.account.transactional(_list(ctx, ids))]),
        ("TransactionalMessage_GetTransactionalMessageResource", tx, (L, M), "R",
         lambda ctx, ids: ctx.account.transactional_item(_transactional(ctx, ids, _list(ctx, ids)))),
        ("TransactionalMessageActivity_GetTransactionalMessageActivityCollection", tx + "/Activity", (L, M, R), "P",
         lambda ctx, ids: _activity(ctx, ctx.account.activity_items(*reversed(tx_model(ctx, ids)),
                                                                    transactional=True))),
        ("Event_GetEventCollection", "/List/{listId}/Event", (L, E), "C",
         lambda ctx, ids: ctx.account.events(_list(ctx, ids))),
        ("Event_GetEventResource", "/List/{listId}/Event/{eventId}", (L, E), "R",
         lambda ctx, ids: _pick(ctx, ctx.account.events(_list(ctx, ids)), "eventId", "eventId")),
        ("EventGroup_GetEventGroupCollection", "/List/{listId}/EventGroup", (L, E), "C",
         lambda ctx, ids: ctx.account.event_groups(_list(ctx, ids))),
        ("EventGroup_GetEventGroupResource", "/List/{listId}/EventGroup/{eventGroupId}", (L, E), "R",
         lambda ctx, ids: _pick(ctx, ctx.account.event_groups(_list(ctx, ids)), "eventGroupId", "eventGroupId")),
        ("SavedAudience_GetSavedAudienceResourceCollection", "/List/{listId}/SavedAudience", (L,), "P",
         lambda ctx, ids: ctx.account.saved_audiences(_list(ctx, ids))),
        ("SplitTest_GetSplitTestCollection", "/List/{listId}/SplitTest", (L, M), "P",
         lambda ctx, ids: ctx.window([ctx.account.split_test_item(e, ctx.at)
                                      for e in ctx.account.split_tests(_list(ctx, ids), ctx.at)], "startDate")),
        ("SplitTest_GetSplitTestResource", "/List/{listId}/SplitTest/{splitTestId}", (L, M), "R",
         lambda ctx, ids: ctx.account.split_test_item(split(ctx, ids), ctx.at)),
        ("SplitTest_GetSplitTestMessageResources", "/List/{listId}/SplitTest/{splitTestId}/Message", (L, M), "C",
         lambda ctx, ids: ctx.account.split_test_messages(split(ctx, ids))),
        ("ListImport_GetListImportCollection", "/List/{listId}/ListImport", (L, C), "C",
         lambda ctx, ids: ctx.window([ctx.account.import_item(e) for e in ctx.account.imports(_list(ctx, ids), ctx.at)],
                                     "importDate")),
        ("ListImport_GetListImportResource", imp, (L, C), "R",
         lambda ctx, ids: ctx.account.import_item(imported(ctx, ids)[1])),
        ("ListImportContact_GetListImportContactCollection", imp + "/Contact", (L, C, R), "P",
         lambda ctx, ids: ctx.account.import_contacts(*imported(ctx, ids))),
        ("ListImportStatus_GetListImportStatusResource", imp + "/Status", (L, C, R), "R",
         lambda ctx, ids: ctx.account.import_status(imported(ctx, ids)[1])),
        ("ListImportSummary_GetListImportSummaryResource", imp + "/Summary", (L, C, R), "R",
         lambda ctx, ids: ctx.account.import_summary(*imported(ctx, ids))),
        ("SavedMessage_GetSavedMessageCollection", "/List/{listId}/SavedMessage", (L, M), "C",
         lambda ctx, ids: [ctx.account.saved_message_item(li, e) for li in [_list(ctx, ids)]
                           for e in ctx.account.saved_messages(li)]),
        ("SavedMessage_GetSavedMessageResource", "/List/{listId}/SavedMessage/{savedMessageId}", (L, M), "R",
         lambda ctx, ids: ctx.account.saved_message_item(*saved(ctx, ids), detail=True)),
        ("Folder_GetFolderCollection", "/Folder", (L,), "C", lambda ctx, ids: ctx.account.folders()),
        ("Folder_GetFolderResource", "/Folder/{folderId}", (L,), "R",
         lambda ctx, ids: _pick(ctx, ctx.account.folders(), "folderId", "folderId")),
        ("IpPool_GetIpPoolCollection", "/IpPool", (), "C", lambda ctx, ids: ctx.account.ip_pools()),
        ("Content_GetContentCollection", "/Content", (M,), "C", lambda ctx, ids: ctx.account.contents()),
        ("Content_GetContentResource", "/Content/{contentId}", (M,), "R",
         lambda ctx, ids: _pick(ctx, ctx.account.contents(), "contentId", "contentId")),
        ("ContentFolder_GetContentFolderCollection", "/ContentFolder", (M,), "C",
         lambda ctx, ids: ctx.account.content_folders()),
    ]
    del A
    routes = []
    for operation, path, scopes, envelope, handler in table:
        names = tuple(re.findall(r"\{(\w+)\}", path))
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
        routes.append(Route(operation, path, scopes, envelope, handler, names,
                            re.compile(regex + "/?", re.IGNORECASE)))
    return routes


def _conversation_messages(ctx: Context, ids: dict) -> list[Item]:
    li = _list(ctx, ids)
    c = _conversation(ctx, ids, li)
    return [ctx.account.conversation_message_item(c, e)
            for e in ctx.account.conversation_messages(li, c, ctx.at, ctx.flag("includePreviousVersions", False))]


def _conversation_message_detail(ctx: Context, ids: dict) -> Item:
    li = _list(ctx, ids)
    c = _conversation(ctx, ids, li)
    return ctx.account.conversation_message_item(c, _conversation_message(ctx, ids, li, c), detail=True)


ROUTES = _routes()
BY_OPERATION = {r.operation: r for r in ROUTES}


def match(path: str) -> Optional[tuple[Route, dict]]:
    """A path relative to /email/v1 -> (route, path ids as strings), or None."""
    for route in ROUTES:
        found = route.pattern.fullmatch(path)
        if found:
            return route, found.groupdict()
    return None


def run(route: Route, ids: dict, account: Account, spec, at, query: dict):
    """The route's item (R) or items (C, P); raises ApiError."""
    ctx = Context(account, spec, at, {k.lower(): v for k, v in query.items()}, route)
    ctx.ids = ids
    return route.handler(ctx, ids)
