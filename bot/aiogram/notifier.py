"""The Bot API calls of the outbox relay's notifier (``bot.telegram_render``) through aiogram, and aiogram's exceptions
translated into the ``core.relay`` errors the relay acts on."""

from __future__ import annotations

import asyncio
import functools
from contextlib import AbstractAsyncContextManager

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
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
)

from bot.telegram_render import Keyboard, MediaKind, keyboard_rows, refusal, translating
from core.inline import InlineAnswer, InlineResult, opening_rows
from core.messages import Button
from core.relay import NotifierError, PermanentError, RetryAfter, TransientError, Undeliverable, scrub


class AiogramCalls:
    """One tenant's aiogram ``Bot`` as :class:`bot.telegram_render.TelegramCalls`. ``request_timeout`` (seconds) is
    passed to each Bot API call; keep it below the relay's ``send_timeout``."""

    def __init__(self, bot: Bot, *, request_timeout: int | None = None) -> None:
        self.bot = bot
        self.request_timeout = request_timeout

    async def send_text(self, chat_id: int, text: str, keyboard: Keyboard) -> int:
        async with translated(self.bot):
            sent = await self.bot.send_message(
                chat_id, text, reply_markup=render_keyboard(keyboard), request_timeout=self.request_timeout
            )
        return sent.message_id

    async def send_media(
        self,
        chat_id: int,
        kind: MediaKind,
        media: str | bytes,
        caption: str | None,
        keyboard: Keyboard,
        *,
        filename: str = "chart.png",
    ) -> int:
        given = BufferedInputFile(media, filename) if isinstance(media, bytes) else media
        markup = render_keyboard(keyboard)
        async with translated(self.bot):
            if kind == "photo":
                sent = await self.bot.send_photo(
                    chat_id, given, caption=caption, reply_markup=markup, request_timeout=self.request_timeout
                )
            else:
                sent = await self.bot.send_document(
                    chat_id, given, caption=caption, reply_markup=markup, request_timeout=self.request_timeout
                )
        return sent.message_id

    async def edit_text(self, chat_id: int, message_id: int, text: str, keyboard: Keyboard) -> None:
        async with translated(self.bot):
            await self.bot.edit_message_text(
                text=text,
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=render_keyboard(keyboard),
                request_timeout=self.request_timeout,
            )

    async def edit_caption(self, chat_id: int, message_id: int, caption: str, keyboard: Keyboard) -> None:
        async with translated(self.bot):
            await self.bot.edit_message_caption(
                chat_id=chat_id,
                message_id=message_id,
                caption=caption,
                reply_markup=render_keyboard(keyboard),
                request_timeout=self.request_timeout,
            )

    async def answer_inline(self, answer: InlineAnswer, bot_username: str) -> None:
        async with translated(self.bot):
            await self.bot.answer_inline_query(
                answer.query_id,
                [_article(result, bot_username) for result in answer.results],
                cache_time=answer.cache_seconds,
                is_personal=answer.personal,
                next_offset=answer.next_offset,
                request_timeout=self.request_timeout,
            )


def _article(result: InlineResult, bot_username: str) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=result.id,
        title=result.title,
        input_message_content=InputTextMessageContent(message_text=result.text),
        reply_markup=render_keyboard(opening_rows(result, bot_username)),
        description=result.description or None,
        thumbnail_url=result.thumbnail_url,
    )


def translated(bot: Bot) -> AbstractAsyncContextManager[None]:
    """aiogram's and the network's exceptions inside the block, raised as the relay's errors."""
    return translating(_FAILURES, functools.partial(translate, token=bot.token))


_FAILURES = (AiogramError, aiohttp.ClientError, TimeoutError)


def render_keyboard(buttons: Keyboard) -> InlineKeyboardMarkup | None:
    """Our buttons as an aiogram inline keyboard: callback buttons and URL buttons; None when there are none."""
    rows = keyboard_rows(buttons, _button)
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def _button(b: Button) -> InlineKeyboardButton:
    if b.url is not None:
        return InlineKeyboardButton(text=b.text, url=b.url)
    return InlineKeyboardButton(text=b.text, callback_data=b.data)


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
        return refusal(exc.message, clean(exc.message))
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
