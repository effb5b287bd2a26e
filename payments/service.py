"""``apply_event``: the one way a payment changes state, whatever the source (callback, webhook, reconciler,
merchant decision).

One call is one transaction, owned by the caller's unit of work: record the event (unique on provider and event key),
move the payment with a conditional update, move the order, and write the outbox rows the move owes. A duplicate
event changes nothing and sends nothing; the caller still answers the provider 200.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.insert import insert_if_absent
from core.db.repos.orders import OrderRepository, PaymentRepository
from core.db.tables import Payment, PaymentEvent
from core.messages import Message
from core.money import Money
from core.texts import text
from payments import notices, stock
from payments.base import Outcome, ProviderEvent
from payments.manual.signals import signals
from payments.states import (
    CAN_BE_PAID,
    CAN_BE_REFUNDED,
    ENDINGS,
    HOLDS_MONEY,
    LATE_SUCCESS,
    ORDER_CAN_BE_PAID,
    OrderStatus,
    PaymentStatus,
)


class EventResult(enum.StrEnum):
    APPLIED = "applied"  # the payment moved
    DUPLICATE = "duplicate"  # this event was seen before: nothing done
    IGNORED = "ignored"  # recorded, but it cannot move the payment (a late failure after a success)
    NEEDS_REVIEW = "needs_review"  # money arrived that does not fit: the merchant decides
    UNMATCHED = "unmatched"  # no payment of this tenant has that reference


@dataclass(frozen=True, slots=True)
class Applied:
    result: EventResult
    payment: Payment | None = None
    status: PaymentStatus | None = None

    @property
    def moved(self) -> bool:
        return self.result is EventResult.APPLIED


async def apply_event(session: AsyncSession, tenant_id: int, event: ProviderEvent, clock: Clock) -> Applied:
    now = clock.now()
    payments = PaymentRepository(session)
    payment = await payments.by_reference(event.payment_reference)
    if payment is not None and payment.tenant_id != tenant_id:
        payment = None  # another tenant's reference is as good as unknown here
    event_id = await insert_if_absent(
        session,
        PaymentEvent.__table__,  # type: ignore[arg-type]
        {
            "tenant_id": tenant_id,
            "payment_id": payment.id if payment else None,
            "provider": event.provider,
            "event_key": event.event_key,
            "outcome": event.outcome.value,
            "amount_minor": event.amount.minor if event.amount else None,
            "currency": event.amount.currency if event.amount else None,
            "provider_txn_id": event.provider_txn_id,
            "reason": event.reason,
            "result": "received",
            "raw": dict(event.raw),
            "received_at": now,
        },
    )
    if event_id is None:
        return Applied(EventResult.DUPLICATE, payment)
    if payment is None:
        applied = Applied(EventResult.UNMATCHED)
    else:
        await session.refresh(payment)
        applied = await _apply(session, payment, event, clock)
    await session.execute(update(PaymentEvent).where(PaymentEvent.id == event_id).values(result=applied.result.value))
    return applied


async def _apply(session: AsyncSession, payment: Payment, event: ProviderEvent, clock: Clock) -> Applied:
    if event.outcome is Outcome.PAID:
        return await _paid(session, payment, event, clock)
    if event.outcome is Outcome.REFUNDED:
        return await _refunded(session, payment, event, clock)
    if event.outcome is Outcome.ACCEPTED:
        return await _accepted(session, payment, event, clock)
    allowed, target = ENDINGS[event.outcome]
    moved = await PaymentRepository(session).move(
        payment.id, allowed, target, clock.now(), reason=event.reason or payment.reason
    )
    if not moved:
        return Applied(EventResult.IGNORED, payment, PaymentStatus(payment.status))
    await session.refresh(payment)
    await _announce(session, payment, event, target, clock)
    return Applied(EventResult.APPLIED, payment, target)


async def _announce(
    session: AsyncSession, payment: Payment, event: ProviderEvent, target: PaymentStatus, clock: Clock
) -> None:
    now = clock.now()
    ctx = await notices.context_for(session, payment)
    if target in (PaymentStatus.FAILED, PaymentStatus.CANCELLED, PaymentStatus.EXPIRED):
        if ctx.order.status != OrderStatus.AWAITING_PAYMENT:
            return  # an older attempt of an order paid (or cancelled) meanwhile: nothing to tell the customer
        ended = await notices.attempt_ended(session, ctx, target.value, event)
        await notices.to_customer(
            session, ctx, f"payment:{payment.id}:{target.value}", notices.in_place_of_start(ctx, ended), now
        )
    elif event.outcome is Outcome.PROOF_SUBMITTED:
        proof = await PaymentRepository(session).latest_proof(payment.id)
        assert proof is not None
        await notices.to_merchant(
            session,
            ctx.tenant,
            f"proof:{proof.id}",
            notices.proof_for_review(ctx, proof, await signals(session, ctx.tenant.id, proof, payment)),
            now,
        )
    elif event.outcome is Outcome.REJECTED:
        await notices.to_customer(
            session, ctx, f"{event.event_key}:customer", notices.proof_rejected(ctx, event.reason), now
        )


async def _paid(session: AsyncSession, payment: Payment, event: ProviderEvent, clock: Clock) -> Applied:
    now = clock.now()
    expected = Money(payment.amount_minor, payment.currency)
    received = _received(event, expected)
    payments = PaymentRepository(session)
    ctx = await notices.context_for(session, payment)

    if payment.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED):
        if event.provider_txn_id and event.provider_txn_id == payment.provider_txn_id:
            return Applied(EventResult.DUPLICATE, payment)  # the same money reported a second way (STK and C2B)
        if event.provider_ref and event.provider_ref == payment.provider_ref:
            # The same attempt reported twice (M-Pesa: a query's "paid", then the callback with the receipt).
            if event.provider_txn_id and payment.provider_txn_id is None:
                payment.provider_txn_id = event.provider_txn_id
            return Applied(EventResult.DUPLICATE, payment)
        await notices.to_merchant(
            session,
            ctx.tenant,
            f"review:{payment.id}:{event.event_key}",
            notices.needs_review_alert(ctx, text("review.second_receipt", txn=event.provider_txn_id or "?")),
            now,
        )
        return Applied(EventResult.NEEDS_REVIEW, payment, PaymentStatus(payment.status))

    order_taken = ctx.order.status not in ORDER_CAN_BE_PAID
    if received is None or received != expected or order_taken or event.review:
        if received is None:
            reason = text("review.amount_unknown", expected=expected.format())
        elif received != expected:
            reason = text("review.amount_mismatch", expected=expected.format(), received=received.format())
        elif order_taken:
            reason = text("review.order_already_paid", code=ctx.order.code)
        else:
            reason = event.review or ""
        moved = await payments.move(
            payment.id,
            CAN_BE_PAID,
            PaymentStatus.NEEDS_REVIEW,
            now,
            paid_minor=received.minor if received is not None and received.currency == payment.currency else None,
            provider_txn_id=event.provider_txn_id,
            reason=reason,
        )
        if not moved:
            return Applied(EventResult.IGNORED, payment, PaymentStatus(payment.status))
        if not order_taken:
            await OrderRepository(session).move(
                payment.tenant_id, payment.order_id, ORDER_CAN_BE_PAID, OrderStatus.NEEDS_REVIEW, now
            )
        await session.refresh(payment)
        await notices.to_merchant(
            session,
            ctx.tenant,
            f"review:{payment.id}",
            notices.needs_review_alert(ctx, reason, acceptable=not order_taken),
            now,
        )
        await notices.to_customer(
            session,
            ctx,
            f"payment:{payment.id}:review",
            Message(text("payment.under_review", ctx.lang, code=ctx.order.code)),
            now,
        )
        return Applied(EventResult.NEEDS_REVIEW, payment, PaymentStatus.NEEDS_REVIEW)

    late = payment.status in LATE_SUCCESS
    moved = await payments.move(
        payment.id,
        CAN_BE_PAID,
        PaymentStatus.PAID,
        now,
        paid_minor=received.minor,
        provider_txn_id=event.provider_txn_id or payment.provider_txn_id,
    )
    if not moved:
        return Applied(EventResult.IGNORED, payment, PaymentStatus(payment.status))
    await OrderRepository(session).move(payment.tenant_id, payment.order_id, ORDER_CAN_BE_PAID, OrderStatus.PAID, now)
    await session.refresh(payment)
    await session.refresh(ctx.order)
    receipt = notices.receipt(ctx, received, channel=event.channel, at=event.occurred_at or now)
    if not late:
        # In time: the receipt takes the place of "check your phone" / "pay online". A late success (after the
        # customer was told the attempt ended) comes as a new message, which notifies; an edit would not.
        receipt = notices.in_place_of_start(ctx, receipt)
    await _order_paid(session, ctx, receipt, received, late=late, now=now)
    return Applied(EventResult.APPLIED, payment, PaymentStatus.PAID)


def _received(event: ProviderEvent, expected: Money) -> Money | None:
    """The money a paid event reports; None when it does not say. Only an event that vouches for it (an STK Query's
    answer about the attempt) is taken to carry the attempt's amount."""
    if event.amount is not None:
        return event.amount
    return expected if event.amount_is_attempts else None


