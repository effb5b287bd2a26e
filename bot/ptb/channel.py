"""The channel contract (``bot.channel``) over python-telegram-bot: every tenant's ``telegram.Bot`` on two shared
``HTTPXRequest`` pools (sends; long polls, which each hold a connection while they wait), its base URL pointed at
``DUKABOT_TELEGRAM_API`` (Telegram, a local Bot API server or the sandbox's fake)."""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import certifi
from telegram import Bot, Update
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, TelegramError
from telegram.error import RetryAfter as PtbRetryAfter
from telegram.request import HTTPXRequest

from bot.bots import TenantBots
from bot.channel import BotIdentity, ChannelKit, ChannelRefused, PollConflict, TokenRefused
from bot.ptb import ENTRY, UPDATE_KINDS
from bot.ptb.notifier import PtbCalls, retry_seconds, translate, translated
from bot.ptb.updates import model_of
from bot.telegram_channel import TelegramChannel
from bot.telegram_render import TelegramNotifier
from core.inline import InlineAnswer
from core.messages import Message
from core.notify import RetryAfter, scrub
from payments.invoices import PreCheckoutAnswer

SEND_POOL = 256  # connections for every tenant's sends together (pacing bounds them first)
POLL_POOL = 100_000  # one per polling tenant: a cap would make shops wait for each other's long polls


class PtbChannel(TelegramChannel[Bot]):
    entry = ENTRY

    def __init__(self, kit: ChannelKit) -> None:
        # python-telegram-bot's debug lines repeat every Bot API call with its parameters: setWebhook's secret token,
        # customers' words and numbers. They never go below info, whatever the root logger's level.
        quiet = logging.getLogger("telegram")
        quiet.setLevel(max(quiet.getEffectiveLevel(), logging.INFO))
        self.api = kit.api_base
        tls = {"verify": _tls()}  # one CA bundle loaded for both pools (and every channel of the process)
        self._sends = HTTPXRequest(SEND_POOL, read_timeout=20.0, pool_timeout=5.0, httpx_kwargs=tls)
        self._polls = HTTPXRequest(POLL_POOL, read_timeout=10.0, pool_timeout=5.0, httpx_kwargs=tls)
        self.bots: TenantBots[Bot] = TenantBots(kit.database, kit.vault, self._bot)
        self.notifier = TelegramNotifier(self._calls)
        self.usernames: dict[str, str] = {}  # by token: a link to the bot needs its name (bot.telegram_channel)

    def _bot(self, token: str) -> Bot:
        return Bot(
            token,
            base_url=f"{self.api}/bot",
            base_file_url=f"{self.api}/file/bot",
            request=self._sends,
            get_updates_request=self._polls,
        )

    # The library's parts (bot.telegram_channel)

    def _model_of(self, data: dict[str, Any]) -> Update | None:
        return model_of(data)

    def _polling(self, bot: Bot) -> AbstractAsyncContextManager[None]:
        return _polling(bot)

    def _calls_of(self, bot: Bot) -> PtbCalls:
        return PtbCalls(bot)

    # Receiving

    async def set_webhook(self, tenant_id: int, url: str, secret: str) -> None:
        bot = await self.bots.bot_for(tenant_id)
        try:
            await bot.set_webhook(url, secret_token=secret, allowed_updates=list(UPDATE_KINDS))
        except TelegramError as error:
            raise ChannelRefused(scrub(error.message.replace(bot.token, "<token>"))) from None

    # Replying

    async def answer_press(self, tenant_id: int, query_id: str, notice: str | None) -> None:
        await PtbCalls(await self.bots.bot_for(tenant_id)).answer_press(query_id, notice)

    async def answer_pre_checkout(self, tenant_id: int, answer: PreCheckoutAnswer) -> None:
        await PtbCalls(await self.bots.bot_for(tenant_id)).answer_pre_checkout(answer)

    async def answer_inline_query(self, tenant_id: int, answer: InlineAnswer) -> None:
        bot = await self.bots.bot_for(tenant_id)
        async with translated(bot):
            username = await self._bot_username(bot)
        await PtbCalls(bot).answer_inline(answer, username)

    async def reply(self, tenant_id: int, chat_id: int, message: Message, edit_id: int | None) -> None:
        """Through the notifier: python-telegram-bot's own methods for every reply (no faster path of ours)."""
        await self.notifier.send(tenant_id, chat_id, message, edit_message_id=edit_id)

    async def download(self, tenant_id: int, file_id: str) -> bytes | None:
        bot = await self.bots.bot_for(tenant_id)
        found = await bot.get_file(file_id)
        if not found.file_path:
            return None
        return bytes(await found.download_as_bytearray())

    async def identity(self, tenant_id: int) -> BotIdentity:
        bot = await self.bots.bot_for(tenant_id)
        try:
            me = await bot.get_me()
        except TelegramError as error:
            if isinstance(error, NetworkError) and not isinstance(error, BadRequest):
                raise  # not a refusal: Telegram was out of reach
            raise ChannelRefused(scrub(error.message.replace(bot.token, "<token>"))) from error
        return BotIdentity(me.username or "", bool(me.supports_inline_queries))

    async def close(self) -> None:
        self.bots.clear()
        await self._sends.shutdown()
        await self._polls.shutdown()


@functools.cache
def _tls() -> ssl.SSLContext:
    """The TLS context httpx would make for each client (certifi's CA bundle), made once: loading it costs tenths of a
    second."""
    return ssl.create_default_context(cafile=certifi.where())


@asynccontextmanager
async def _polling(bot: Bot) -> AsyncIterator[None]:
    """python-telegram-bot's failures of getUpdates and deleteWebhook as the poller reads them (``bot.channel``)."""
    try:
        yield
    except InvalidToken:
        raise TokenRefused from None
    except Conflict as error:
        raise PollConflict(error.message) from None
    except PtbRetryAfter as error:
        raise RetryAfter(retry_seconds(error)) from None
    except TelegramError as error:
        raise translate(error, token=bot.token) from None
