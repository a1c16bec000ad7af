"""Cursor paging: `cursor` (Start or an opaque token) and `count` in, `nextPageCursor` out.

A token is URL-safe base64 of "offset.fingerprint": the offset of the page's first item and a digest of the
query's other parameters (and count), which the server checks only with --cursor-checks-params. The same
request always gets the same page; nothing is kept per client.
"""
from __future__ import annotations

import base64
import hashlib
from typing import Optional

from .routes import ApiError, invalid

DEFAULT_COUNT = 1000
PAGING = ("cursor", "count")


def fingerprint(query: dict, count: int) -> str:
    rest = sorted((k.lower(), v) for k, v in query.items() if k.lower() not in PAGING)
    return hashlib.blake2b(repr((rest, count)).encode(), digest_size=6).hexdigest()


def encode(offset: int, print_: str) -> str:
    return base64.urlsafe_b64encode(f"{offset}.{print_}".encode()).decode().rstrip("=")


def decode(token: str) -> tuple[int, str]:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        offset, print_ = text.split(".")
        value = int(offset)
    except (ValueError, UnicodeDecodeError):
        raise invalid("cursor") from None
    if value < 0:
        raise invalid("cursor")
    return value, print_


def page_size(query: dict, spec) -> int:
    text = next((v for k, v in query.items() if k.lower() == "count"), None)
    if text is None or text == "":
        return min(DEFAULT_COUNT, spec.max_count)
    try:
        count = int(text)
    except ValueError:
        raise invalid("count") from None
    if count < 1:
        raise invalid("count")
    if count > spec.max_count:
        if spec.count_over_max == "error":
            raise invalid("count")
        count = spec.max_count
    return count


def cut(items: list, query: dict, spec) -> tuple[list, Optional[str]]:
    """-> (the page's items, nextPageCursor)."""
    count = page_size(query, spec)
    token = next((v for k, v in query.items() if k.lower() == "cursor"), None)
    mine = fingerprint(query, count)
    offset = 0
    if token not in (None, "", "Start", "start"):
        offset, theirs = decode(token)
        if spec.cursor_checks_params and theirs != mine:
            raise invalid("cursor")
    page = items[offset: offset + count]
    end = offset + len(page)
    if end < len(items) or (spec.trailing_empty_page and page and end == len(items)):
        return page, encode(end, mine)
    return page, None


def empty(route_names: list[str]) -> ApiError:
    from .routes import not_found
    return not_found(route_names)
