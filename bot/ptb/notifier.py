"""The Bot API calls of the outbox relay's notifier (``bot.telegram_render``) through python-telegram-bot, and its
exceptions translated into the ``core.relay`` errors the relay acts on. Adding a kind of reply (an invoice) is one
call here, beside its twin in ``bot/aiogram/notifier.py``."""

from __future__ import annotations

import datetime as dt
import functools
import warnings
from contextlib import AbstractAsyncContextManager

import httpx
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputFile,
    InputTextMessageContent,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    TelegramError,
    TimedOut,
)
from telegram.error import (
    RetryAfter as PtbRetryAfter,
)

from bot.telegram_render import Keyboard, MediaKind, keyboard_rows, refusal, translating
from core.inline import InlineAnswer, InlineResult, opening_rows
from core.messages import Button
from core.relay import NotifierError, PermanentError, RetryAfter, TransientError, Undeliverable, scrub
from payments.invoices import PreCheckoutAnswer


class PtbCalls:
    """One tenant's python-telegram-bot ``Bot`` as :class:`bot.telegram_render.TelegramCalls`."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send_text(self, chat_id: int, text: str, keyboard: Keyboard) -> int:
        async with translated(self.bot):
            sent = await self.bot.send_message(chat_id, text, reply_markup=render_keyboard(keyboard))
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
        given: str | InputFile = InputFile(media, filename=filename) if isinstance(media, bytes) else media
        markup = render_keyboard(keyboard)
        async with translated(self.bot):
            if kind == "photo":
                sent = await self.bot.send_photo(chat_id, given, caption=caption, reply_markup=markup)
            else:
                sent = await self.bot.send_document(chat_id, given, caption=caption, reply_markup=markup)
        return sent.message_id

    async def edit_text(self, chat_id: int, message_id: int, text: str, keyboard: Keyboard) -> None:
        async with translated(self.bot):
            await self.bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, reply_markup=render_keyboard(keyboard)
            )

    async def edit_caption(self, chat_id: int, message_id: int, caption: str, keyboard: Keyboard) -> None:
        async with translated(self.bot):
            await self.bot.edit_message_caption(
                chat_id=chat_id, message_id=message_id, caption=caption, reply_markup=render_keyboard(keyboard)
            )

    async def answer_press(self, query_id: str, notice: str | None) -> None:
        async with translated(self.bot):
            await self.bot.answer_callback_query(query_id, text=notice or None)

    async def answer_pre_checkout(self, answer: PreCheckoutAnswer) -> None:
        async with translated(self.bot):
            await self.bot.answer_pre_checkout_query(answer.query_id, answer.ok, error_message=answer.error)

    async def answer_inline(self, answer: InlineAnswer, bot_username: str) -> None:
        async with translated(self.bot):
            await self.bot.answer_inline_query(
                answer.query_id,
                [_article(result, bot_username) for result in answer.results],
                cache_time=answer.cache_seconds,
                is_personal=answer.personal,
                next_offset=answer.next_offset,
            )


def _article(result: InlineResult, bot_username: str) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        result.id,
        result.title,
        InputTextMessageContent(result.text),
        reply_markup=render_keyboard(opening_rows(result, bot_username)),
        description=result.description or None,
        thumbnail_url=result.thumbnail_url,
    )


def translated(bot: Bot) -> AbstractAsyncContextManager[None]:
    """python-telegram-bot's and the network's exceptions inside the block, raised as the relay's errors."""
    return translating(_FAILURES, functools.partial(translate, token=bot.token))


_FAILURES = (TelegramError, httpx.HTTPError, TimeoutError)


def render_keyboard(buttons: Keyboard) -> InlineKeyboardMarkup | None:
    """Our buttons as a python-telegram-bot inline keyboard; None when there are none."""
    rows = keyboard_rows(buttons, _button)
    return InlineKeyboardMarkup(rows) if rows else None


def _button(b: Button) -> InlineKeyboardButton:
    if b.url is not None:
        return InlineKeyboardButton(b.text, url=b.url)
    return InlineKeyboardButton(b.text, callback_data=b.data)


def retry_seconds(error: PtbRetryAfter) -> float:
    """``retry_after`` in seconds: an int up to PTB 22.1, a timedelta (behind a deprecation warning) after."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def translate(exc: BaseException, *, token: str | None = None) -> NotifierError:
    """The relay's view of a python-telegram-bot or network failure. Reasons never carry the bot token."""

    def clean(reason: str) -> str:
        if token:
            reason = reason.replace(token, "<token>")
        return scrub(reason)

    if isinstance(exc, PtbRetryAfter):
        seconds = retry_seconds(exc)
        return RetryAfter(seconds, f"Too Many Requests: retry after {seconds:g}")
    if isinstance(exc, Forbidden):
        return Undeliverable(clean(exc.message))
    if isinstance(exc, ChatMigrated):
        return Undeliverable(f"the group is now the supergroup {exc.new_chat_id}")
    if isinstance(exc, BadRequest):  # a NetworkError subclass in PTB: read before it
        return refusal(exc.message, clean(exc.message))
    if isinstance(exc, TimedOut):
        return TransientError("timed out")
    if isinstance(exc, NetworkError):
        if "(413)" in exc.message:  # Request Entity Too Large: retrying cannot help
            return PermanentError(clean(exc.message))
        return TransientError(clean(f"network: {exc.message}"))
    if isinstance(exc, InvalidToken):
        return PermanentError("Unauthorized: the bot token was rejected")
    if isinstance(exc, Conflict):
        return PermanentError(clean(exc.message))
    if isinstance(exc, TelegramError):  # "Invalid server response": not the Bot API's answer
        return TransientError(clean(exc.message))
    if isinstance(exc, httpx.HTTPError):
        return TransientError(f"network: {type(exc).__name__}")
    if isinstance(exc, TimeoutError):
        return TransientError("timed out")
    return TransientError(f"unexpected {type(exc).__name__}")
