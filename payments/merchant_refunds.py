"""Refunds the merchant sends by hand: a task until the merchant presses Done.

dukabot sends money back only through a provider that declares refunds (``Capability.REFUND``, see
``payments.refunds``); a push to the customer's phone with no refund call, or cash, the merchant sends back. So
``/refund`` on such a payment opens a task, a refund row ``awaiting_merchant``: the
customer reads that the shop will send the money back (not that it was sent), and the merchant reads what to send to
whom. The money counts as promised (``/refund`` cannot promise it twice) but the payment is not refunded yet.

The task stays open, listed in the merchant's ``/admin`` menu, until an admin presses Done. Done is one conditional
update (``awaiting_merchant -> sent_by_merchant``), so a double tap or two admins at once mark it once; the one that
moves it applies the REFUNDED event (``refund:<row id>``, once per row) which moves the payment's refunded total and
tells the customer, once, that the money was sent.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.repos.customers import CustomerRepository
from core.db.repos.orders import OrderRepository, PaymentRepository
from core.db.tables import Order, Payment, Refund
from core.messages import Message
from core.money import Money
from core.phones import display
from core.texts import text
from payments import notices
from payments.base import Outcome, ProviderEvent
from payments.service import SENT_BY_MERCHANT, EventResult, apply_event

AWAITING_MERCHANT = "awaiting_merchant"
SENT = "sent_by_merchant"


@dataclass(frozen=True, slots=True)
class Task:
    refund: Refund
    order: Order
    payee: str  # the customer's name and number, as the merchant sends money to them

    @property
    def amount(self) -> Money:
        return Money(self.refund.amount_minor, self.refund.currency)


class Done(enum.StrEnum):
    SENT = "sent"  # marked sent now; the payment moved and the customer was told
    ALREADY = "already"  # marked sent before (a double tap, another admin): nothing more
    NOT_APPLIED = "not_applied"  # marked sent, but the refund no longer fit the payment: the merchant was told why
    NOT_FOUND = "not_found"  # no such task in this shop


@dataclass(frozen=True, slots=True)
class Marked:
    done: Done
    task: Task | None = None
    why: str | None = None


async def promised_minor(session: AsyncSession, payment_id: int) -> int:
    """Money the merchant has promised to send back and not yet marked sent: it cannot be promised twice."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount_minor), 0)).where(
            Refund.payment_id == payment_id, Refund.status == AWAITING_MERCHANT
        )
    )
    return int(total or 0)


async def open_task(
    session: AsyncSession, payment: Payment, amount: Money, requested_by: int, reason: str, now: datetime
) -> Task:
    """Record the refund as the merchant's task and tell the customer that the shop will send the money back. The
    caller decided on the payment under its row lock (``/refund`` does); it is taken here too, for any caller that
    did not: an acceptance of held money (payments.service ``_accepted``) decides under the same lock, so it either
    sees this task and refuses, or finished before this task was opened."""
    await PaymentRepository(session).lock(payment.id)
    refund = Refund(
        tenant_id=payment.tenant_id,
        payment_id=payment.id,
        provider=payment.provider,
        amount_minor=amount.minor,
        currency=amount.currency,
        status=AWAITING_MERCHANT,
        reason=reason,
        requested_by=requested_by,
        created_at=now,
        updated_at=now,
    )
    session.add(refund)
    await session.flush()
    ctx = await notices.context_for(session, payment)
    body = text("refund.promised", ctx.lang, amount=amount.format(), code=ctx.order.code)
    await notices.to_customer(session, ctx, f"refund:{refund.id}:promised", Message(body), now)
    return Task(refund, ctx.order, await _payee(session, ctx.order))


async def open_tasks(session: AsyncSession, tenant_id: int) -> list[Task]:
    rows = list(
        await session.scalars(
            select(Refund).where(Refund.tenant_id == tenant_id, Refund.status == AWAITING_MERCHANT).order_by(Refund.id)
        )
    )
    return [await _task(session, row) for row in rows]


async def count_open(session: AsyncSession, tenant_id: int) -> int:
    found = await session.scalar(
        select(func.count())
        .select_from(Refund)
        .where(Refund.tenant_id == tenant_id, Refund.status == AWAITING_MERCHANT)
    )
    return int(found or 0)


async def mark_sent(session: AsyncSession, tenant_id: int, refund_id: int, admin_id: int, clock: Clock) -> Marked:
    """The merchant pressed Done. Idempotent: only the call that moves the row applies the refund."""
    now = clock.now()
    refund = await session.scalar(select(Refund).where(Refund.tenant_id == tenant_id, Refund.id == refund_id))
    if refund is None or refund.status not in (AWAITING_MERCHANT, SENT):
        return Marked(Done.NOT_FOUND)
    # The payment's lock first, as every transaction that touches a payment's refunds takes it (see
    # PaymentRepository.lock); the conditional update below is what makes Done happen once.
    await PaymentRepository(session).lock(refund.payment_id)
    moved = await session.execute(
        update(Refund)
        .where(Refund.id == refund.id, Refund.status == AWAITING_MERCHANT)
        .values(status=SENT, done_by=admin_id, done_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(refund)
    task = await _task(session, refund)
    if not getattr(moved, "rowcount", 0):
        return Marked(Done.ALREADY, task)
    payment = await session.get(Payment, refund.payment_id)
    assert payment is not None
    event = ProviderEvent(
        provider=payment.provider,
        event_key=f"refund:{refund.id}",
        payment_reference=payment.reference,
        outcome=Outcome.REFUNDED,
        amount=task.amount,
        reason_code=SENT_BY_MERCHANT,
        raw={"refund_id": refund.id, "by": admin_id},
    )
    applied = await apply_event(session, tenant_id, event, clock)
    if applied.result is EventResult.APPLIED:
        return Marked(Done.SENT, task)
    return Marked(Done.NOT_APPLIED, task, applied.why or applied.result.value)


async def _task(session: AsyncSession, refund: Refund) -> Task:
    payment = await session.get(Payment, refund.payment_id)
    assert payment is not None
    order = await OrderRepository(session).by_id(payment.tenant_id, payment.order_id)
    assert order is not None
    return Task(refund, order, await _payee(session, order))


async def _payee(session: AsyncSession, order: Order) -> str:
    """Who gets the money back: the customer's own number when they gave one (the phone they paid from), else the
    order's contact; as people read it (``0712 345 678``)."""
    customer = await CustomerRepository(session).by_id(order.tenant_id, order.customer_id)
    numbers = [number for number in ((customer.phone if customer else None), order.contact_phone) if number]
    return text("refund.payee", name=order.contact_name, phone=display(numbers[0]) if numbers else "—")
