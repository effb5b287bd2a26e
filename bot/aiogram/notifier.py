"""The Telegram side of the outbox relay: renders a ``core.messages.Message`` into Bot API calls through aiogram and
translates aiogram's exceptions into the ``core.relay`` errors the relay acts on.

Rendering:

- a photo (URL or file_id) carries the text as its caption; a document likewise. A caption is limited to 1024
  characters: a longer text goes out as text message(s) right after the photo or document;
- otherwise a text message, split into parts of at most 4096 characters, at line breaks or spaces where possible;
- the inline keyboard goes on the last message sent, so it stays under everything it refers to.

Editing (``edit_message_id``, for a message that replaces an earlier one): a text message is edited with
editMessageText, a photo or document message with editMessageCaption (the picture or file itself stays), in both cases
with the new message's keyboard (none removes the old one). A message that does not fit in one message is not edited.
Any 400 on the edit (too old, deleted, text versus media...) falls back to sending the message anew; "message is not
modified" means it already shows this, so it counts as delivered. ``send`` returns the id of the message that shows
the message: the edited one, or the last one sent. ``anew`` is sent instead of the message when it goes out as new.

Limits are measured in UTF-16 code units, as Telegram counts them (an emoji outside the BMP counts two).
A multi-part message that fails half-way is retried whole by the relay: its first parts may then arrive twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import Protocol

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.types import Message as SentMessage

from core.messages import Button, Message
from core.relay import NotifierError, PermanentError, RetryAfter, TransientError, Undeliverable, scrub
from core.unicode import clean_text

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

# 400 descriptions that mean the chat cannot be written to at all (retrying cannot help).
_UNREACHABLE = (
    "chat not found",
    "user not found",
    "peer_id_invalid",
    "chat_write_forbidden",
    "have no rights to send",
    "not enough rights to send",
)


class BotDirectory(Protocol):
    """Gives the aiogram ``Bot`` of a tenant (the composition root owns the bots and their sessions)."""

    async def bot_for(self, tenant_id: int) -> Bot: ...


class TelegramNotifier:
    """The ``core.relay.Notifier`` port over aiogram: one tenant, one bot.

    ``request_timeout`` (seconds) is passed to each Bot API call; keep it below the relay's ``send_timeout``.
    """

    def __init__(self, bots: BotDirectory, *, request_timeout: int | None = None) -> None:
        self._bots = bots
        self._request_timeout = request_timeout

    async def send(
        self,
        tenant_id: int,
        chat_id: int,
        message: Message,
        *,
        edit_message_id: int | None = None,
        anew: Message | None = None,
    ) -> int | None:
        bot = await self._bots.bot_for(tenant_id)
        # A lone surrogate cannot be encoded for the Bot API: without this the whole message would be lost.
        message = dataclasses.replace(message, text=clean_text(message.text))
        try:
            if edit_message_id is not None and await self._edit(bot, chat_id, edit_message_id, message):
                return edit_message_id
            return await self._render(bot, chat_id, anew or message)
        except NotifierError:
            raise
        except (AiogramError, aiohttp.ClientError, TimeoutError) as exc:
            raise translate(exc, token=bot.token) from None

    async def _edit(self, bot: Bot, chat_id: int, message_id: int, message: Message) -> bool:
        """Edits ``message_id`` into ``message``; False when Telegram refuses the edit (send anew instead)."""
        text = message.text
        media = message.photo is not None or message.document is not None
        if message.image is not None or not text.strip():
            return False
        if utf16_len(text) > (CAPTION_LIMIT if media else TEXT_LIMIT):
            return False
        keyboard = render_keyboard(message.buttons)
        try:
            if media:
                await bot.edit_message_caption(
                    chat_id=chat_id,
                    message_id=message_id,
                    caption=text,
                    reply_markup=keyboard,
                    request_timeout=self._request_timeout,
                )
            else:
                await bot.edit_message_text(
                    text=text,
                    chat_id=chat_id,
                    message_id=message_id,
                    reply_markup=keyboard,
                    request_timeout=self._request_timeout,
                )
        except TelegramBadRequest as error:
            return "message is not modified" in error.message.lower()
        return True

    async def _render(self, bot: Bot, chat_id: int, message: Message) -> int:
        keyboard = render_keyboard(message.buttons)
        text = message.text
        media: str | BufferedInputFile | None = message.photo or message.document
        photo: str | BufferedInputFile | None = message.photo
        if message.image is not None:  # a picture drawn on the server (a sales chart): uploaded, not referenced
            photo = media = BufferedInputFile(message.image, "chart.png")
        if media is not None:
            fits = utf16_len(text) <= CAPTION_LIMIT
            caption = text if fits and text.strip() else None
            markup = keyboard if fits or not text.strip() else None
            sent: SentMessage
            if photo is not None:
                sent = await bot.send_photo(
                    chat_id,
                    photo,
                    caption=caption,
                    reply_markup=markup,
                    request_timeout=self._request_timeout,
                )
            else:
                sent = await bot.send_document(
                    chat_id,
                    media,
                    caption=caption,
                    reply_markup=markup,
                    request_timeout=self._request_timeout,
                )
            if fits or not text.strip():
                return sent.message_id
        parts = split_text(text)
        if not parts:
            raise PermanentError("the message has no text")
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            sent = await bot.send_message(
                chat_id,
                part,
                reply_markup=keyboard if last else None,
                request_timeout=self._request_timeout,
            )
        return sent.message_id


def render_keyboard(buttons: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    """Our buttons as an aiogram inline keyboard: callback buttons and URL buttons; None when there are none."""
    rows = [
        [
            InlineKeyboardButton(text=b.text, url=b.url)
            if b.url is not None
            else InlineKeyboardButton(text=b.text, callback_data=b.data)
            for b in row
        ]
        for row in buttons
        if row
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def translate(exc: BaseException, *, token: str | None = None) -> NotifierError:
    """The relay's view of an aiogram or network failure. Reasons never carry the bot token."""

    def clean(reason: str) -> str:
        if token:
            reason = reason.replace(token, "<token>")
        return scrub(reason)

    if isinstance(exc, TelegramRetryAfter):
        return RetryAfter(exc.retry_after, f"Too Many Requests: retry after {exc.retry_after}")
    if isinstance(exc, TelegramForbiddenError):
        return Undeliverable(clean(exc.message))
    if isinstance(exc, TelegramMigrateToChat):
        return Undeliverable(f"the group is now the supergroup {exc.migrate_to_chat_id}")
    if isinstance(exc, TelegramBadRequest):
        if any(marker in exc.message.lower() for marker in _UNREACHABLE):
            return Undeliverable(clean(exc.message))
        return PermanentError(clean(exc.message))
    if isinstance(exc, TelegramEntityTooLarge):  # a TelegramNetworkError subclass, but retrying cannot help
        return PermanentError(clean(exc.message))
    if isinstance(exc, TelegramServerError):
        return TransientError(clean(exc.message))
    if isinstance(exc, TelegramNetworkError):
        return TransientError(clean(f"network: {exc.message}"))
    if isinstance(exc, TelegramUnauthorizedError):
        return PermanentError("Unauthorized: the bot token was rejected")
    if isinstance(exc, ClientDecodeError):
        return TransientError("an answer that is not the Bot API's (proxy or gateway error?)")
    if isinstance(exc, TelegramAPIError):
        return PermanentError(clean(exc.message))
    if isinstance(exc, aiohttp.ClientError):
        return TransientError(f"network: {type(exc).__name__}")
    if isinstance(exc, asyncio.TimeoutError):
        return TransientError("timed out")
    return TransientError(f"unexpected {type(exc).__name__}")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` in parts of at most ``limit`` UTF-16 units: cut at the last line break of a part, else at the last
    space, else hard (never inside a character). Parts that would be blank are dropped."""
    parts: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        fit = _fitting_prefix(rest, limit)
        window = rest[:fit]
        cut = window.rfind("\n")
        if cut < fit // 2:
            cut = window.rfind(" ")
        if cut < fit // 2:  # no good break point in the second half: cut hard
            head, rest = rest[:fit], rest[fit:]
        else:
            head, rest = rest[:cut], rest[cut + 1 :]
        if head.strip():
            parts.append(head)
    if rest.strip():
        parts.append(rest)
    return parts


def _fitting_prefix(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)
