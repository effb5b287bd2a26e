"""One Telegram update, processed once: record its id, route it, commit, then answer the chat.

The update is recorded, the tenant read and the flow's work done in one unit of work. The reply is sent after the
commit, so a reply never announces a change that was rolled back. Notifications that a change owes (receipts,
merchant alerts) are outbox rows committed with the change; the relay is woken right after.

``handle`` stops at the commit and gives back the follow-up (the reply, the proof fingerprint) for the caller to run:
the webhook answers Telegram first, so Telegram is not kept waiting on our sends; ``process`` runs it at once (long
polling). Either way the change is committed before Telegram is answered, and the reply is sent at most once: a crash
after the commit loses the reply, never repeats it (a redelivered update is a duplicate and changes nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from bot.channel import Incoming, Received
from core.catalog_cache import CatalogCache
from core.clock import Clock
from core.db.engine import Database
from core.db.repos.conversations import ConversationRepository
from core.db.repos.tenants import TenantRepository
from core.inline import InlineQuery
from core.outbox import owes_messages
from flows import inline, router
from flows.context import FlowContext, Reply
from flows.inbound import Inbound, Upload
from payments.jobs import owes_jobs

log = logging.getLogger(__name__)
Route = Callable[[FlowContext, Inbound], Awaitable[tuple[Reply, bool]]]
FollowUp = Callable[[], Awaitable[None]]


async def _customers_only(ctx: FlowContext, inbound: Inbound) -> tuple[Reply, bool]:
    return await router.handle(ctx, inbound), False


class Replier(Protocol):
    async def deliver(self, tenant_id: int, incoming: Incoming, reply: Reply) -> None: ...


@dataclass(frozen=True, slots=True)
class Processed:
    duplicate: bool = False
    ignored: bool = False
    refused: bool = False

    @property
    def outcome(self) -> str:
        return (
            "duplicate" if self.duplicate else "ignored" if self.ignored else "refused" if self.refused else "handled"
        )


class UpdateProcessor:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        replier: Replier,
        on_commit: Callable[[], None] | None = None,
        *,
        wake_jobs: Callable[[], None] | None = None,
        methods: frozenset[str] = frozenset({"manual"}),
        fingerprint: Callable[[int, Upload], Awaitable[object]] | None = None,
        observe: Callable[[str], None] | None = None,
        route: Route | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.replier = replier
        self.on_commit = on_commit or (lambda: None)
        self.wake_jobs = wake_jobs or (lambda: None)  # the payment job worker: it calls providers, never an update
        self.methods = methods | {"manual"}
        self.fingerprint = fingerprint  # hashes an uploaded proof's file after commit (bot.proof_files)
        self.observe = observe or (lambda outcome: None)  # counts outcomes (metrics), whether webhook or polling
        # Where an input goes: the composition root passes the merchant side's gate (admin.gate.route); alone, the
        # bot serves the customer's conversation only.
        self.route = route or _customers_only
        self.catalog = CatalogCache()  # the shops' shelves, checked against the tenant row each step reads
        self.replying = 0

    async def process(self, tenant_id: int, update: Received) -> Processed:
        """Handles the update and runs its follow-up before returning."""
        processed, follow_up = await self.handle(tenant_id, update)
        if follow_up is not None:
            await follow_up()
        return processed

    async def handle(self, tenant_id: int, update: Received) -> tuple[Processed, FollowUp | None]:
        """Records and applies the update (committed when this returns); the follow-up it owes, if any, must be
        awaited once by the caller. ``replying`` counts follow-ups handed out and not yet finished."""
        processed, follow_up = await self._process(tenant_id, update)
        self.observe(processed.outcome)
        if follow_up is None:
            return processed, None
        self.replying += 1

        async def counted() -> None:
            try:
                await follow_up()
            finally:
                self.replying -= 1

        return processed, counted

    async def _process(self, tenant_id: int, update: Received) -> tuple[Processed, FollowUp | None]:
        incoming = update.incoming
        if incoming is not None and (asked := incoming.inbound.inline) is not None:
            return await self._inline(tenant_id, update.update_id, incoming, asked)
        async with self.database.uow() as uow:
            # The update's id is claimed with the read of its chat (one trip on SQLite); an update dukabot does not
            # act on is claimed all the same, so that its redelivery is a duplicate too.
            actor = incoming.actor if incoming is not None else None
            recorded, found = await ConversationRepository(uow.session).record_and_read(
                tenant_id,
                update.update_id,
                actor.tg_user_id if actor else 0,
                actor.chat_id if actor else 0,
                self.clock.now(),
                actor.display_name if actor else None,
            )
            if not recorded:
                return Processed(duplicate=True), None
            step = (
                None
                if incoming is None
                else await router.step_from(
                    uow.session, tenant_id, incoming.actor, self.clock, found, self.methods, self.catalog
                )
            )
            if incoming is None or step is None:
                await uow.commit()
                return Processed(ignored=True), None
            reply, refused = await self.route(step.ctx, incoming.inbound)
            await step.save()
            owed = owes_messages(uow.session)
            jobs_owed = owes_jobs(uow.session)
            await uow.commit()
        if jobs_owed:  # "Pay" was pressed: the worker starts the payment while the chat is answered
            self.wake_jobs()
        if owed:  # most updates owe no notification; waking the relay for nothing costs a transaction
            self.on_commit()
        return Processed(refused=refused), partial(self._after_commit, tenant_id, incoming, reply)

    async def _inline(
        self, tenant_id: int, update_id: int, incoming: Incoming, asked: InlineQuery
    ) -> tuple[Processed, FollowUp | None]:
        """An inline query (``flows.inline``): from anyone, in any chat, so no customer or conversation is made;
        only its update id is recorded. Answered after the commit, like a press."""
        async with self.database.uow() as uow:
            tenant = await TenantRepository(uow.session).by_id(tenant_id)
            if tenant is None:
                return Processed(ignored=True), None
            if not await ConversationRepository(uow.session).claim(tenant_id, update_id, self.clock.now()):
                return Processed(duplicate=True), None
            answer, refused = await inline.answer(uow.session, tenant, incoming.actor, asked)
            await uow.commit()
        return Processed(refused=refused), partial(self._after_commit, tenant_id, incoming, Reply(inline=answer))

    async def _after_commit(self, tenant_id: int, incoming: Incoming, reply: Reply) -> None:
        """Answer the chat, then the slow follow-ups: none of them may undo or repeat the committed change."""
        try:
            await self.replier.deliver(tenant_id, incoming, reply)
        except Exception:  # the change is committed; a lost reply must not make Telegram redeliver the update
            log.exception("reply to chat %s of tenant %s failed", incoming.actor.chat_id, tenant_id)
        if incoming.inbound.upload is not None and self.fingerprint is not None:
            try:
                await self.fingerprint(tenant_id, incoming.inbound.upload)
            except Exception as error:  # a missing fingerprint only weakens a fraud signal
                log.warning("tenant %s: proof file not fingerprinted: %s", tenant_id, type(error).__name__)
