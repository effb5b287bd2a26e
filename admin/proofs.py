"""Proof review: the merchant approves or rejects a customer's proof of a manual payment.

Both decisions are events of the manual provider with one shared event key per proof, so the first decision wins:
a double tap, or two admins deciding at once, changes nothing the second time and sends nothing twice.

A decision is shown where the proof was shown: the proof message in every chat it was posted to (each admin's
private chat, the alert group, and each /pending that listed it) is edited through the outbox to say who decided and
when, without its Approve / Reject buttons (:mod:`admin.copies`). A press on a button left from before (a chat the
edit has not reached yet) is answered with the same words ("Already approved by Jane at 16:17 EAT") and changes
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from admin import copies
from core import shoptime
from core.db.repos.orders import OrderRepository, PaymentRepository
from core.db.tables import AuditEntry, Order, Payment, Proof, Tenant
from flows.context import FlowContext
from payments.manual import provider as manual
from payments.service import EventResult, apply_event
from payments.states import PaymentStatus

MAX_REASON = 200
DECIDED = ("approved", "rejected")


def subject(proof: Proof) -> str:
    """The outbox keys' subject of this proof's copies (:func:`payments.notices.to_merchant`, ``proof:<id>``)."""
    return f"proof:{proof.id}"


@dataclass(frozen=True, slots=True)
class Found:
    proof: Proof
    payment: Payment
    order: Order


async def find(session: AsyncSession, tenant: Tenant, ident: str) -> Found | None:
    """A proof by its number, or the newest proof of an order by the order's code."""
    ident = ident.strip().lstrip("#")
    payments = PaymentRepository(session)
    orders = OrderRepository(session)
    proof: Proof | None = None
    if ident.isdecimal() and len(ident) < 10:  # not isdigit: int() refuses "²", and the update would fail
        proof = await payments.proof(tenant.id, int(ident))
    elif ident:
        order = await orders.by_code(tenant.id, ident)
        for payment in reversed(await payments.for_order(tenant.id, order.id) if order else []):
            proof = await payments.latest_proof(payment.id)
            if proof is not None:
                break
    if proof is None:
        return None
    owner = await payments.by_id(tenant.id, proof.payment_id)
    order = await orders.by_id(tenant.id, owner.order_id) if owner else None
    if owner is None or order is None:
        return None
    return Found(proof, owner, order)


async def approve(ctx: FlowContext, found: Found) -> str:
    refusal = await not_decidable(ctx, found)
    if refusal:
        return refusal
    event = manual.approved(found.payment, found.proof, ctx.actor.tg_user_id)
    applied = await apply_event(ctx.session, ctx.tenant.id, event, ctx.clock)
    if applied.result is EventResult.DUPLICATE:
        return await _decided_meanwhile(ctx, found)
    await _decide(ctx, found, "approved", None)
    if applied.result is EventResult.NEEDS_REVIEW:
        return ctx.t("admin.proof_approved_needs_review", code=found.order.code)
    return ctx.t("admin.proof_approved", code=found.order.code)


async def reject(ctx: FlowContext, found: Found, reason: str) -> str:
    reason = " ".join(reason.split())[:MAX_REASON]
    if not reason:
        return ctx.t("admin.reject_needs_reason")
    refusal = await not_decidable(ctx, found)
    if refusal:
        return refusal
    event = manual.rejected(found.payment, found.proof, ctx.actor.tg_user_id, reason)
    applied = await apply_event(ctx.session, ctx.tenant.id, event, ctx.clock)
    if applied.result is EventResult.DUPLICATE:
        return await _decided_meanwhile(ctx, found)
    await _decide(ctx, found, "rejected", reason)
    return ctx.t("admin.proof_rejected", code=found.order.code)


async def not_decidable(ctx: FlowContext, found: Found) -> str | None:
    """Why this proof cannot be decided now (in the words a stale button gets), or None when it can."""
    if found.proof.status in DECIDED and found.proof.decided_at is not None:
        who = await _decider_name(ctx, found)
        when = _moment(ctx, found.proof.decided_at)
        return ctx.t(f"admin.proof.already_{found.proof.status}", who=who, when=when, code=found.order.code)
    if found.payment.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED):
        return ctx.t("admin.already_paid", code=found.order.code)
    if found.proof.status != "submitted" or found.payment.status != PaymentStatus.UNDER_REVIEW:
        return ctx.t("admin.proof_already_decided", code=found.order.code)
    return None


async def _decided_meanwhile(ctx: FlowContext, found: Found) -> str:
    """Another admin's decision landed between this one's checks and its event (their event key came first)."""
    await ctx.session.refresh(found.proof)
    await ctx.session.refresh(found.payment)
    return await not_decidable(ctx, found) or ctx.t("admin.proof_already_decided", code=found.order.code)


async def _decide(ctx: FlowContext, found: Found, status: str, reason: str | None) -> None:
    now = ctx.clock.now()
    found.proof.status = status
    found.proof.decided_by = ctx.actor.tg_user_id
    found.proof.decided_at = now
    found.proof.decision_reason = reason
    # The decider's name is kept with the audit entry: a later press on a stale button names who decided.
    ctx.session.add(
        AuditEntry(
            tenant_id=ctx.tenant.id,
            actor_tg_id=ctx.actor.tg_user_id,
            action=f"proof.{status}",
            target=found.order.code,
            allowed=True,
            details={"proof": found.proof.id, "by": ctx.actor.display_name},
            at=now,
        )
    )
    line = ctx.t(
        f"admin.proof.decided_{status}",
        who=ctx.actor.display_name or ctx.t("admin.proof.unnamed", id=ctx.actor.tg_user_id),
        when=shoptime.when(now, ctx.tenant, ctx.lang),
        reason=reason or "",
    )
    await copies.show_decision(ctx.session, tenant_id=ctx.tenant.id, subject=subject(found.proof), line=line, now=now)


async def _decider_name(ctx: FlowContext, found: Found) -> str:
    entries = await ctx.session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.tenant_id == ctx.tenant.id,
            AuditEntry.action == f"proof.{found.proof.status}",
            AuditEntry.target == found.order.code,
            AuditEntry.actor_tg_id == found.proof.decided_by,
        )
        .order_by(AuditEntry.id.desc())
    )
    for entry in entries:
        if (entry.details or {}).get("proof") == found.proof.id and (entry.details or {}).get("by"):
            return str(entry.details["by"])
    return ctx.t("admin.proof.unnamed", id=found.proof.decided_by)


def _moment(ctx: FlowContext, at: datetime) -> str:
    """The time of day for a decision made today (in the shop's zone), the date and time for an older one."""
    today = shoptime.local(ctx.clock.now(), ctx.tenant).date()
    if shoptime.local(at, ctx.tenant).date() == today:
        return shoptime.clock_time(at, ctx.tenant, ctx.lang)
    return shoptime.when(at, ctx.tenant, ctx.lang)
