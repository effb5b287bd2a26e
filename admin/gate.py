"""Who reaches the merchant's side of the chat. Every update passes this gate: merchant commands and buttons go to
``admin.chat`` only for this tenant's admins; anyone else is refused, and the refusal is audited; everything else is
the customer's conversation (``flows.router``). Returns the reply and whether the input was refused."""

from __future__ import annotations

import logging

from admin import chat
from core.db.repos.tenants import TenantRepository
from core.db.tables import AuditEntry
from core.fiscal_stamp import FiscalStamps
from core.messages import Message
from core.texts import choose_language, text
from flows import router
from flows.context import FlowContext, Reply
from flows.inbound import Inbound
from payments.registry import ProviderRegistry

log = logging.getLogger(__name__)


async def route(
    ctx: FlowContext,
    inbound: Inbound,
    registry: ProviderRegistry | None = None,
    fiscal: FiscalStamps | None = None,
) -> tuple[Reply, bool]:
    """``registry``: the tenants' providers (the composition root binds it), for merchant actions that ask one;
    ``fiscal``: what tax authorities gave the shops' sales, printed on PDF receipts."""
    tenants = TenantRepository(ctx.session)
    if fiscal is not None:
        ctx.fiscal = fiscal
    if chat.is_open_input(inbound):  # /join CODE: for people who are not admins yet
        reply = await chat.handle_open(ctx, inbound)
        return reply, reply.refused
    if chat.is_shared_input(inbound) and await tenants.is_admin(
        ctx.tenant.id, ctx.actor.tg_user_id
    ):  # /orders: the shop's orders for an admin, one's own for a customer
        ctx.speaks = await admin_language(ctx, tenants)
        return await chat.handle(ctx, inbound, registry), False
    if not chat.is_admin_input(inbound, ctx.conversation.step):
        reply = await router.handle(ctx, inbound)
        if inbound.command == "start" and await tenants.is_admin(ctx.tenant.id, ctx.actor.tg_user_id):
            own = await admin_language(ctx, tenants)
            reply.messages.append(Message(text("admin.welcome", own) + "\n\n" + text("admin.help", own)))
        return reply, False
    if await tenants.is_admin(ctx.tenant.id, ctx.actor.tg_user_id):
        ctx.speaks = await admin_language(ctx, tenants)
        return await chat.handle(ctx, inbound, registry), False
    what = inbound.command or inbound.data or ctx.conversation.step
    log.warning(
        "refused merchant action %r from non-admin user %s of tenant %s", what, ctx.actor.tg_user_id, ctx.tenant.id
    )
    tenants.audit(
        AuditEntry(
            tenant_id=ctx.tenant.id,
            actor_tg_id=ctx.actor.tg_user_id,
            action="refused",
            target=str(what)[:80],
            allowed=False,
            details={},
            at=ctx.clock.now(),
        )
    )
    if ctx.conversation.step.startswith("admin."):
        ctx.go("idle")
    return Reply([Message(ctx.t("admin.not_admin"))], notice=ctx.t("admin.not_admin"), refused=True), True


async def admin_language(ctx: FlowContext, tenants: TenantRepository) -> str:
    """The merchant's side in the admin's own language: the one chosen with /adminlanguage, else the one they read
    as a customer (Telegram's or their /language, else the shop's)."""
    return choose_language(await tenants.admin_language(ctx.tenant.id, ctx.actor.tg_user_id), ctx.customer.language)
