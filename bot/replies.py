"""Answering the person who just spoke: the button press is acknowledged, menus are edited in place, and
everything else is sent as new messages through the same rendering as notifications."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramBadRequest

from bot.bots import TenantBots
from bot.notifier import TelegramNotifier, render_keyboard
from bot.updates import Incoming
from core.messages import Message
from flows.context import Reply

log = logging.getLogger(__name__)
_CALLBACK_NOTICE_LIMIT = 200


class TelegramReplier:
    def __init__(self, bots: TenantBots) -> None:
        self.bots = bots
        self.notifier = TelegramNotifier(bots)

    async def deliver(self, tenant_id: int, incoming: Incoming, reply: Reply) -> None:
        bot = await self.bots.bot_for(tenant_id)
        if incoming.callback_query_id is not None:
            # Always answer a button press, or the customer's button keeps spinning.
            notice = reply.notice[:_CALLBACK_NOTICE_LIMIT] if reply.notice else None
            try:
                await bot.answer_callback_query(incoming.callback_query_id, text=notice)
            except TelegramBadRequest as error:
                # The press is too old to answer (handled late: a restart, a backlog). What it did is still owed.
                log.warning("chat %s: button press not answered: %s", incoming.actor.chat_id, error.message)
        for message in reply.messages:
            if message.edit and incoming.message_id is not None and await self._edit(tenant_id, incoming, message):
                continue
            await self.notifier.send(tenant_id, incoming.actor.chat_id, message)

    async def _edit(self, tenant_id: int, incoming: Incoming, message: Message) -> bool:
        if message.photo or message.document:
            return False
        bot = await self.bots.bot_for(tenant_id)
        try:
            await bot.edit_message_text(
                text=message.text,
                chat_id=incoming.actor.chat_id,
                message_id=incoming.message_id,
                reply_markup=render_keyboard(message.buttons),
            )
        except TelegramBadRequest as error:
            # "message is not modified" means it already shows this; anything else (a photo message, a message
            # too old to edit) is answered with a new message instead.
            return "not modified" in str(error)
        return True
