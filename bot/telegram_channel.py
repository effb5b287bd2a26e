"""What both Telegram libraries' channels do alike: their bots' methods are the Bot API's, named the same
(``get_updates``, ``delete_webhook``), and their update models have the Bot API's fields (``bot.telegram_read``),
so receiving is written once here; each library gives its parser, its failures as the poller reads them, and its
``TelegramCalls``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, ClassVar, TypeVar

from bot.bots import TenantBots, TenantBotsOfChannel
from bot.channel import ChannelEntry, ChannelInfo, Received
from bot.telegram_plain import plain_read
from bot.telegram_read import UpdateFields, read, screened_body
from bot.telegram_render import TelegramCalls, TelegramNotifier

B = TypeVar("B")


def parse_with(body: bytes, model_of: Callable[[dict[str, Any]], UpdateFields | None]) -> Received | None:
    """A webhook body read: screened, then a text or a press read plainly (as the models would read it, without
    them), anything else through the library's ``model_of``; None for what Telegram could not have sent."""
    try:
        data = screened_body(body)
    except ValueError:  # not JSON, or not what Telegram could have sent
        return None
    plain = plain_read(data)
    if plain is not None:
        return plain
    update = model_of(data)
    return None if update is None else Received(update.update_id, read(update))


class TelegramChannel(TenantBotsOfChannel[B]):
    entry: ClassVar[ChannelEntry]
    bots: TenantBots[B]
    notifier: TelegramNotifier
    usernames: dict[str, str]  # each bot's username by its token, learnt once (getMe)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.bots!r})"

    @property
    def info(self) -> ChannelInfo:
        return self.entry.info

    # The library's parts

    def _model_of(self, data: dict[str, Any]) -> Any | None:
        """The library's update built from a screened body (``bot.telegram_read.screened_body``); None when the
        library refuses it."""
        raise NotImplementedError

    @staticmethod
    def _received(update: UpdateFields) -> Received:
        return Received(update.update_id, read(update))

    def _polling(self, bot: B) -> AbstractAsyncContextManager[None]:
        """Raises the library's failures of getUpdates and deleteWebhook as ``bot.channel`` names them."""
        raise NotImplementedError

    def _calls_of(self, bot: B) -> TelegramCalls:
        raise NotImplementedError

    async def _bot_username(self, bot: Any) -> str:
        """The bot's username, asked once per token (a link to the bot's chat needs it; a shop's row may not know it
        yet). Raises the library's failures of getMe."""
        token: str = bot.token
        name = self.usernames.get(token)
        if name is None:
            me = await bot.get_me()
            name = self.usernames[token] = me.username or ""
        return name

    # Receiving, for every library

    async def _calls(self, tenant_id: int) -> TelegramCalls:
        return self._calls_of(await self.bots.bot_for(tenant_id))

    def parse(self, body: bytes) -> Received | None:
        return parse_with(body, self._model_of)

    async def poll(self, tenant_id: int, offset: int | None, wait: int) -> Sequence[Received]:
        bot: Any = await self.bots.bot_for(tenant_id)
        async with self._polling(bot):
            # The kinds asked for every time: Telegram keeps the last list it was given (a webhook's, an older
            # release's), and an update kind missing from it never arrives.
            updates = await bot.get_updates(offset=offset, timeout=wait, allowed_updates=list(self.info.update_kinds))
        return [self._received(update) for update in updates]

    async def take_over_polling(self, tenant_id: int) -> None:
        bot: Any = await self.bots.bot_for(tenant_id)
        async with self._polling(bot):
            await bot.delete_webhook(drop_pending_updates=False)
