"""The relay's lanes: each chat with messages owed is delivered by a task of its own, its rows in order (see
``core.relay``, whose ``OutboxRelay`` is built on ``Lanes``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core import outbox
from core.channels import delivery_of
from core.clock import Clock
from core.db.engine import Database
from core.messages import Message
from core.notify import Notifier
from core.outbox import Claimed, OutboxStatus
from core.pacing import Booked, Pacing, wait_for_slot
from core.relay_results import RelayStats, Results, send_once

logger = logging.getLogger("core.relay")
# Each row's way through its lane, for the latency bench (``python -m bench latency --timeline``): silent unless a
# handler asks for its debug lines.
timeline = logging.getLogger("dukabot.timeline")

Chat = tuple[int, int]  # (tenant id, chat id)
Sleep = Callable[[float], Awaitable[None]]


@dataclass(eq=False)
class Lane:
    chat: Chat
    rows: deque[Claimed] = field(default_factory=deque)
    blocked: str | None = None  # the chat refused a row (403...): the rest of its rows are undeliverable too
    looked: bool = False  # the chat's next row was looked for, and claimed if due, with the last result
    task: asyncio.Task[None] | None = None


class Lanes:
    """Delivery of one chat at a time; ``OutboxRelay`` claims, starts and joins the lanes."""

    _db: Database
    _notifier: Notifier
    _clock: Clock
    _results: Results
    _lanes: dict[Chat, Lane]
    _paced: dict[Chat, datetime]
    _full: bool
    _stopping: asyncio.Event
    _sleep: Sleep
    _lease_margin: timedelta
    lease: timedelta
    send_timeout: float
    max_hold: timedelta
    coalesce_window: timedelta
    pacer: Pacing
    stats: RelayStats

    def wake(self) -> None:
        raise NotImplementedError

    async def _run_lane(self, lane: Lane) -> None:
        """A chat's rows, in order, one after the other; then the chat's next due row, until it has none."""
        try:
            while True:
                while lane.rows:
                    row = lane.rows.popleft()
                    lane.looked = False
                    try:
                        if not await self._deliver(lane, row):
                            return
                    except Exception as exc:  # a database failure: the row stays claimed, due again after its lease
                        self.stats.errors += 1
                        logger.error(
                            "outbox row %s: recording the result failed (%s); due again after its lease",
                            row.id,
                            type(exc).__name__,
                        )
                if self._stopping.is_set():
                    return
                if lane.looked:  # the last result's unit of work found nothing more due in the chat: a row owed
                    return  # since then was committed after it, and its commit woke the dispatcher
                try:
                    more = await self._claim_chat(lane.chat)
                except Exception as exc:
                    self.stats.errors += 1
                    logger.error("outbox lane of chat %s: claiming failed: %s", lane.chat[1], type(exc).__name__)
                    return
                lane.rows.extend(more)
                if not lane.rows:
                    return
        finally:
            if self._lanes.get(lane.chat) is lane:  # first, so that no row is handed to a lane that has ended
                del self._lanes[lane.chat]
            left = list(lane.rows)
            lane.rows.clear()
            if left:  # rows claimed for this lane that it will not send now: back to the table, uncounted
                with contextlib.suppress(Exception):
                    await self._results.give_back(left, self._clock.now())
            if self._full or left:  # a lane is free for chats the last claim had no room for
                self.wake()

    async def _claim_chat(self, chat: Chat) -> list[Claimed]:
        now = self._clock.now()
        async with self._results.units, self._db.uow() as uow:
            rows = await outbox.claim_due(uow.session, now, 1, self.lease, chat=chat)
            rows = await outbox.resolve_replacing(uow.session, rows, now)
            await uow.commit()
        self.stats.claimed += len(rows)
        return rows

    async def _deliver(self, lane: Lane, row: Claimed) -> bool:
        """Send one row (with the rows it gathers) and record the result. False when the lane must stop: the chat
        is paced or paused for longer than the relay holds rows, or the relay is stopping (the lane's rows, this one
        included, are then given back)."""
        began = time.monotonic()
        # The chat refused an earlier row: do not knock again. A row owed on another channel (an SMS) is not the
        # chat's to refuse (core.channels), and its own refusal blocks nothing else.
        if lane.blocked is not None and delivery_of(row.message) is None:
            await self._results.finish(row, OutboxStatus.UNDELIVERABLE, lane.blocked)
            return True
        # A row that replaces another was resolved by its claim, as a rule; otherwise here, once its slot is booked.
        target = row.replacing
        deferred_to = target.wait_until if target is not None else None
        booked: Booked | None = None
        if deferred_to is None:
            slot = await self._wait_for_slot(row)
            booked, deferred_to = (slot, None) if isinstance(slot, Booked) else (None, slot)
        if booked is not None and target is None and row.message.replaces is not None:
            async with self._results.units, self._db.uow() as uow:
                target = await outbox.replacing(uow.session, row, self._clock.now())
                await uow.commit()
            deferred_to = target.wait_until
        edit_message_id = target.message_id if target is not None else None
        if deferred_to is not None:  # keep the chat's order: every later row waits too
            if booked is not None:  # the slot goes unused
                await self.pacer.sent(row.tenant_id, row.chat_id, booked=booked.at, done=self._clock.now())
            held = [row, *lane.rows]
            lane.rows.clear()
            self._paced[lane.chat] = deferred_to  # rows owed to it meanwhile are not claimed only to be given back
            await self._results.give_back(held, deferred_to)
            if timeline.isEnabledFor(logging.DEBUG):
                timeline.debug(
                    "defer %s %.6f %.3f", row.chat_id, began, (deferred_to - self._clock.now()).total_seconds()
                )
            return False
        assert booked is not None
        rows, message = [row], row.message
        paced = time.monotonic()
        try:
            if row.coalesce is not None:
                rows, message, edit_message_id = await self._gather(row)
            sending = time.monotonic()
            outcome = await send_once(
                self._notifier,
                row,
                message,
                edit_message_id=edit_message_id,
                unknown=any(r.unknown for r in rows),
                within=self.send_timeout,
            )
        finally:  # whatever came of it, Telegram may have had the message until now: it counts from here
            await self.pacer.sent(row.tenant_id, row.chat_id, booked=booked.at, done=self._clock.now())
        answered = time.monotonic()
        # First: until SENT is committed, a crash repeats the message. The chat's next row is claimed with it.
        lease = None if self._stopping.is_set() else self.lease
        following = await self._results.record(rows, outcome, then_claim=lease)
        if timeline.isEnabledFor(logging.DEBUG):
            timeline.debug(
                "deliver %s %.6f %.6f %.6f %.6f %.6f %s",
                row.chat_id,
                began,
                paced,
                sending,
                answered,
                time.monotonic(),
                outcome.kind,
            )
        if following is not None:
            lane.rows.extend(following)
            lane.looked = True
        if outcome.kind == "undeliverable" and delivery_of(row.message) is None:
            lane.blocked = outcome.reason
        return True

    async def _gather(self, row: Claimed) -> tuple[list[Claimed], Message, int | None]:
        """``row`` with every other due row of its chat and ``coalesce`` name, and how to show them together."""
        rows, gathered = await self._results.gather(row, self.lease, self.coalesce_window)
        return rows, gathered.message, gathered.edit_message_id

    async def _wait_for_slot(self, row: Claimed) -> Booked | datetime:
        """Wait until pacing lets this row go and book the slot, or say until when to give the row back."""
        return await wait_for_slot(
            self.pacer,
            row.tenant_id,
            row.chat_id,
            self._clock,
            lease_end=row.lease_end or self._clock.now() + self.lease,
            margin=self._lease_margin,
            max_hold=self.max_hold,
            stopping=self._stopping,
            sleep=self._sleep,
        )
