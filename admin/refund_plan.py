"""What one refund from the chat would be, and starting it: the rules of ``/refund`` (``admin.refunds``) that hold
both when the merchant asks and again when they press Confirm, since the order may have moved in between.

- A provider that refunds (``Capability.REFUND``): a ``requested`` refund row, sent to the provider by the
  reconciler's pass after this transaction commits (no network inside the chat's transaction,
  ``payments.refund_sender``); the provider's reports move it, and ``processed`` moves the payment (apply_event
  REFUNDED) and tells the customer (``payments.refunds``).
- Any other (a push with no refund call, a manual payment): dukabot cannot send that money back, the merchant does
  (``payments.merchant_refunds``). The refund is the merchant's task ("send KES 1,500 to 0712 345 678, then press
  Done"), listed in ``/admin`` until done; the customer reads that the shop will send it, and only on Done that it
  was sent.

Every refund, and every refusal of one, leaves an audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, select

from admin import refund_tasks
from core.db.repos.orders import OrderRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import AuditEntry, Order, Payment, Refund
from core.messages import Message
from core.money import Money, MoneyError, example, exponent
from flows.context import FlowContext, Reply
from payments import merchant_refunds, refunds
from payments.states import CAN_BE_REFUNDED, OrderStatus, PaymentStatus

_MAX_REASON = 200


@dataclass(frozen=True, slots=True)
class Plan:
    """A refund that fits the order as read: ``amount`` of ``payment``, of which ``taken`` is already refunded or on
    its way out of ``paid``."""

    order: Order
    payment: Payment
    paid: Money
    taken: Money
    amount: Money

    @property
    def held(self) -> bool:
        return self.payment.status == PaymentStatus.NEEDS_REVIEW


async def plan(ctx: FlowContext, code: str, requested: str | Money | None, *, lock: bool) -> Plan | Reply:
    """The refund ``/refund CODE [AMOUNT]`` means, or the refusal that says why there is none. ``requested``: the
    amount as typed, as confirmed, or None for all that is left. ``lock`` (on Confirm):
    the payment's row is locked (PostgreSQL), so that two refunds at once cannot both take the same money, and so
    that an acceptance of held money (which takes the same lock) and this refund are decided one after the other."""
    order = await OrderRepository(ctx.session).by_code(ctx.tenant.id, code)  # another tenant's order is not found
    if order is None:
        return refused(ctx, "no_such_order", {"code": code}, ctx.t("refund.no_such_order", code=code))
    # Money held for review is refunded only while it is still held: an acceptance that lands first (another admin,
    # at the same moment) makes it the order's payment, and refunding that is a new decision, not this one.
    held_only = order.status == OrderStatus.NEEDS_REVIEW
    payment = await _refundable_payment(ctx, order.id, held_only=held_only, lock=lock)
    if payment is None and held_only:
        return refused(ctx, "changed_meanwhile", {"code": code}, ctx.t("refund.changed_meanwhile", code=code))
    if payment is None and order.status == OrderStatus.REFUNDED:
        total = Money(order.total_minor, order.currency).format(ctx.lang)
        return refused(ctx, "nothing_left", {"code": code}, ctx.t("refund.nothing_left", code=code, paid=total))
    if payment is None:
        status = ctx.t(f"order.status.{order.status}")
        return refused(ctx, "not_paid", {"code": code}, ctx.t("refund.not_paid", code=code, status=status))
    held = payment.status == PaymentStatus.NEEDS_REVIEW
    if held and payment.paid_minor is None:  # it came in another currency than the order's: we cannot tell how much
        body = ctx.t("refund.held_amount_unknown", code=code)
        return refused(ctx, "held_amount_unknown", {"code": code}, body)
    paid = Money(payment.paid_minor or payment.amount_minor, payment.currency)
    on_its_way = await refunds.open_minor(ctx.session, payment.id)  # by the provider, or promised by the merchant
    taken = Money(payment.refunded_minor + on_its_way, paid.currency)
    left = paid - taken
    if left.minor <= 0:
        body = ctx.t("refund.nothing_left", code=code, paid=paid.format(ctx.lang))
        return refused(ctx, "nothing_left", {"code": code}, body)
    if isinstance(requested, Money):
        amount = requested
    elif requested is not None:
        try:
            amount = Money.parse(requested, paid.currency)
        except MoneyError as error:
            shown = requested[:20]
            body = ctx.t("refund.bad_amount", amount=shown, currency=paid.currency, code=code)
            if error.reason == "too_precise":  # an amount, but finer than the currency counts
                digits = exponent(paid.currency)
                words = "refund.amount_whole" if digits == 0 else "refund.amount_decimals"
                body = ctx.t(
                    words,
                    amount=shown,
                    currency=paid.currency,
                    digits=digits,
                    code=code,
                    example=example(paid.currency),
                )
            return refused(ctx, "bad_amount", {"code": code, "amount": shown}, body)
    else:
        amount = left
    if amount.minor <= 0:
        return refused(ctx, "not_positive", {"code": code}, ctx.t("refund.not_positive"))
    if amount > left:
        body = ctx.t(
            "refund.too_much",
            limit=left.format(ctx.lang),
            code=code,
            paid=paid.format(ctx.lang),
            taken=taken.format(ctx.lang),
        )
        return refused(ctx, "too_much", {"code": code, "amount_minor": amount.minor}, body)
    if held and amount != left:
        # A partial refund would leave the rest held with no way forward: accept it first, then refund the difference.
        body = ctx.t("refund.held_is_whole", code=code, amount=left.format(ctx.lang))
        return refused(ctx, "held_is_whole", {"code": code, "amount_minor": amount.minor}, body)
    return Plan(order, payment, paid, taken, amount)


async def start(ctx: FlowContext, planned: Plan) -> Message:
    """Start the refund (the caller holds the payment's lock): a request to the provider, or the merchant's task."""
    payment, amount, code = planned.payment, planned.amount, planned.order.code
    now = ctx.clock.now()
    reason = f"/refund by {ctx.actor.tg_user_id}"[:_MAX_REASON]
    if not refunds.by_provider(payment.provider, payment.currency):
        task = await merchant_refunds.open_task(ctx.session, payment, amount, ctx.actor.tg_user_id, reason, now)
        details = {"refund_id": task.refund.id, "amount_minor": amount.minor, "provider": payment.provider}
        audit(ctx, True, code, details)
        return refund_tasks.opened(ctx, task)
    refund = Refund(
        tenant_id=ctx.tenant.id,
        payment_id=payment.id,
        provider=payment.provider,
        amount_minor=amount.minor,
        currency=amount.currency,
        status=refunds.REQUESTED,
        reason=reason,
        requested_by=ctx.actor.tg_user_id,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(refund)
    await ctx.session.flush()
    audit(ctx, True, code, {"refund_id": refund.id, "amount_minor": amount.minor, "provider": payment.provider})
    return Message(ctx.t(f"{payment.provider}.refund.requested", amount=amount.format(ctx.lang), code=code))


async def _refundable_payment(ctx: FlowContext, order_id: int, *, held_only: bool, lock: bool) -> Payment | None:
    """The order's attempt that holds money. ``held_only``: only money still held for review; PostgreSQL re-checks
    the status of a row it waited for, so money accepted meanwhile is not found."""
    statuses = [PaymentStatus.NEEDS_REVIEW] if held_only else CAN_BE_REFUNDED
    statement = (
        select(Payment)
        .where(
            Payment.tenant_id == ctx.tenant.id,
            Payment.order_id == order_id,
            Payment.status.in_([status.value for status in statuses]),
        )
        .order_by(
            # Money held for review first: when a customer paid twice, the second payment is the one to send back.
            case((Payment.status == PaymentStatus.NEEDS_REVIEW.value, 0), else_=1),
            Payment.id.desc(),
        )
        .limit(1)
    )
    if lock:
        statement = statement.with_for_update()
    return await ctx.session.scalar(statement)


def refused(ctx: FlowContext, why: str, details: dict[str, Any], body: str) -> Reply:
    audit(ctx, False, str(details.get("code", ""))[:80] or None, {"refused": why, **details})
    return Reply([Message(body)], refused=True)


def audit(ctx: FlowContext, allowed: bool, target: str | None, details: dict[str, Any]) -> None:
    TenantRepository(ctx.session).audit(
        AuditEntry(
            tenant_id=ctx.tenant.id,
            actor_tg_id=ctx.actor.tg_user_id,
            action="refund",
            target=target,
            allowed=allowed,
            details=details,
            at=ctx.clock.now(),
        )
    )
