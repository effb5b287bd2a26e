"""Proof review: the merchant approves or rejects a customer's proof of a manual payment.

Both decisions are events of the manual provider with one shared event key per proof, so the first decision wins:
a double tap, or two admins deciding at once, changes nothing the second time and sends nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.repos.orders import OrderRepository, PaymentRepository
from core.db.tables import AuditEntry, Order, Payment, Proof, Tenant
from core.texts import text
from payments.manual import provider as manual
from payments.service import EventResult, apply_event
from payments.states import PaymentStatus

MAX_REASON = 200
# An amount the customer typed beside the reference: "KES 1500", "Ksh1500.00", "sh 1500".


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


async def approve(session: AsyncSession, tenant: Tenant, admin_id: int, found: Found, clock: Clock) -> str:
    refusal = _not_decidable(found)
    if refusal:
        return refusal
    applied = await apply_event(session, tenant.id, manual.approved(found.payment, found.proof, admin_id), clock)
    if applied.result is EventResult.DUPLICATE:
        return text("admin.proof_already_decided", code=found.order.code)
    _decide(session, tenant, admin_id, found, "approved", None, clock)
    if applied.result is EventResult.NEEDS_REVIEW:
        return text("admin.proof_approved_needs_review", code=found.order.code)
    return text("admin.proof_approved", code=found.order.code)


async def reject(session: AsyncSession, tenant: Tenant, admin_id: int, found: Found, reason: str, clock: Clock) -> str:
    reason = " ".join(reason.split())[:MAX_REASON]
    if not reason:
        return text("admin.reject_needs_reason")
    refusal = _not_decidable(found)
    if refusal:
        return refusal
    event = manual.rejected(found.payment, found.proof, admin_id, reason)
    applied = await apply_event(session, tenant.id, event, clock)
    if applied.result is EventResult.DUPLICATE:
        return text("admin.proof_already_decided", code=found.order.code)
    _decide(session, tenant, admin_id, found, "rejected", reason, clock)
    return text("admin.proof_rejected", code=found.order.code)


def _not_decidable(found: Found) -> str | None:
    if found.payment.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED):
        return text("admin.already_paid", code=found.order.code)
    if found.proof.status != "submitted" or found.payment.status != PaymentStatus.UNDER_REVIEW:
        return text("admin.proof_already_decided", code=found.order.code)
    return None


def _decide(
    session: AsyncSession, tenant: Tenant, admin_id: int, found: Found, status: str, reason: str | None, clock: Clock
) -> None:
    now = clock.now()
    found.proof.status = status
    found.proof.decided_by = admin_id
    found.proof.decided_at = now
    found.proof.decision_reason = reason
    session.add(
        AuditEntry(
            tenant_id=tenant.id,
            actor_tg_id=admin_id,
            action=f"proof.{status}",
            target=found.order.code,
            allowed=True,
            details={"proof": found.proof.id},
            at=now,
        )
    )
