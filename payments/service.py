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
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from core import outbox
from core.clock import Clock
from core.db.repos.orders import OrderRepository, PaymentRepository
from core.db.repos.promos import PromoRepository
from core.db.tables import Payment, PaymentEvent, Refund
from core.messages import Message
from core.money import Money
from core.texts import text
from payments import fiscal_hook, notices, receipt_copies, stock
from payments.base import Outcome, ProviderEvent
from payments.manual.provider import NAME as MANUAL
from payments.manual.signals import signal_words
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

# A refund event's ``reason_code`` when the merchant sent the money themselves (by hand, cash) and pressed Done: the
# customer reads that the shop has sent it, rather than that it is on its way.
SENT_BY_MERCHANT = "sent_by_merchant"


class EventResult(enum.StrEnum):
    APPLIED = "applied"  # the payment moved
    DUPLICATE = "duplicate"  # this event was seen before: nothing done
    IGNORED = "ignored"  # recorded, but it cannot move the payment (a late failure after a success)
    NEEDS_REVIEW = "needs_review"  # money arrived that does not fit: the merchant decides
    UNMATCHED = "unmatched"  # no payment of this tenant has that reference
    REFUSED = "refused"  # recorded, not applied: a refund that does not fit what the payment holds


@dataclass(frozen=True, slots=True)
class Applied:
    result: EventResult
    payment: Payment | None = None
    status: PaymentStatus | None = None
    why: str | None = None  # for a refusal: what the merchant is told

    @property
    def moved(self) -> bool:
        return self.result is EventResult.APPLIED