async def _accepted(session: AsyncSession, payment: Payment, event: ProviderEvent, clock: Clock) -> Applied:
    """The merchant accepts money held for review as it arrived: the order it was for becomes paid. Only when that
    order waits on this payment alone; money for an order paid another way can only be refunded."""
    now = clock.now()
    ctx = await notices.context_for(session, payment)
    if ctx.order.status != OrderStatus.NEEDS_REVIEW:
        return Applied(EventResult.IGNORED, payment, PaymentStatus(payment.status))
    moved = await PaymentRepository(session).move(payment.id, [PaymentStatus.NEEDS_REVIEW], PaymentStatus.PAID, now)
    if not moved:
        return Applied(EventResult.IGNORED, payment, PaymentStatus(payment.status))
    if not await OrderRepository(session).move(
        payment.tenant_id, payment.order_id, [OrderStatus.NEEDS_REVIEW], OrderStatus.PAID, now
    ):
        # Read as needs_review a moment ago; another transaction moved it since. Undo the payment's move with
        # the whole transaction rather than leave a paid payment on an order that is not.
        raise RuntimeError(f"order {ctx.order.id} left needs_review while payment {payment.id} was accepted")
    await session.refresh(payment)
    await session.refresh(ctx.order)
    received = Money(payment.paid_minor or payment.amount_minor, payment.currency)
    receipt = notices.receipt(ctx, received, channel=None, at=now)
    await _order_paid(session, ctx, receipt, received, late=False, now=now, alert_merchant=False)
    return Applied(EventResult.APPLIED, payment, PaymentStatus.PAID)


