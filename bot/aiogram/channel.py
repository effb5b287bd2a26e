"""The channel contract (``bot.channel``) over aiogram: every tenant's ``Bot`` on one shared ``AiohttpSession``.

Direct replies take the plain-JSON path of ``bot_api`` for a plain text menu (nearly every reply) and the notifier
for anything else; polling and operator calls go through aiogram's methods."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    AiogramError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import Update

from bot.aiogram import ENTRY, UPDATE_KINDS, bot_api
from bot.aiogram.notifier import AiogramCalls, translate, translated
from bot.aiogram.updates import model_of
from bot.bots import TenantBots
from bot.channel import BotIdentity, ChannelKit, ChannelRefused, PollConflict, TokenRefused
from bot.telegram_channel import TelegramChannel
from bot.telegram_render import NOT_MODIFIED, TelegramNotifier
from core.inline import InlineAnswer
from core.messages import Message
from core.notify import RetryAfter, scrub
from payments.invoices import PreCheckoutAnswer


class AiogramChannel(TelegramChannel[Bot]):
    entry = ENTRY

    def __init__(self, kit: ChannelKit) -> None:
        self.api = TelegramAPIServer.from_base(kit.api_base)
        self._session: AiohttpSession | None = None  # built with the first bot: a process may need none
        self.bots: TenantBots[Bot] = TenantBots(kit.database, kit.vault, lambda token: Bot(token, session=self.session))
        self.notifier = TelegramNotifier(self._calls)
        self.usernames: dict[str, str] = {}  # by token: a link to the bot needs its name (bot.telegram_channel)

    @property
    def session(self) -> AiohttpSession:
        """The HTTP session every tenant's bot sends through. No connection limit: a long-polling bot holds one
        connection for as long as its getUpdates waits, so a cap would let a thousand polling shops starve every
        send (sends are bounded by pacing instead)."""
        if self._session is None:
            self._session = AiohttpSession(api=self.api, limit=0)
        return self._session

    # The library's parts (bot.telegram_channel)

    def _model_of(self, data: dict[str, Any]) -> Update | None:
        return model_of(data)

    def _polling(self, bot: Bot) -> AbstractAsyncContextManager[None]:
        return _polling(bot)

    def _calls_of(self, bot: Bot) -> AiogramCalls:
        return AiogramCalls(bot)

    # Receiving

    async def set_webhook(self, tenant_id: int, url: str, secret: str) -> None:
        bot = await self.bots.bot_for(tenant_id)
        try:
            await bot.set_webhook(url, secret_token=secret, allowed_updates=list(UPDATE_KINDS))
        except TelegramAPIError as error:
            raise ChannelRefused(scrub(error.message)) from None

    # Replying

    async def answer_press(self, tenant_id: int, query_id: str, notice: str | None) -> None:
        bot = await self.bots.bot_for(tenant_id)
        async with translated(bot):
            await bot_api.answer_callback_query(bot, query_id, notice)

    async def answer_pre_checkout(self, tenant_id: int, answer: PreCheckoutAnswer) -> None:
        bot = await self.bots.bot_for(tenant_id)
        async with translated(bot):
            await bot.answer_pre_checkout_query(answer.query_id, answer.ok, error_message=answer.error)

    async def answer_inline_query(self, tenant_id: int, answer: InlineAnswer) -> None:
        bot = await self.bots.bot_for(tenant_id)
        async with translated(bot):
            username = await self._bot_username(bot)
        await AiogramCalls(bot).answer_inline(answer, username)

    async def reply(self, tenant_id: int, chat_id: int, message: Message, edit_id: int | None) -> None:
        """A plain text message (nearly every reply: a menu) as one JSON call (``bot_api``); anything else as the
        relay sends it. The rules are the notifier's: an edit Telegram refuses is sent anew, and "message is not
        modified" means the chat shows it already."""
        text = bot_api.plain_text(message)
        if text is None:
            await self.notifier.send(tenant_id, chat_id, message, edit_message_id=edit_id)
            return
        bot = await self.bots.bot_for(tenant_id)
        keyboard = bot_api.keyboard_json(message.buttons)
        async with translated(bot):
            if edit_id is not None and await _edited(bot, chat_id, edit_id, text, keyboard):
                return
            await bot_api.send_text(bot, chat_id, text, keyboard)

    async def download(self, tenant_id: int, file_id: str) -> bytes | None:
        bot = await self.bots.bot_for(tenant_id)
        found = await bot.get_file(file_id)
        if found.file_path is None:
            return None
        content = await bot.download_file(found.file_path)
        return None if content is None else content.read()

    async def identity(self, tenant_id: int) -> BotIdentity:
        bot = await self.bots.bot_for(tenant_id)
        try:
            me = await bot.get_me()
        except TelegramNetworkError:
            raise  # not a refusal: Telegram was out of reach
        except TelegramAPIError as error:
            raise ChannelRefused(scrub(error.message.replace(bot.token, "<token>"))) from error
        return BotIdentity(me.username or "", bool(me.supports_inline_queries))

    async def close(self) -> None:
        session, self._session = self._session, None
        self.bots.clear()
        if session is not None:
            await session.close()


async def _edited(bot: Bot, chat_id: int, message_id: int, text: str, keyboard: str | None) -> bool:
    try:
        await bot_api.edit_text(bot, chat_id, message_id, text, keyboard)
    except TelegramBadRequest as error:
        return NOT_MODIFIED in error.message.lower()
    return True


@asynccontextmanager
async def _polling(bot: Bot) -> AsyncIterator[None]:
    """aiogram's failures of getUpdates and deleteWebhook as the poller reads them (``bot.channel``)."""
    try:
        yield
    except TelegramUnauthorizedError:
        raise TokenRefused from None
    except TelegramConflictError as error:
        raise PollConflict(error.message) from None
    except TelegramRetryAfter as error:
        raise RetryAfter(error.retry_after) from None
    except (AiogramError, aiohttp.ClientError) as error:
        raise translate(error, token=bot.token) from None
