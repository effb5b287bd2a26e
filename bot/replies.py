"""Answering the person who just spoke: the button press is acknowledged at once, menus are edited in place, and
everything else is sent as new messages through the same rendering as notifications.

A bot's sends are paced together: direct replies book their slot in the same ``core.pacing.Pacing`` as the outbox
relay (in this process, or through Redis across processes), so a busy shop stays within Telegram's limits (about one
message a second per chat, about thirty a second per bot). A reply waits for its slot, and waits out a 429's
``retry_after``, for at most ``max_wait`` seconds; a reply that cannot go out by then (or meets a network failure) is
handed to the outbox, which delivers it later with the relay's retries. A reply is late rather than lost. Answering the
button press (answerCallbackQuery) and an inline query (answerInlineQuery) are not chat messages and are never held
back.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol

from bot.channel import Incoming
from core import outbox
from core.clock import Clock, SystemClock
from core.db.engine import Database
from core.inline import InlineAnswer
from core.messages import Message
from core.notify import NotifierError, PermanentError, RetryAfter, Undeliverable
from core.pacing import Pacer, Pacing, PacingLimits
from flows.context import Reply
from payments.invoices import PreCheckoutAnswer

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
# Owes a reply that could not be sent in time to the outbox: (tenant id, chat id, message).
Fallback = Callable[[int, int, Message], Awaitable[None]]


class OutboxFallback:
    """Writes a late reply into the outbox (its own unit of work) and wakes the relay, which sends it when pacing
    allows. The dedupe key is fresh: a late reply is owed once, whatever else the chat is owed."""

    def __init__(self, database: Database, clock: Clock, wake: Callable[[], None]) -> None:
        self._database = database
        self._clock = clock
        self._wake = wake

    async def __call__(self, tenant_id: int, chat_id: int, message: Message) -> None:
        async with self._database.uow() as uow:
            await outbox.enqueue(
                uow.session,
                tenant_id=tenant_id,
                chat_id=chat_id,
                dedupe_key=f"reply:{tenant_id}:{chat_id}:{uuid.uuid4().hex}",
                message=message,
                now=self._clock.now(),
            )
            await uow.commit()
        self._wake()


class Replying(Protocol):
    """What the replier needs of a channel (``bot.channel.Channel``): its ways of answering."""

    async def answer_press(self, tenant_id: int, query_id: str, notice: str | None) -> None: ...

    async def answer_pre_checkout(self, tenant_id: int, answer: PreCheckoutAnswer) -> None: ...

    async def answer_inline_query(self, tenant_id: int, answer: InlineAnswer) -> None: ...

    async def reply(self, tenant_id: int, chat_id: int, message: Message, edit_id: int | None) -> None: ...


class ChannelReplier:
    """Answers through ``channel``. ``pacing`` is shared with the outbox relay (the composition root builds it
    once); alone, the replier paces its own sends at Telegram's limits. Without ``fallback`` a reply that cannot go
    out in time is dropped (logged). ``notice_limit`` is the channel's (``ChannelLimits.notice``)."""

    def __init__(
        self,
        channel: Replying,
        *,
        notice_limit: int = 200,
        pacing: Pacing | None = None,
        clock: Clock | None = None,
        fallback: Fallback | None = None,
        max_wait: float = 5.0,
        sleep: Sleep | None = None,
    ) -> None:
        self.channel = channel
        self.notice_limit = notice_limit
        self.pacing = pacing or Pacer(PacingLimits())
        self.clock = clock or SystemClock()
        self.fallback = fallback
        self.max_wait = timedelta(seconds=max_wait)
        self._sleep: Sleep = sleep or asyncio.sleep

    async def deliver(self, tenant_id: int, incoming: Incoming, reply: Reply) -> None:
        if reply.pre_checkout is not None:  # Telegram waits 10 s for it, the customer's payment sheet with it
            try:
                await self.channel.answer_pre_checkout(tenant_id, reply.pre_checkout)
            except NotifierError as error:
                # Too late, or Telegram out of reach: Telegram refuses the payment itself, and nothing is charged.
                log.warning("chat %s: pre-checkout query not answered: %s", incoming.actor.chat_id, error.reason)
        if reply.inline is not None:  # not a chat message: answered at once, never paced or owed to the outbox
            try:
                await self.channel.answer_inline_query(tenant_id, reply.inline)
            except NotifierError as error:  # too late, or out of reach: the asker's chat shows no results, that is all
                log.warning("user %s: inline query not answered: %s", incoming.actor.tg_user_id, error.reason)
        if incoming.callback_query_id is not None:
            # Always answer a button press, at once, or the customer's button keeps spinning.
            notice = reply.notice[: self.notice_limit] if reply.notice else None
            try:
                await self.channel.answer_press(tenant_id, incoming.callback_query_id, notice)
            except (PermanentError, Undeliverable) as error:
                # The press is too old to answer (handled late: a restart, a backlog). What it did is still owed.
                log.warning("chat %s: button press not answered: %s", incoming.actor.chat_id, error.reason)
        chat_id = incoming.actor.chat_id
        for index, message in enumerate(reply.messages):
            # A photo or document cannot replace a text menu in place: it is sent as a new message.
            editable = message.edit and not (message.photo or message.document)
            edit_id = incoming.message_id if editable else None
            if not await self._paced_send(tenant_id, chat_id, message, edit_id):
                # Hand the rest over too, so the chat still gets them in order.
                for late in reply.messages[index:]:
                    await self._late(tenant_id, chat_id, late)
                return

    async def _paced_send(self, tenant_id: int, chat_id: int, message: Message, edit_id: int | None) -> bool:
        """Send when pacing allows, waiting out 429s; False when it could not be sent within ``max_wait``."""
        left = self.max_wait  # counted in time slept, so a clock that does not move cannot hold a reply forever
        while True:
            now = self.clock.now()
            ready = await self.pacing.try_reserve(tenant_id, chat_id, now)
            if ready is not None:
                if ready - now > left:
                    return False
                left -= ready - now
                await self._sleep((ready - now).total_seconds())
                continue
            try:
                try:
                    await self.channel.reply(tenant_id, chat_id, message, edit_id)
                finally:  # it counts against the chat's and the bot's limits from its answer (core.pacing)
                    await self.pacing.sent(tenant_id, chat_id, booked=now, done=self.clock.now())
            except RetryAfter as error:  # the whole bot is over its limit: every sender of this bot waits
                until = self.clock.now() + timedelta(seconds=error.seconds)
                await self.pacing.pause(tenant_id, chat_id, now=now, until=until, whole_bot=True)
                log.info("chat %s (tenant %s): reply rate limited, waiting %gs", chat_id, tenant_id, error.seconds)
                continue
            except Undeliverable as error:  # blocked the bot, or gone: nobody to answer
                log.warning("chat %s (tenant %s): reply undeliverable: %s", chat_id, tenant_id, error.reason)
                return True
            except NotifierError as error:  # network trouble, a 5xx, a refused request: the relay retries it
                log.warning(
                    "chat %s (tenant %s): reply failed (%s), owed by the outbox", chat_id, tenant_id, error.reason
                )
                return False
            return True

    async def _late(self, tenant_id: int, chat_id: int, message: Message) -> None:
        # The outbox stores JSON: a drawn chart or a made file cannot wait there.
        if self.fallback is None or message.image is not None or message.attachment is not None:
            log.warning("chat %s (tenant %s): a reply could not be sent in time and was dropped", chat_id, tenant_id)
            return
        await self.fallback(tenant_id, chat_id, message)
        log.info("chat %s (tenant %s): reply handed to the outbox", chat_id, tenant_id)
