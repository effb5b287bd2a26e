"""Paystack's refund reports into the contract's refunds (:mod:`payments.refunds`): what the ``refund.*`` webhooks
say goes through the same :func:`payments.refunds.apply_refund_result` as the answer to POST /refund and the
reconciler's fetch of a refund, so the three agree. Paystack's steps are the contract's own words (pending,
processing, needs-attention, processed, failed); sending and following refunds is generic
(:mod:`payments.refund_sender`, :mod:`payments.refund_checks`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.tables import Payment, Tenant
from payments import refunds
from payments.paystack.facts import PaystackFacts, refund_result
from payments.paystack.provider import NAME, refund_next_check
from payments.refunds import RefundApplied


async def record_fact(
    session: AsyncSession,
    tenant_id: int,
    payment_id: int | None,
    key: str,
    outcome: str,
    reason: str,
    raw: object,
    now: datetime,
) -> bool:
    """Keep a Paystack fact that moves no payment (a refund of no payment of ours, an event we do not act on)."""
    return await refunds.record_fact(session, NAME, tenant_id, payment_id, key, outcome, reason, raw, now)


async def apply_refund_facts(
    session: AsyncSession, tenant: Tenant, payment: Payment, facts: PaystackFacts, clock: Clock
) -> RefundApplied:
    """One ``refund.*`` webhook's facts, applied as every report of a refund is."""
    result = refund_result(facts)
    return await refunds.apply_refund_result(session, tenant, payment, result, clock, first_check=refund_next_check(0))
