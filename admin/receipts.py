"""An order's PDF receipt, sent as a document: to its customer, who pressed "📄 Receipt (PDF)" under the receipt in
the chat (``payments.notices.receipt``), or to an admin who asked with ``/receipt CODE``. Both are replies to the
person who asked (a press, a command), not notifications: nothing changes, so nothing goes through the outbox.

The receipt is in the customer's language whoever asks for it, and names the money that came in: the order's
payments that were paid (and what of them went back). An order not paid yet has no receipt.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin import orders
from admin.receipt_pdf import Line, PaidWith, Receipt, render, vat_of
from core import shoptime
from core.buttons import ReceiptPdf
from core.db.repos.customers import CustomerRepository
from core.db.repos.orders import OrderRepository, PaymentRepository
from core.db.tables import Order, Payment, PaymentEvent, Tenant
from core.fiscal_stamp import FiscalStamps
from core.messages import Attachment, Message
from core.money import Money
from core.texts import text
from flows.buttons import CUSTOMER, orders_now
from flows.context import FlowContext, Reply
from payments.base import Outcome
from payments.states import PaymentStatus

__all__ = ["MONEY_IN", "command", "for_order", "pressed"]

MONEY_IN = frozenset({PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED})


async def for_order(session: AsyncSession, tenant: Tenant, order: Order, fiscal: FiscalStamps) -> Message | None:
    """The order's receipt as a document with its caption; None when no money came in for it."""
    paid = [p for p in await PaymentRepository(session).for_order(tenant.id, order.id) if p.status in MONEY_IN]
    if not paid:
        return None
    customer = await CustomerRepository(session).by_id(tenant.id, order.customer_id)
    lang = customer.language if customer is not None else "en"
    stamp = await fiscal.for_order(session, tenant.id, order.id)
    total = Money(order.total_minor, order.currency)
    receipt = Receipt(
        language=lang,
        shop=tenant.name,
        address=tenant.address,
        tax_id=tenant.tax_id,
        code=order.code,
        placed_at=shoptime.when_long(order.created_at, tenant),
        customer=order.contact_name,
        lines=[Line(item.name, item.quantity, Money(item.unit_price_minor, order.currency)) for item in order.items],
        total=total,
        vat=vat_of(total, tenant.vat_rate_bp) if tenant.vat_rate_bp else None,
        payments=[await _paid_with(session, tenant, payment, lang) for payment in paid],
        test=order.is_test,
        stamp=stamp,
        stamp_time=shoptime.when_long(stamp.signed_at, tenant) if stamp is not None else None,
        discount=Money(order.discount_minor, order.currency) if order.discount_minor else None,
        promo_code=order.promo_code,
    )
    return Message(
        text("receipt.pdf_caption", lang, code=order.code),
        attachment=Attachment(f"receipt-{order.code}.pdf", await asyncio.to_thread(render, receipt)),
    )


async def _paid_with(session: AsyncSession, tenant: Tenant, payment: Payment, lang: str) -> PaidWith:
    """One payment as the receipt names it: when its money first came in (its first "paid" fact)."""
    arrived = await session.scalar(
        select(func.min(PaymentEvent.received_at)).where(
            PaymentEvent.tenant_id == tenant.id,
            PaymentEvent.payment_id == payment.id,
            PaymentEvent.outcome == Outcome.PAID.value,
        )
    )
    received = payment.amount_minor if payment.paid_minor is None else payment.paid_minor
    return PaidWith(
        method=text(f"provider.{payment.provider}", lang),
        reference=payment.provider_txn_id or payment.reference,
        amount=Money(received, payment.currency),
        refunded=Money(payment.refunded_minor, payment.currency),
        at=shoptime.when_long(arrived or payment.updated_at, tenant),
    )


@CUSTOMER.on(ReceiptPdf, expired=orders_now)
async def pressed(ctx: FlowContext, button: ReceiptPdf) -> Reply:
    """The "📄 Receipt (PDF)" button under a paid receipt: the customer's own order only."""
    order = await OrderRepository(ctx.session).by_id(ctx.tenant.id, button.order_id)
    if order is None or order.customer_id != ctx.customer.id:
        return Reply(notice=ctx.t("receipt.not_available"), refused=True)
    document = await for_order(ctx.session, ctx.tenant, order, ctx.fiscal)
    if document is None:
        return Reply(notice=ctx.t("receipt.not_paid", code=order.code), refused=True)
    return Reply([document], notice=ctx.t("receipt.pdf_caption", code=order.code))


async def command(ctx: FlowContext, args: str) -> Reply:
    """``/receipt CODE`` (admins only: the gate sees to it): any order of this shop's."""
    ident = args.split()[0] if args.split() else ""
    if not ident:
        return Reply([Message(ctx.t("admin.receipt.usage"))], refused=True)
    order = await orders.find(ctx, ident)
    if order is None:
        return Reply([Message(ctx.t("admin.no_such_order", code=ident[:20]))], refused=True)
    document = await for_order(ctx.session, ctx.tenant, order, ctx.fiscal)
    if document is None:
        return Reply([Message(ctx.t("receipt.not_paid", code=order.code))], refused=True)
    return Reply([document])
