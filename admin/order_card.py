"""``/order CODE``: one order as the merchant reconciles it. What was bought and by whom, each payment with what the
merchant checks against the provider's statement (its receipt number, the phone that paid, amount, time;
its reference and channel; the reference a customer gave with a proof), its history in words, and the buttons of what
can be done next. Every time is in the shop's time zone, labelled; a missing value leaves its part out."""

from __future__ import annotations

from sqlalchemy import select

from admin.order_history import history
from core import phones, shoptime
from core.buttons import AcceptPayment, AdminMenu, ApproveProof, AskCancelOrder, RejectProof, ShipOrder
from core.db.repos.orders import PaymentRepository
from core.db.tables import Order, Payment, PaymentEvent, Proof
from core.messages import Button, Message, keyboard
from core.money import Money
from core.texts import has
from flows.context import FlowContext
from payments import evidence
from payments.states import ORDER_CAN_BE_CANCELLED, ORDER_CAN_BE_SHIPPED, OrderStatus, PaymentStatus


async def card(ctx: FlowContext, order: Order | None, ident: str = "?") -> Message:
    """One order: contents, payments, and its whole history (events, decisions, messages sent)."""
    if order is None:
        return Message(ctx.t("admin.no_such_order", code=ident[:20] or "?"))
    payments_repo = PaymentRepository(ctx.session)
    payments = await payments_repo.for_order(ctx.tenant.id, order.id)
    payment_ids = [p.id for p in payments]
    events = list(
        await ctx.session.scalars(
            select(PaymentEvent)
            .where(PaymentEvent.tenant_id == ctx.tenant.id, PaymentEvent.payment_id.in_(payment_ids))
            .order_by(PaymentEvent.id)
        )
    )
    proofs = list(
        await ctx.session.scalars(
            select(Proof).where(Proof.tenant_id == ctx.tenant.id, Proof.payment_id.in_(payment_ids)).order_by(Proof.id)
        )
    )
    items = "\n".join(f"• {i.name} × {i.quantity}" for i in order.items)
    lines = [
        ctx.t(
            "admin.order_card",
            code=order.code,
            status=ctx.t(f"order.status.{order.status}"),
            amount=Money(order.total_minor, order.currency).format(ctx.lang),
            customer=order.contact_name,
            phone=phones.display(order.contact_phone, ctx.tenant.region),
            where=order.delivery_address or ctx.t("checkout.pickup"),
            items=items,
        )
    ]
    if order.is_test:
        lines.append(ctx.t("admin.orders.is_test"))
    if order.shipped_at is not None:
        lines.append(ctx.t("orders.card.shipped", at=shoptime.when(order.shipped_at, ctx.tenant, ctx.lang)))
    if order.tracking_note:
        lines.append(ctx.t("admin.orders.tracking", note=order.tracking_note))
    for payment in payments:
        mine = [e for e in events if e.payment_id == payment.id]
        lines.append(payment_line(ctx, payment, mine, [p for p in proofs if p.payment_id == payment.id]))
    past = await history(ctx, order, payments, events, proofs)
    if past:
        lines.append(ctx.t("admin.orders.history"))
        lines += past
    return Message("\n".join(lines), keyboard(*await _buttons(ctx, order, payments)))


def payment_line(ctx: FlowContext, payment: Payment, events: list[PaymentEvent], proofs: list[Proof]) -> str:
    """``Payment: M-Pesa – paid · receipt QK7ABC1234 · KES 420 from 0708 374 149 · 04 Dec 16:17 EAT``."""
    provider = ctx.t(f"provider.{payment.provider}")
    parts: list[str] = []
    brought = evidence.money_event(events)
    if brought is not None:
        seen = evidence.of(brought)
        if seen.channel:
            key = f"{payment.provider}.channel.{seen.channel}"
            provider += f" ({ctx.t(key) if has(key) else seen.channel.replace('_', ' ')})"
        receipt = f"{payment.provider}.orders.receipt"  # a provider whose receipts people quote names them so
        if seen.receipt and has(receipt):
            parts.append(ctx.t(receipt, receipt=seen.receipt))
        if seen.amount is not None:
            paid = seen.amount.format(ctx.lang)
            # An STK push confirmed by a status query has no phone in its answer; the push went to payment.phone.
            payer = _payer(seen) or (phones.display(payment.phone, ctx.tenant.region) if payment.phone else "")
            parts.append(ctx.t("orders.payment.from", amount=paid, payer=payer) if payer else paid)
        if seen.at is not None:
            parts.append(shoptime.when(seen.at, ctx.tenant, ctx.lang))
    if has(f"{payment.provider}.orders.reference"):  # a provider whose dashboard finds a payment by our reference
        parts.append(ctx.t(f"{payment.provider}.orders.reference", reference=payment.reference))
    given = [p.reference_text for p in proofs if p.reference_text]
    if given:
        parts.append(ctx.t("orders.payment.reference_given", reference=given[-1]))
    if payment.refunded_minor:
        refunded = Money(payment.refunded_minor, payment.currency).format(ctx.lang)
        parts.append(ctx.t("orders.payment.refunded", amount=refunded))
    head = ctx.t("admin.order_payment", provider=provider, status=ctx.t(f"orders.payment.status.{payment.status}"))
    return " · ".join([head, *parts])


def _payer(seen: evidence.Evidence) -> str:
    """``0708 374 149``, ``JOHN DOE (2547 ***** 149)`` or ``JOHN DOE``: who paid, as the statement names them."""
    phone = None
    if seen.phone:
        phone = phones.display(seen.phone) if seen.phone.startswith("+") else seen.phone  # a provider may mask it
    if seen.payer and phone:
        return f"{seen.payer} ({phone})"
    return seen.payer or phone or ""


async def _buttons(ctx: FlowContext, order: Order, payments: list[Payment]) -> list[list[Button]]:
    payments_repo = PaymentRepository(ctx.session)
    rows: list[list[Button]] = []
    for payment in payments:
        if payment.status == PaymentStatus.NEEDS_REVIEW and order.status == OrderStatus.NEEDS_REVIEW:
            rows.append([Button(ctx.t("admin.button.accept_payment"), data=AcceptPayment(payment.id).pack())])
        if payment.status != PaymentStatus.UNDER_REVIEW:
            continue
        proof = await payments_repo.latest_proof(payment.id)
        if proof is not None:
            rows.append(
                [
                    Button(ctx.t("button.approve"), data=ApproveProof(proof.id).pack()),
                    Button(ctx.t("button.reject"), data=RejectProof(proof.id).pack()),
                ]
            )
    if order.status in ORDER_CAN_BE_SHIPPED:
        rows.append([Button(ctx.t("admin.button.ship"), data=ShipOrder(order.id).pack())])
    if order.status in ORDER_CAN_BE_CANCELLED:
        rows.append([Button(ctx.t("admin.button.cancel_order"), data=AskCancelOrder(order.id).pack())])
    rows.append([Button(ctx.t("admin.button.menu"), data=AdminMenu(0).pack())])
    return rows