async def _order_paid(
    session: AsyncSession,
    ctx: notices.Context,
    receipt: Message,
    received: Money,
    *,
    late: bool,
    now: datetime,
    alert_merchant: bool = True,
) -> None:
    """What an order's becoming paid owes: its stock taken, the customer's receipt, the merchant's alert (which
    also says when the stock fell short, so the merchant restocks or refunds)."""
    short = await stock.take_for_order(session, ctx.order)
    await notices.to_customer(session, ctx, f"receipt:{ctx.payment.id}", receipt, now)
    if alert_merchant or short:
        alert = notices.paid_alert(ctx, received, late=late, short=short)
        await notices.to_merchant(session, ctx.tenant, f"paid:{ctx.payment.id}", alert, now)


async def _refunded(session: AsyncSession, payment: Payment, event: ProviderEvent, clock: Clock) -> Applied:
    now = clock.now()
    paid = payment.paid_minor or payment.amount_minor
    amount = event.amount.minor if event.amount else paid - payment.refunded_minor
    total = min(paid, payment.refunded_minor + amount)
    target = PaymentStatus.REFUNDED if total >= paid else PaymentStatus.PARTIALLY_REFUNDED
    moved = await PaymentRepository(session).move(payment.id, CAN_BE_REFUNDED, target, now, refunded_minor=total)
    if not moved:
        return Applied(EventResult.IGNORED, payment, PaymentStatus(payment.status))
    if target is PaymentStatus.REFUNDED and not await _order_holds_other_money(session, payment):
        await OrderRepository(session).move(
            payment.tenant_id,
            payment.order_id,
            [OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.NEEDS_REVIEW],
            OrderStatus.REFUNDED,
            now,
        )
    await session.refresh(payment)
    ctx = await notices.context_for(session, payment)
    refunded = Money(amount, payment.currency)
    await notices.to_customer(
        session,
        ctx,
        f"refund:{payment.id}:{event.event_key}",
        Message(text("refund.on_its_way", ctx.lang, code=ctx.order.code, amount=refunded.format())),
        now,
    )
    return Applied(EventResult.APPLIED, payment, target)


async def _order_holds_other_money(session: AsyncSession, payment: Payment) -> bool:
    """Whether another payment of the order still holds money: refunding a second payment of an order (the customer
    paid twice) leaves the order paid by the first."""
    others = await PaymentRepository(session).for_order(payment.tenant_id, payment.order_id)
    return any(other.id != payment.id and other.status in HOLDS_MONEY for other in others)
