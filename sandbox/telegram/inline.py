"""Inline mode in the fake: a user types ``@bot words`` in any chat (:func:`ask_inline`), the bot gets an
``inline_query`` (id, from, query, offset, chat_type) and answers it with ``answerInlineQuery``
(:mod:`sandbox.telegram.methods.inline`), as Telegram's wire format has it. The user's app waits for the answer
for a few seconds and shows the results; asking for the next page sends the answer's ``next_offset`` back."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .markup import InlineButton

if TYPE_CHECKING:
    from .users import FakeUser

INLINE_WAIT = 10.0  # Telegram drops an answer given much later than this ("query is too old")


@dataclass(frozen=True)
class InlineShown:
    """One result as the user's app shows it (an article: title, description) and would post it (text, buttons)."""

    id: str
    title: str
    description: str | None
    text: str
    buttons: tuple[tuple[InlineButton, ...], ...]
    thumbnail_url: str | None


@dataclass
class InlineAsked:
    """One inline query and, once the bot answered, its answer."""

    query_id: str
    user_id: int
    query: str
    offset: str
    answered: bool = False
    results: list[InlineShown] = field(default_factory=list)
    next_offset: str = ""
    cache_time: int = 300
    is_personal: bool = False


async def ask_inline(user: FakeUser, words: str, offset: str = "", **lies: Any) -> InlineAsked:
    """The user typed ``@bot words`` (``offset``: the next_offset of an earlier answer); waits for the answer as the
    app does, at most 10 seconds. ``lies`` replace fields of the update, as a forged query would (a query longer
    than the 256 characters an app sends, an offset the bot never gave)."""
    account = user.account
    query_id = f"{account.id}{len(account.inline_queries) + 1:09d}"
    asked = InlineAsked(query_id, user.id, words, offset)
    account.inline_queries[query_id] = asked
    body = {"id": query_id, "from": user.info.to_api(), "query": words, "offset": offset, "chat_type": "sender"}
    account.enqueue({"inline_query": {**body, **lies}})
    async with asyncio.timeout(INLINE_WAIT):
        await account.changed.wait_until(lambda: True if asked.answered else None)
    return asked
