"""What both Telegram libraries' channels do alike: their bots' methods are the Bot API's, named the same
(``get_updates``, ``delete_webhook``), and their update models have the Bot API's fields (``bot.telegram_read``),
so receiving is written once here; each library gives its parser, its failures as the poller reads them, and its
``TelegramCalls``."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, ClassVar, TypeVar

from bot.bots import TenantBots, TenantBotsOfChannel
from bot.channel import ChannelEntry, ChannelInfo, Received
from bot.telegram_read import UpdateFields, read
from bot.telegram_render import TelegramCalls, TelegramNotifier

B = TypeVar("B")


class TelegramChannel(TenantBotsOfChannel[B]):
    entry: ClassVar[ChannelEntry]
    bots: TenantBots[B]
    notifier: TelegramNotifier

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.bots!r})"

    @property
    def info(self) -> ChannelInfo:
        return self.entry.info

    # The library's parts

    def _parse_update(self, body: bytes) -> Any | None:
        raise NotImplementedError

    @staticmethod
    def _received(update: UpdateFields) -> Received:
        return Received(update.update_id, read(update))

    def _polling(self, bot: B) -> AbstractAsyncContextManager[None]:
        """Raises the library's failures of getUpdates and deleteWebhook as ``bot.channel`` names them."""
        raise NotImplementedError

    def _calls_of(self, bot: B) -> TelegramCalls:
        raise NotImplementedError

    # Receiving, for every library

    async def _calls(self, tenant_id: int) -> TelegramCalls:
        return self._calls_of(await self.bots.bot_for(tenant_id))

    def parse(self, body: bytes) -> Received | None:
        update = self._parse_update(body)
        return None if update is None else self._received(update)

    async def poll(self, tenant_id: int, offset: int | None, wait: int) -> Sequence[Received]:
        bot: Any = await self.bots.bot_for(tenant_id)
        async with self._polling(bot):
            updates = await bot.get_updates(offset=offset, timeout=wait)
        return [self._received(update) for update in updates]

    async def take_over_polling(self, tenant_id: int) -> None:
        bot: Any = await self.bots.bot_for(tenant_id)
        async with self._polling(bot):
            await bot.delete_webhook(drop_pending_updates=False)
