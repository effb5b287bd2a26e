"""Paystack refunds: the ``refunds`` row's life, sending it to Paystack, and the ``refund.*`` facts that move it.

A row's status only moves forward::

    requested -> submitting -> pending -> processing -> needs-attention -> processed | failed

``requested`` is what the merchant's ``/refund`` writes (in the chat's transaction, no network); the reconciler's
pass claims it (``submitting``) and calls POST /refund outside any transaction. A call whose answer was lost stays
``submitting`` and is never sent again (a second refund could be paid twice): the refund webhooks settle it, and the
merchant is told to look at the dashboard. Once Paystack has it, its steps arrive by webhook, or, when a webhook is
lost, by the reconciler's fetch of the refund (``refund_checks``); both go through ``apply_refund_facts``.
``processed`` applies a REFUNDED event to the payment (one per refund row), which tells the customer the money is on
its way back; ``failed`` tells the merchant and refunds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.engine import Database
from core.db.insert import insert_if_absent
from core.db.repos.orders import PaymentRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Payment, PaymentEvent, Refund, Tenant
from core.messages import Message
from core.money import Money
from core.texts import text
from payments import notices
from payments.base import Outcome
from payments.paystack.client import PaystackError
from payments.paystack.facts import PaystackFacts, refund_facts
from payments.paystack.provider import NAME, PaystackProvider, refund_next_check
from payments.registry import ProviderRegistry
from payments.service import EventResult, apply_event

log = logging.getLogger(__name__)

REQUESTED = "requested"
SUBMITTING = "submitting"
PENDING = "pending"
PROCESSING = "processing"
NEEDS_ATTENTION = "needs-attention"
PROCESSED = "processed"
FAILED = "failed"
RECORDED = "recorded"  # a refund made outside any API (M-Pesa reversal, cash), recorded by the merchant

_RANK = {REQUESTED: 0, SUBMITTING: 1, PENDING: 2, PROCESSING: 3, NEEDS_ATTENTION: 4, PROCESSED: 5, FAILED: 5}
FINAL = frozenset({PROCESSED, FAILED, RECORDED})
IN_FLIGHT = frozenset({REQUESTED, SUBMITTING, PENDING, PROCESSING, NEEDS_ATTENTION})
# Sent and known to Paystack but not finished: the reconciler fetches these (``refund_checks``) in case a webhook
# is lost. ``submitting`` is not among them: without Paystack's answer we have no id to fetch it by.
POLLED = frozenset({PENDING, PROCESSING, NEEDS_ATTENTION})


def _earlier(status: str) -> list[str]:
    """The states a refund may move to ``status`` from."""
    rank = _RANK.get(status)
    if rank is None:
        return []
    return [name for name, other in _RANK.items() if other < rank]


async def move(session: AsyncSession, refund_id: int, status: str, now: datetime, **values: object) -> bool:
    """Move a refund forward to ``status`` (a conditional update); False when it is there already or beyond."""
    result = await session.execute(
        update(Refund)
        .where(Refund.id == refund_id, Refund.status.in_(_earlier(status)))
        .values(status=status, updated_at=now, **values)
        .execution_options(synchronize_session="fetch")
    )
    return bool(getattr(result, "rowcount", 0))


async def in_flight_minor(session: AsyncSession, payment_id: int) -> int:
    """Money already asked back but not yet refunded: it cannot be asked for twice."""
    rows = await session.scalars(
        select(Refund.amount_minor).where(Refund.payment_id == payment_id, Refund.status.in_(list(IN_FLIGHT)))
    )
    return sum(rows)


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
    """Keep a provider fact that moves no payment (a refund step, an event we do not act on) under its unique key;
    False when it was recorded before (a redelivery)."""
    new_id = await insert_if_absent(
        session,
        PaymentEvent.__table__,  # type: ignore[arg-type]
        {
            "tenant_id": tenant_id,
            "payment_id": payment_id,
            "provider": NAME,
            "event_key": key[:160],
            "outcome": outcome[:20],
            "reason": reason,
            "result": "recorded",
            "raw": raw if isinstance(raw, dict) else {},
            "received_at": now,
        },
    )
    return new_id is not None


@dataclass(frozen=True, slots=True)
class RefundApplied:
    refund_id: int | None
    moved: bool
    duplicate: bool = False


async def apply_refund_facts(
    session: AsyncSession, tenant: Tenant, payment: Payment, facts: PaystackFacts, clock: Clock
) -> RefundApplied:
    """One refund fact, however it reached us: a ``refund.*`` webhook, Paystack's answer to our POST /refund, or the
    reconciler's fetch of the refund. Every source goes through here, so they agree with each other.

    Two keys make it idempotent. The report's own key (``facts.event_key``) stops a redelivered webhook or a repeated
    poll before any work. But a webhook and a poll may name the same step differently (a webhook may carry only
    Paystack's ``refund_reference``, a fetch only its ``id``), so what makes a step happen once is the refund row's
    conditional move: the second report of a step finds the row there already and changes nothing, says nothing.
    ``processed`` then applies one REFUNDED event per refund row (key ``refund:<row id>``), which tells the customer.
    """
    now = clock.now()
    await PaymentRepository(session).lock(payment.id)
    reason = facts.reason or facts.status
    if not await record_fact(session, tenant.id, payment.id, facts.event_key, "refund", reason, dict(facts.raw), now):
        return RefundApplied(None, False, duplicate=True)
    row = await _match(session, tenant, payment, facts, now)
    values: dict[str, object] = {}
    if row.provider_refund_id is None and facts.refund_id:
        values["provider_refund_id"] = facts.refund_id[:64]
    if facts.status not in POLLED:
        values["next_check_at"] = None  # finished: no more looks (this only lands if the row moves)
    elif row.next_check_at is None and row.checks == 0:
        values["next_check_at"] = now + refund_next_check(0)  # the first look, in case no webhook comes
    moved = await move(session, row.id, facts.status, now, **values)
    if not moved:
        if "provider_refund_id" in values:
            await session.execute(
                update(Refund).where(Refund.id == row.id).values(provider_refund_id=values["provider_refund_id"])
            )
        return RefundApplied(row.id, False)
    if facts.status == PROCESSED:
        refunded = replace(
            facts.to_provider_event(),
            event_key=f"refund:{row.id}",
            payment_reference=payment.reference,  # a refund's facts name Paystack's transaction; this moves our payment
            outcome=Outcome.REFUNDED,
        )
        applied = await apply_event(session, tenant.id, refunded, clock)
        if applied.result is EventResult.REFUSED:
            return RefundApplied(row.id, True)  # it did not fit the payment: the merchant was told why, not "done"
    await _tell_merchant(session, tenant, payment, row, facts.status, facts.reason, now)
    return RefundApplied(row.id, True)


async def _match(
    session: AsyncSession, tenant: Tenant, payment: Payment, facts: PaystackFacts, now: datetime
) -> Refund:
    """The refund row a fact speaks of: by Paystack's id or refund_reference, else by amount, else a new row."""
    rows = list(
        await session.scalars(
            select(Refund)
            .where(Refund.tenant_id == tenant.id, Refund.payment_id == payment.id, Refund.provider == NAME)
            .order_by(Refund.id)
        )
    )
    data = facts.raw.get("data") if "event" in facts.raw else facts.raw
    data = data if isinstance(data, Mapping) else {}
    idents = {str(value) for value in (facts.refund_id, data.get("id"), data.get("refund_reference")) if value}
    for row in rows:
        if row.provider_refund_id is not None and row.provider_refund_id in idents:
            return row
    # Paystack's answer to POST /refund carries the refund's id; its webhooks may carry only a refund_reference.
    # Such a fact is matched by amount (a fact naming Paystack's id never takes a row that holds another id: that is
    # another refund): first the oldest refund of that amount still on its way, then one that already reached this
    # step or beyond (the fact is old news, learnt first by a poll), so that a late webhook never becomes a new refund.
    named = data.get("id") is not None
    same = [row for row in rows if row.amount_minor == facts.amount.minor and not (named and row.provider_refund_id)]
    rank = _RANK.get(facts.status)
    for row in same:
        if row.status in IN_FLIGHT:
            return row
    for row in same:
        if rank is not None and _RANK.get(row.status, -1) >= rank:
            return row
    # A refund made on Paystack's dashboard: recorded, so that the payment and the customer hear of it too.
    row = Refund(
        tenant_id=tenant.id,
        payment_id=payment.id,
        provider=NAME,
        amount_minor=facts.amount.minor,
        currency=facts.amount.currency,
        status=REQUESTED,
        provider_refund_id=facts.refund_id[:64] if facts.refund_id else None,
        reason=text("refund.made_on_dashboard"),
        requested_by=None,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def _tell_merchant(
    session: AsyncSession, tenant: Tenant, payment: Payment, row: Refund, status: str, reason: str | None, now: datetime
) -> None:
    if status not in (PROCESSED, FAILED, NEEDS_ATTENTION):
        return
    ctx = await notices.context_for(session, payment)
    amount = Money(row.amount_minor, row.currency).format()
    body = text(f"refund.merchant.{status}", code=ctx.order.code, amount=amount, reason=reason or "—")
    await notices.to_merchant(session, tenant, f"refund:{row.id}:{status}", Message(body), now)


class PaystackRefunds:
    """Sends ``requested`` refunds to Paystack. Run by the reconciler on each pass."""

    def __init__(self, database: Database, registry: ProviderRegistry, clock: Clock, *, batch: int = 20) -> None:
        self.database = database
        self.registry = registry
        self.clock = clock
        self.batch = batch

    async def submit_due(self) -> int:
        async with self.database.uow() as uow:
            due = list(
                await uow.session.scalars(
                    select(Refund.id)
                    .where(Refund.provider == NAME, Refund.status == REQUESTED)
                    .order_by(Refund.id)
                    .limit(self.batch)
                )
            )
        for refund_id in due:
            await self.submit(refund_id)
        return len(due)

    async def submit(self, refund_id: int) -> None:
        async with self.database.uow() as uow:
            if not await move(uow.session, refund_id, SUBMITTING, self.clock.now()):
                return  # another worker took it, or it moved on
            row = await uow.session.get(Refund, refund_id)
            assert row is not None
            payment = await uow.session.get(Payment, row.payment_id)
            tenant = await TenantRepository(uow.session).by_id(row.tenant_id)
            assert payment is not None and tenant is not None
            provider = await self.registry.for_tenant(uow.session, tenant, NAME)
            amount, reference = Money(row.amount_minor, row.currency), payment.reference
            await uow.commit()
        if not isinstance(provider, PaystackProvider):
            await self._failed(refund_id, text("refund.paystack_not_configured"))
            return
        try:
            answer = await provider.refund(reference, amount, note=f"Refund {refund_id} from the shop's chat")
        except PaystackError as error:
            if error.code == "rate_limited":
                async with self.database.uow() as uow:  # surely not taken: ask again on the next pass
                    await uow.session.execute(
                        update(Refund)
                        .where(Refund.id == refund_id, Refund.status == SUBMITTING)
                        .values(status=REQUESTED)
                    )
                    await uow.commit()
            elif error.retryable:
                log.warning("refund %s: Paystack's answer was lost (%s); not sending it again", refund_id, error.code)
                await self._unconfirmed(refund_id)
            else:
                await self._failed(refund_id, str(error))
            return
        async with self.database.uow() as uow:
            payment = await uow.session.get(Payment, row.payment_id)
            assert payment is not None
            facts = refund_facts(answer, payment_reference=reference)
            await PaymentRepository(uow.session).lock(payment.id)  # before the refund's row: see PaymentRepository.lock
            await uow.session.execute(
                update(Refund)
                .where(Refund.id == refund_id, Refund.provider_refund_id.is_(None))
                .values(provider_refund_id=facts.refund_id[:64] if facts.refund_id else None)
            )
            await apply_refund_facts(uow.session, tenant, payment, facts, self.clock)
            await uow.commit()

    async def _failed(self, refund_id: int, reason: str) -> None:
        async with self.database.uow() as uow:
            now = self.clock.now()
            row = await uow.session.get(Refund, refund_id)
            assert row is not None
            if await move(uow.session, refund_id, FAILED, now, reason=reason[:500]):
                tenant = await TenantRepository(uow.session).by_id(row.tenant_id)
                payment = await uow.session.get(Payment, row.payment_id)
                assert tenant is not None and payment is not None
                await _tell_merchant(uow.session, tenant, payment, row, FAILED, reason, now)
            await uow.commit()

    async def _unconfirmed(self, refund_id: int) -> None:
        async with self.database.uow() as uow:
            now = self.clock.now()
            row = await uow.session.get(Refund, refund_id)
            assert row is not None
            tenant = await TenantRepository(uow.session).by_id(row.tenant_id)
            payment = await uow.session.get(Payment, row.payment_id)
            assert tenant is not None and payment is not None
            ctx = await notices.context_for(uow.session, payment)
            body = text(
                "refund.merchant.unconfirmed",
                code=ctx.order.code,
                amount=Money(row.amount_minor, row.currency).format(),
            )
            await notices.to_merchant(uow.session, tenant, f"refund:{row.id}:unconfirmed", Message(body), now)
            await uow.commit()