async def apply_event(session: AsyncSession, tenant_id: int, event: ProviderEvent, clock: Clock) -> Applied:
    """A handful of statements: the event recorded (a duplicate ends there, on the table's unique key), the payment
    read with its order and lines, tenant and customer in one query, each move a conditional UPDATE whose changes the
    session takes from the statement (no refresh), the messages owed written in one INSERT, the event's result and
    payment noted."""
    now = clock.now()
    recorded = await session.execute(
        _record_statement(session),
        {
            "tenant_id": tenant_id,
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
    event_id = recorded.scalar()
    if event_id is None:
        return Applied(EventResult.DUPLICATE)
    parties = await PaymentRepository(session).with_parties(tenant_id, event.payment_reference)
    if parties is None:
        applied = Applied(EventResult.UNMATCHED)
    else:
        ctx = notices.Context(
            parties.tenant,
            parties.order,
            parties.payment,
            parties.customer,
            counted=parties.counted,
            alert_readers=parties.alert_readers,
        )
        applied = await _apply(session, ctx, event, clock)
    # The event names its payment only now, with its result: another tenant's reference is as good as unknown.
    await session.execute(
        _NOTE_RESULT,
        {"noted": event_id, "result": applied.result.value, "payment_id": parties.payment.id if parties else None},
    )
    return applied


_EVENTS = cast(Table, PaymentEvent.__table__)
_PAYMENTS = cast(Table, Payment.__table__)
_NOTE_RESULT = update(_EVENTS).where(_EVENTS.c.id == bindparam("noted"))
# An event's record, one statement per dialect, built once: ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` (no
# id back: the event's unique key holds it already, a duplicate). The values come with each execution.
_RECORD = {
    name: module.insert(_EVENTS).on_conflict_do_nothing().returning(_EVENTS.c.id)
    for name, module in (("postgresql", postgresql), ("sqlite", sqlite))
}


def _record_statement(session: AsyncSession) -> Any:
    return _RECORD["postgresql" if session.bind is not None and session.bind.dialect.name == "postgresql" else "sqlite"]


async def _apply(session: AsyncSession, ctx: notices.Context, event: ProviderEvent, clock: Clock) -> Applied:
    payment = ctx.payment
    if event.outcome is Outcome.PAID:
        return await _paid(session, ctx, event, clock)
    if event.outcome is Outcome.REFUNDED:
        return await _refunded(session, ctx, event, clock)
    if event.outcome is Outcome.ACCEPTED:
        return await _accepted(session, ctx, event, clock)
    allowed, target = ENDINGS[event.outcome]
    moved = await PaymentRepository(session).move_loaded(
        payment, allowed, target, clock.now(), reason=event.reason or payment.reason
    )
    if not moved:
        return Applied(EventResult.IGNORED, payment, PaymentStatus(payment.status))
    await _announce(session, ctx, event, target, clock)
    return Applied(EventResult.APPLIED, payment, target)


async def _announce(
    session: AsyncSession, ctx: notices.Context, event: ProviderEvent, target: PaymentStatus, clock: Clock
) -> None:
    now = clock.now()
    payment = ctx.payment
    if target in (PaymentStatus.FAILED, PaymentStatus.CANCELLED, PaymentStatus.EXPIRED):
        if ctx.order.status != OrderStatus.AWAITING_PAYMENT:
            return  # an older attempt of an order paid (or cancelled) meanwhile: nothing to tell the customer
        if ctx.order.promo_code is not None:  # the order's promo use goes back; a new attempt takes it again
            await PromoRepository(session).release(ctx.order.id, now)  # (payments.attempts.open_payment)
        ended = await notices.attempt_ended(session, ctx, target.value, event)
        await notices.to_customer(
            session, ctx, f"payment:{payment.id}:{target.value}", notices.in_place_of_start(ctx, ended), now
        )
    elif event.outcome is Outcome.PROOF_SUBMITTED:
        proof = await PaymentRepository(session).latest_proof(payment.id)
        assert proof is not None
        warnings = await signal_words(session, ctx.tenant.id, proof, payment)  # asked once, said in each language

        def proof_alert(language: str) -> Message:
            said = [word.render(language) for word in warnings]
            return notices.proof_for_review(ctx, proof, said, language=language)

        await notices.to_merchant(session, ctx.tenant, f"proof:{proof.id}", proof_alert, now, readers=ctx.alert_readers)
    elif event.outcome is Outcome.REJECTED:
        await notices.to_customer(
            session, ctx, f"{event.event_key}:customer", notices.proof_rejected(ctx, event.reason), now
        )


async def _paid(session: AsyncSession, ctx: notices.Context, event: ProviderEvent, clock: Clock) -> Applied:
    now = clock.now()
    payment = ctx.payment
    expected = Money(payment.amount_minor, payment.currency)
    received = _received(event, expected)
    payments = PaymentRepository(session)

    if payment.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED):
        if event.provider_txn_id and event.provider_txn_id == payment.provider_txn_id:
            return Applied(EventResult.DUPLICATE, payment)  # the same money reported a second way (STK and C2B)
        if event.provider_ref and event.provider_ref == payment.provider_ref:
            # The same attempt reported twice (a push: a query's "paid", then the callback with the receipt).
            if event.provider_txn_id and payment.provider_txn_id is None:
                payment.provider_txn_id = event.provider_txn_id
            return Applied(EventResult.DUPLICATE, payment)
        txn = event.provider_txn_id or "?"
        await notices.to_merchant(
            session,
            ctx.tenant,
            f"review:{payment.id}:{event.event_key}",
            lambda language: notices.needs_review_alert(
                ctx, text("review.second_receipt", language, txn=txn), language
            ),
            now,
            readers=ctx.alert_readers,
        )
        return Applied(EventResult.NEEDS_REVIEW, payment, PaymentStatus(payment.status))

    order_taken = ctx.order.status not in ORDER_CAN_BE_PAID
    if received is None or received != expected or order_taken or event.review:
        reason = notices.held_reason(ctx, event, expected, received, order_taken=order_taken)
        moved = await payments.move_loaded(
            payment,
            CAN_BE_PAID,
            PaymentStatus.NEEDS_REVIEW,
            now,
            paid_minor=received.minor if received is not None and received.currency == payment.currency else None,
            provider_txn_id=event.provider_txn_id,
            reason=reason(ctx.shop_lang),  # the payment's record: in the shop's language
        )
        if not moved:
            return Applied(EventResult.IGNORED, payment, PaymentStatus(payment.status))
        if not order_taken:
            await OrderRepository(session).move_loaded(ctx.order, ORDER_CAN_BE_PAID, OrderStatus.NEEDS_REVIEW, now)
        acceptable = not order_taken
        under_review = Message(text("payment.under_review", ctx.lang, code=ctx.order.code))
        owed = await notices.for_merchant(
            session,
            ctx.tenant,
            f"review:{payment.id}",
            lambda language: notices.needs_review_alert(ctx, reason(language), language, acceptable=acceptable),
            readers=ctx.alert_readers,
        )
        owed.append(notices.for_customer(ctx, f"payment:{payment.id}:review", under_review))
        await outbox.enqueue_many(session, tenant_id=ctx.tenant.id, owed=owed, now=now)
        return Applied(EventResult.NEEDS_REVIEW, payment, PaymentStatus.NEEDS_REVIEW)

    late = payment.status in LATE_SUCCESS
    moved = await payments.move_loaded(
        payment,
        CAN_BE_PAID,
        PaymentStatus.PAID,
        now,
        paid_minor=received.minor,
        provider_txn_id=event.provider_txn_id or payment.provider_txn_id,
    )
    if not moved:
        return Applied(EventResult.IGNORED, payment, PaymentStatus(payment.status))
    await OrderRepository(session).move_loaded(ctx.order, ORDER_CAN_BE_PAID, OrderStatus.PAID, now)
    receipt = notices.receipt(ctx, received, channel=event.channel, at=event.occurred_at or now)
    # In time or late, the receipt takes the place of the attempt's message ("check your phone", or the failure that
    # replaced it): an edit is idempotent, so a relay that dies mid-send can never show the receipt twice. A late
    # receipt is silent (an edit does not notify); the merchant's "paid late" alert still goes out.
    receipt = notices.in_place_of_start(ctx, receipt)
    # An admin's own approval of a proof (payments.manual.provider.approved, which names the admin) is shown on the
    # proof message itself (admin.proofs): an "order paid" alert would only repeat it, unless late or short of stock.
    alert = late or payment.provider != MANUAL or "admin" not in event.raw
    await _order_paid(session, ctx, receipt, received, late=late, now=now, alert_merchant=alert)
    return Applied(EventResult.APPLIED, payment, PaymentStatus.PAID)


def _received(event: ProviderEvent, expected: Money) -> Money | None:
    """The money a paid event reports; None when it does not say. Only an event that vouches for it (an STK Query's
    answer about the attempt) is taken to carry the attempt's amount."""
    if event.amount is not None:
        return event.amount
    return expected if event.amount_is_attempts else None


# Refunds still open, in any of their forms: a provider's on their way (its in-flight states) and the
# merchant's tasks not yet marked Done (payments.merchant_refunds.AWAITING_MERCHANT). Spelled out here because both
# modules import this one; a unit test keeps the three in step.
OPEN_REFUND_STATUSES = frozenset(
    {"requested", "submitting", "pending", "processing", "needs-attention", "awaiting_merchant"}
)


async def _accepted(session: AsyncSession, ctx: notices.Context, event: ProviderEvent, clock: Clock) -> Applied:
    """The merchant accepts money held for review as it arrived: the order it was for becomes paid. Only when that
    order waits on this payment alone, and only while no refund of it is open: money the merchant chose to send back
    cannot also be kept. The database decides both, not a read before: the payment's row lock first (the one every
    refund's creation takes, so the statement below sees any refund committed before it), then one conditional
    update that moves the payment only while it is held and no open refund of it exists."""
    now = clock.now()
    payment = ctx.payment
    if ctx.order.status != OrderStatus.NEEDS_REVIEW:
        return Applied(EventResult.IGNORED, payment, PaymentStatus(payment.status))
    await PaymentRepository(session).lock(payment.id)
    open_refund = (
        select(Refund.id)
        .where(Refund.payment_id == payment.id, Refund.status.in_(sorted(OPEN_REFUND_STATUSES)))
        .exists()
    )
    payments = _PAYMENTS
    moved = await session.scalar(
        update(payments)
        .where(payments.c.id == payment.id, payments.c.status == PaymentStatus.NEEDS_REVIEW.value, ~open_refund)
        .values(status=PaymentStatus.PAID.value, updated_at=now)
        .returning(payments.c.id)
    )
    if moved is None:  # the payment as read is as it stands: its row is locked (with_parties)
        return Applied(EventResult.IGNORED, payment, PaymentStatus(payment.status))
    _took(payment, status=PaymentStatus.PAID.value, updated_at=now)
    if not await OrderRepository(session).move_loaded(ctx.order, [OrderStatus.NEEDS_REVIEW], OrderStatus.PAID, now):
        # Read as needs_review a moment ago; another transaction moved it since. Undo the payment's move with
        # the whole transaction rather than leave a paid payment on an order that is not.
        raise RuntimeError(f"order {ctx.order.id} left needs_review while payment {payment.id} was accepted")
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
    short = await stock.take_for_order(session, ctx.order, ctx.counted)
    if ctx.order.promo_code is not None:  # paid at the discounted price: its use counts, given back or not
        await PromoRepository(session).retake(ctx.order.id, now, force=True)
    await fiscal_hook.owe_documents(
        session,
        ctx.tenant,
        document="sale",
        key=f"paid:{ctx.payment.id}",
        order_id=ctx.order.id,
        payment_id=ctx.payment.id,
        amount_minor=received.minor,
        currency=received.currency,
        now=now,
    )
    owed = [notices.for_customer(ctx, f"receipt:{ctx.payment.id}", receipt)]
    if alert_merchant or short:
        owed += await notices.for_merchant(
            session,
            ctx.tenant,
            f"paid:{ctx.payment.id}",
            lambda language: notices.paid_alert(ctx, received, language, late=late, short=short),
            readers=ctx.alert_readers,
        )
    await outbox.enqueue_many(session, tenant_id=ctx.tenant.id, owed=owed, now=now)
    await receipt_copies.owe_copies(session, ctx, received, now)


async def _refunded(session: AsyncSession, ctx: notices.Context, event: ProviderEvent, clock: Clock) -> Applied:
    """Money sent back. The refunded total is the database's invariant, not the caller's: one conditional UPDATE
    adds the amount only while the payment holds money, in the refund's currency, and the sum stays within what was
    paid (a CHECK on the table says the same). Two refunds at once, locked or not, cannot both take the same money.
    A refund that does not fit is recorded with its event, changes nothing, and the merchant is told why."""
    now = clock.now()
    payment = ctx.payment
    paid_then = payment.amount_minor if payment.paid_minor is None else payment.paid_minor
    # No amount means "all of it": what is left as read. Should another refund land first, it no longer fits.
    amount = event.amount or Money(paid_then - payment.refunded_minor, payment.currency)
    payments = _PAYMENTS
    paid = func.coalesce(payments.c.paid_minor, payments.c.amount_minor)
    total = payments.c.refunded_minor + amount.minor
    landed = None
    if amount.minor > 0:
        landed = (
            await session.execute(
                update(payments)
                .where(
                    payments.c.id == payment.id,
                    payments.c.status.in_(sorted(CAN_BE_REFUNDED)),
                    payments.c.currency == amount.currency,
                    total <= paid,
                )
                .values(
                    refunded_minor=total,
                    status=case(
                        (total >= paid, PaymentStatus.REFUNDED.value), else_=PaymentStatus.PARTIALLY_REFUNDED.value
                    ),
                    updated_at=now,
                )
                .returning(payments.c.status, payments.c.refunded_minor)
            )
        ).first()
    if landed is None:  # the payment as read is as it stands: its row is locked (with_parties)
        return await _refund_refused(session, ctx, event, amount, now)
    _took(payment, status=landed.status, refunded_minor=landed.refunded_minor, updated_at=now)
    target = PaymentStatus(landed.status)
    if target is PaymentStatus.REFUNDED and not await _order_holds_other_money(session, payment):
        await OrderRepository(session).move_loaded(
            ctx.order, [OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.NEEDS_REVIEW], OrderStatus.REFUNDED, now
        )
    await fiscal_hook.owe_documents(
        session,
        ctx.tenant,
        document="credit",
        key=f"refund:{payment.id}:{event.event_key}",
        order_id=ctx.order.id,
        payment_id=payment.id,
        amount_minor=amount.minor,
        currency=amount.currency,
        now=now,
    )
    told = "refund.sent_by_merchant" if event.reason_code == SENT_BY_MERCHANT else "refund.on_its_way"
    await notices.to_customer(
        session,
        ctx,
        f"refund:{payment.id}:{event.event_key}",
        Message(text(told, ctx.lang, code=ctx.order.code, amount=amount.format(ctx.lang))),
        now,
    )
    return Applied(EventResult.APPLIED, payment, target)


async def _refund_refused(
    session: AsyncSession, ctx: notices.Context, event: ProviderEvent, amount: Money, now: datetime
) -> Applied:
    payment = ctx.payment
    if payment.status not in HOLDS_MONEY and payment.status != PaymentStatus.REFUNDED:
        return Applied(EventResult.IGNORED, payment, PaymentStatus(payment.status))  # never paid: nothing to send back
    why = notices.refund_refused_why(ctx, amount)

    def refused(language: str) -> Message:
        said = text("refund.merchant.refused", language, code=ctx.order.code, amount=amount.format(), why=why(language))
        return Message(said)

    key = f"refund:{payment.id}:{event.event_key}:refused"
    await notices.to_merchant(session, ctx.tenant, key, refused, now, readers=ctx.alert_readers)
    return Applied(EventResult.REFUSED, payment, PaymentStatus(payment.status), why=why(ctx.shop_lang))


def _took(row: object, **values: object) -> None:
    """``row`` (loaded in the session) as a statement of ours just wrote it: its committed state, no refresh."""
    for key, value in values.items():
        set_committed_value(row, key, value)


async def _order_holds_other_money(session: AsyncSession, payment: Payment) -> bool:
    """Whether another payment of the order still holds money: refunding a second payment of an order (the customer
    paid twice) leaves the order paid by the first."""
    others = await PaymentRepository(session).for_order(payment.tenant_id, payment.order_id)
    return any(other.id != payment.id and other.status in HOLDS_MONEY for other in others)
