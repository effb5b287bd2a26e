"""Inline mode (``@shopbot words`` typed in any chat) as plain data, free of any transport: what the chat asks
(:class:`InlineQuery`) and what the bot answers (:class:`InlineAnswer`: a page of results, each a message the asker
may post, with a button that opens the product in the shop through a ``/start p_<id>`` link). The channel makes the
link: it knows its bot's name (Telegram: ``https://t.me/<bot>?start=p_12``, :func:`start_link`).

An inline query is not a chat message: it is answered directly (like a button press), never through the outbox."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.messages import Button

QUERY_LIMIT = 256  # characters of an inline query (Bot API)
OFFSET_BYTES = 64  # next_offset is at most 64 bytes (Bot API)
MAX_RESULTS = 50  # results in one answer (Bot API)
RESULT_ID_BYTES = 64
# A /start argument that opens one product's card: "p_<product id>" (a start parameter is 1-64 of A-Za-z0-9_-).
PRODUCT_LINK_PREFIX = "p_"


@dataclass(frozen=True, slots=True)
class InlineQuery:
    """``query``: the words typed after the bot's name (cut to 256 characters); ``offset``: the ``next_offset`` of
    our previous answer when the chat asks for more (cut to 64 characters), "" for the first page."""

    query_id: str
    query: str
    offset: str = ""


_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")  # Telegram's deep-link parameter


@dataclass(frozen=True, slots=True)
class OpenInBot:
    """A button that opens the chat with the bot as if the person typed ``/start <start>``."""

    text: str
    start: str

    def __post_init__(self) -> None:
        if not _START_PARAMETER.fullmatch(self.start):
            raise ValueError("a start parameter is 1-64 of A-Za-z0-9_-")


@dataclass(frozen=True, slots=True)
class InlineResult:
    """One result, shown as a card (``title``, ``description``, a thumbnail when ``thumbnail_url``); choosing it
    posts ``text`` in the chat with ``button`` under it."""

    id: str
    title: str
    description: str
    text: str
    button: OpenInBot | None = None
    thumbnail_url: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.id.encode()) <= RESULT_ID_BYTES:
            raise ValueError("an inline result id is 1-64 bytes")


@dataclass(frozen=True, slots=True)
class InlineAnswer:
    """The answer owed to an inline query: ``next_offset`` ("" when there is no more) is what the chat sends back
    to ask for the next page; ``personal``: the results depend on who asks (their language), so the network must
    not give one person's cached answer to another."""

    query_id: str
    results: tuple[InlineResult, ...]
    next_offset: str = ""
    cache_seconds: int = 60
    personal: bool = True

    def __post_init__(self) -> None:
        if len(self.results) > MAX_RESULTS:
            raise ValueError("an inline answer holds at most 50 results")
        if len(self.next_offset.encode()) > OFFSET_BYTES:
            raise ValueError("next_offset is at most 64 bytes")


def product_start(product_id: int) -> str:
    """The ``/start`` argument that opens a product's card (``flows.catalog.from_link``)."""
    return f"{PRODUCT_LINK_PREFIX}{product_id}"


def start_link(bot_username: str, start: str) -> str:
    """Telegram's deep link to a bot's chat with ``/start <start>``."""
    return f"https://t.me/{bot_username}?start={start}"


def opening_rows(result: InlineResult, bot_username: str) -> tuple[tuple[Button, ...], ...]:
    """The keyboard under a chosen result: its button as a deep link into the shop (none without the bot's name)."""
    opens = result.button
    if opens is None or not bot_username:
        return ()
    return ((Button(opens.text, url=start_link(bot_username, opens.start)),),)
