"""Broadcasts fed to the outbox a few recipients at a time, below receipts and replies.

A broadcast's recipients wait in ``broadcast_recipients``, not in the outbox: the feeder owes them there (one outbox
row each, dedupe key ``broadcast:<id>:to:<customer id>``) at a bounded rate per shop, ``rate`` a second with a burst
of ``burst``, and never more than ``outstanding`` rows of one broadcast owed and not yet delivered. So the outbox
never holds more than a handful of a broadcast's rows: a receipt owed meanwhile is claimed with them, not behind
5,000 of them (``outbox.claim_due`` takes 50 chats at a time), and the bot's window (30 a second) keeps room for
replies and receipts that the broadcast never takes (the composition root gives it two thirds of the bot's rate).
Nothing in the relay's claim changes, so its hot path costs what it did.

Each tick, for each broadcast being sent, in one short unit of work: the recipients whose outbox row the relay
finished are counted (sent, blocked, failed, or skipped: withdrawn by a /stop); a chat that refused it (403) is
marked unreachable and skipped by later broadcasts (``core.marketing``); the next recipients are owed, each checked
again against ``core.marketing.reachable`` at that moment (a /stop mid-broadcast withdraws what was owed already);
and the merchant's progress message is edited in place (a new outbox row replacing the last) when the counts moved,
at most every ``progress_every`` seconds, with its last line once every recipient is done.

Crash-safe: a recipient is marked owed in the transaction that writes its outbox row, and the dedupe key would refuse
a second row anyway. A feeder holds a broadcast by a lease (``feeder_until``), so two processes never feed one
broadcast at once; the rate is this process's (run one feeder per shop's database, or divide the rate).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from admin.broadcast_message import customer_message, progress_text
from admin.broadcasts import DONE, SENDING, progress_key
from core import marketing, outbox
from core.clock import Clock
from core.db.engine import Database
from core.db.insert import insert_if_absent
from core.db.repos.tenants import TenantRepository
from core.db.tables import Broadcast, BroadcastRecipient, Customer, OutboxMessage, Tenant
from core.messages import Message
from core.outbox import OutboxStatus

log = logging.getLogger(__name__)

# What a finished outbox row means for its recipient.
_OUTCOMES = {
    OutboxStatus.SENT.value: "sent",
    OutboxStatus.UNDELIVERABLE.value: "blocked",
    OutboxStatus.DEAD.value: "failed",
    OutboxStatus.SUPERSEDED.value: "skipped",
}
_LEASE = timedelta(seconds=30)


def recipient_key(broadcast_id: int, customer_id: int) -> str:
    return f"{marketing.MARKETING_KEY_PREFIX}{broadcast_id}:to:{customer_id}"


class BroadcastFeeder:
    """A worker of the server process (``payments.entry.Worker``). See the module docstring."""

    name = "broadcast-feed"

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        rate: float = 20.0,
        burst: int = 5,
        outstanding: int = 20,
        interval: float = 0.25,
        progress_every: float = 2.0,
        on_owed: Callable[[], None] = lambda: None,
    ) -> None:
        if rate <= 0 or burst < 1 or outstanding < 1:
            raise ValueError("rate, burst and outstanding must be positive")
        self.database = database
        self.clock = clock
        self.rate, self.burst, self.outstanding = rate, burst, outstanding
        self.interval = interval
        self.progress_every = timedelta(seconds=progress_every)
        self.on_owed = on_owed  # wakes the relay
        self.me = uuid.uuid4().hex[:12]
        self._tokens: dict[int, tuple[float, datetime]] = {}  # per tenant: tokens left, when last counted
        self._progressed: dict[int, datetime] = {}  # per broadcast: when its progress message was last edited

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception as error:  # a database outage must not end the worker
                log.error("broadcasts could not be fed: %s", type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)

    async def run_once(self) -> int:
        """One tick over every broadcast being sent; how many recipients were owed."""
        async with self.database.uow(read_only=True) as uow:
            sending = list(
                await uow.session.scalars(
                    select(Broadcast.id).where(Broadcast.status == SENDING).order_by(Broadcast.id)
                )
            )
        owed = 0
        for broadcast_id in sending:
            owed += await self._feed(broadcast_id)
        if owed:
            self.on_owed()
        return owed

    def _allowance(self, tenant_id: int, now: datetime) -> int:
        tokens, counted = self._tokens.get(tenant_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + self.rate * max(0.0, (now - counted).total_seconds()))
        self._tokens[tenant_id] = (tokens, now)
        return int(tokens)

    def _spend(self, tenant_id: int, count: int) -> None:
        tokens, counted = self._tokens[tenant_id]
        self._tokens[tenant_id] = (tokens - count, counted)

    async def _feed(self, broadcast_id: int) -> int:
        now = self.clock.now()
        async with self.database.uow() as uow:
            session = uow.session
            if not await self._hold(session, broadcast_id, now):
                return 0
            broadcast = await session.get(Broadcast, broadcast_id, populate_existing=True)
            if broadcast is None or broadcast.status != SENDING:
                return 0
            counted = await self._count_finished(session, broadcast, now)
            waiting = await self._waiting(session, broadcast.id)
            room = min(self._allowance(broadcast.tenant_id, now), self.outstanding - waiting.get("queued", 0))
            owed = await self._owe_next(session, broadcast, room, now) if room > 0 else 0
            self._spend(broadcast.tenant_id, owed)
            left = waiting.get("pending", 0) + waiting.get("queued", 0)
            finished = left == 0
            if finished:
                broadcast.status, broadcast.finished_at = DONE, now
            if finished or (counted and self._progress_due(broadcast.id, now)):
                await self._progress(session, broadcast, left=left, done=finished, now=now)
            broadcast.feeder_until = None if finished else broadcast.feeder_until
            await uow.commit()
        if finished:
            self._progressed.pop(broadcast_id, None)
            log.info("broadcast %s done", broadcast_id)
        return owed

    async def _hold(self, session: AsyncSession, broadcast_id: int, now: datetime) -> bool:
        """Take the broadcast's lease (a conditional update: on PostgreSQL its row lock also queues another feeder)."""
        held = await session.execute(
            update(Broadcast)
            .where(
                Broadcast.id == broadcast_id,
                Broadcast.status == SENDING,
                or_(Broadcast.feeder_until.is_(None), Broadcast.feeder_until <= now, Broadcast.feeder == self.me),
            )
            .values(feeder=self.me, feeder_until=now + _LEASE)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(held, "rowcount", 0))

    async def _count_finished(self, session: AsyncSession, broadcast: Broadcast, now: datetime) -> int:
        """Recipients whose outbox row the relay finished: their outcome counted; a refusing chat marked unreachable."""
        finished = (
            await session.execute(
                select(BroadcastRecipient.id, BroadcastRecipient.chat_id, OutboxMessage.status)
                .join(OutboxMessage, OutboxMessage.id == BroadcastRecipient.outbox_id)
                .where(
                    BroadcastRecipient.broadcast_id == broadcast.id,
                    BroadcastRecipient.status == "queued",
                    OutboxMessage.status != OutboxStatus.PENDING.value,
                )
            )
        ).all()
        by_outcome: dict[str, list[int]] = {}
        for recipient_id, chat_id, status in finished:
            outcome = _OUTCOMES.get(status, "failed")
            by_outcome.setdefault(outcome, []).append(recipient_id)
            if outcome == "blocked":
                await marketing.mark_unreachable(session, broadcast.tenant_id, chat_id, now)
        for outcome, ids in by_outcome.items():
            await self._settle(session, ids, outcome, from_status="queued")
            setattr(broadcast, outcome, getattr(broadcast, outcome) + len(ids))
        return len(finished)

    @staticmethod
    async def _settle(session: AsyncSession, ids: list[int], status: str, *, from_status: str) -> None:
        await session.execute(
            update(BroadcastRecipient)
            .where(BroadcastRecipient.id.in_(ids), BroadcastRecipient.status == from_status)
            .values(status=status)
            .execution_options(synchronize_session=False)
        )

    @staticmethod
    async def _waiting(session: AsyncSession, broadcast_id: int) -> dict[str, int]:
        rows = await session.execute(
            select(BroadcastRecipient.status, func.count())
            .where(
                BroadcastRecipient.broadcast_id == broadcast_id, BroadcastRecipient.status.in_(["pending", "queued"])
            )
            .group_by(BroadcastRecipient.status)
        )
        return {status: int(count) for status, count in rows.all()}

    async def _owe_next(self, session: AsyncSession, broadcast: Broadcast, room: int, now: datetime) -> int:
        """The next ``room`` recipients, checked again for consent: an outbox row each, or skipped."""
        nexts = (
            await session.execute(
                select(
                    BroadcastRecipient.id,
                    BroadcastRecipient.customer_id,
                    BroadcastRecipient.chat_id,
                    Customer.language,
                    marketing.reachable(),
                )
                .join(Customer, Customer.id == BroadcastRecipient.customer_id)
                .where(BroadcastRecipient.broadcast_id == broadcast.id, BroadcastRecipient.status == "pending")
                .order_by(BroadcastRecipient.id)
                .limit(room)
            )
        ).all()
        skipped = [recipient_id for recipient_id, _, _, _, may in nexts if not may]
        if skipped:
            await self._settle(session, skipped, "skipped", from_status="pending")
            broadcast.skipped += len(skipped)
        owed = 0
        for recipient_id, customer_id, chat_id, language, may in nexts:
            if not may:
                continue
            key = recipient_key(broadcast.id, customer_id)
            values = outbox.row_values(
                tenant_id=broadcast.tenant_id,
                chat_id=chat_id,
                dedupe_key=key,
                message=customer_message(broadcast, language),
                now=now,
            )
            row_id = await insert_if_absent(session, OutboxMessage.__table__, values)  # type: ignore[arg-type]
            if row_id is None:  # owed by an earlier feed that did not record it (cannot happen in one transaction)
                row_id = await session.scalar(
                    select(OutboxMessage.id).where(
                        OutboxMessage.tenant_id == broadcast.tenant_id, OutboxMessage.dedupe_key == key
                    )
                )
            await session.execute(
                update(BroadcastRecipient)
                .where(BroadcastRecipient.id == recipient_id, BroadcastRecipient.status == "pending")
                .values(status="queued", outbox_id=row_id)
                .execution_options(synchronize_session=False)
            )
            owed += 1
        return owed

    def _progress_due(self, broadcast_id: int, now: datetime) -> bool:
        last = self._progressed.get(broadcast_id)
        return last is None or now - last >= self.progress_every

    async def _progress(
        self, session: AsyncSession, broadcast: Broadcast, *, left: int, done: bool, now: datetime
    ) -> None:
        """The merchant's progress message, edited in place: a new row that replaces the last one."""
        tenant = await session.get(Tenant, broadcast.tenant_id)
        chosen = await TenantRepository(session).admin_language(broadcast.tenant_id, broadcast.created_by)
        language = chosen or (tenant.language if tenant is not None else "en")
        previous = progress_key(broadcast.id, broadcast.progress_seq)
        broadcast.progress_seq += 1
        message = Message(progress_text(broadcast, language, left=left, done=done), replaces=previous)
        await outbox.enqueue(
            session,
            tenant_id=broadcast.tenant_id,
            chat_id=broadcast.admin_chat_id,
            dedupe_key=progress_key(broadcast.id, broadcast.progress_seq),
            message=message,
            now=now,
        )
        self._progressed[broadcast.id] = now
