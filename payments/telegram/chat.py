"""Paying with Telegram Payments in the chat: its chat step (:class:`payments.chat.ChatStep`), driven by
``flows.payment``.

1. The customer chooses it: the step works out what the invoice charges (Stars at the product's Stars price or the
   shop's rate; cards in the shop's currency) and opens the attempt and its start job; the invoice arrives in the
   chat from the job worker, and "tap Pay on the invoice above" takes the place of "preparing…".
2. Telegram's pre-checkout query (the customer pressed Pay): answered yes only when the payment is still open, for
   this shop, at the invoice's amount and currency, its order still awaiting payment at the prices it was placed at,
   still in stock, and its Stars price unchanged; otherwise no, in the customer's words. Nothing changes either way.
3. Telegram's ``successful_payment``: applied through ``apply_event`` (idempotent on the charge id; an amount or
   currency that is not the invoice's is held for review by the state machine). The receipt comes from the outbox."""

from __future__ import annotations

import logging
from typing import Any

from core.buttons import ChooseMethod
from core.db.repos.catalog import CatalogRepository
from core.db.repos.orders import OrderRepository, PaymentRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Order, Payment, ProviderConfig
from core.merchant_alerts import alert_merchant
from core.messages import Button, Message, keyboard
from core.money import Money
from core.texts import text
from payments import stock
from payments.attempts import is_push, open_attempt
from payments.chat import ChatContext, ChatStep, Reply, start_online_payment
from payments.invoices import InvoiceEvent, InvoiceStage, PreCheckoutAnswer, provider_of
from payments.service import apply_event
from payments.states import OPEN_PAYMENT, OrderStatus
from payments.telegram import INFO
from payments.telegram.pricing import MAX_STARS, MIN_STARS, Line, stars_at_rate, stars_for
from payments.telegram.provider import charge_event

log = logging.getLogger(__name__)


def _options(config: ProviderConfig | None) -> dict[str, Any]:
    return dict(config.options or {}) if config is not None else {}


def charged(options: dict[str, Any], order: Order) -> Money:
    """What the invoice of ``order`` charges: its total for cards; in Stars, per line (a product's Stars price, else
    the shop's rate), less the order's promo discount in proportion. A Money of 0 Stars when the shop set no way to
    price a line (refused by the step)."""
    if str(options.get("invoices") or "stars") != "stars":
        return Money(order.total_minor, order.currency)
    lines = [Line(item.sku, Money(item.unit_price_minor, order.currency), item.quantity) for item in order.items]
    stars = stars_for(options, lines)
    if stars is None:
        return Money(0, "XTR")
    if order.discount_minor:  # a promo code's discount, in the same share of the Stars, rounded up to a whole Star
        full = order.total_minor + order.discount_minor
        return Money(-(-stars.minor * order.total_minor // full), "XTR")
    return stars


def _menu_charge(options: Any, total: Money) -> Money | None:
    if str(options.get("invoices") or "stars") != "stars":
        return None
    return stars_at_rate(options, total)


async def begin(ctx: ChatContext, order: Order, config: ProviderConfig) -> Reply:
    charge = charged(_options(config), order)
    if charge.currency == "XTR" and not MIN_STARS <= charge.minor <= MAX_STARS:
        body = ctx.t("telegram.refused.stars", code=order.code, amount=charge.format())
        other = Button(ctx.t("telegram.button.other_method"), data=ChooseMethod(order.id).pack())
        return Reply([Message(body, keyboard([other]))])
    current = await open_attempt(ctx.session, order)
    if current is not None and is_push(current):  # its prompt may be on the phone: paying twice is one tap away
        return Reply([Message(ctx.t("jobs.push_open", code=order.code))], refused=True)
    sending = Message(ctx.t("jobs.telegram.sending", amount=charge.format(), code=order.code))
    total = Money(order.total_minor, order.currency)
    payment = await start_online_payment(ctx, order, INFO.name, sending, charge=charge if charge != total else None)
    if payment is None:  # a concurrent start opened one a moment ago
        return Reply([Message(ctx.t("jobs.attempt_open", code=order.code))], refused=True)
    return Reply(start_payment=payment.id)


async def on_invoice(ctx: ChatContext, invoice: InvoiceEvent) -> Reply:
    if invoice.stage is InvoiceStage.PRE_CHECKOUT:
        refusal = await _why_not_payable(ctx, invoice)
        answer = PreCheckoutAnswer(invoice.query_id or "", ok=refusal is None, error=refusal)
        return Reply(pre_checkout=answer, refused=refusal is not None)
    return await _paid(ctx, invoice)


async def _ours(ctx: ChatContext, invoice: InvoiceEvent) -> Payment | None:
    """The payment the payload names, when it is this shop's and this provider's (a payload of another shop's bot,
    or made up, names none)."""
    named = provider_of(invoice.payload)
    if named is None or named[0] != INFO.name:
        return None
    payment = await PaymentRepository(ctx.session).by_reference(named[1])
    if payment is None or payment.tenant_id != ctx.tenant.id or payment.provider != INFO.name:
        return None
    return payment


async def _why_not_payable(ctx: ChatContext, invoice: InvoiceEvent) -> str | None:
    payment = await _ours(ctx, invoice)
    if payment is None:
        return ctx.t("telegram.refused.unknown")
    order = await OrderRepository(ctx.session).by_id(ctx.tenant.id, payment.order_id)
    assert order is not None
    if payment.status not in OPEN_PAYMENT or order.status != OrderStatus.AWAITING_PAYMENT:
        return ctx.t("telegram.refused.closed", code=order.code)
    if (invoice.currency, invoice.total_amount) != (payment.currency, payment.amount_minor):
        return ctx.t("telegram.refused.changed_amount", code=order.code)
    gone = await stock.sold_out(ctx.session, order, ctx.lang)
    if gone:
        return ctx.t("telegram.refused.sold_out", code=order.code, names=", ".join(gone))
    if await _repriced(ctx, order, payment):
        return ctx.t("telegram.refused.price", code=order.code)
    return None


async def _repriced(ctx: ChatContext, order: Order, payment: Payment) -> bool:
    """Whether the shop changed a price since the invoice: a product's price, or what the order costs in Stars."""
    ids = [item.product_id for item in order.items if item.product_id is not None]
    products = await CatalogRepository(ctx.session).by_ids(ctx.tenant.id, ids)
    for item in order.items:
        product = products.get(item.product_id) if item.product_id is not None else None
        if product is not None and product.price_minor != item.unit_price_minor:
            return True
    if payment.currency != "XTR":
        return False
    config = await _config(ctx)
    return charged(_options(config), order) != Money(payment.amount_minor, payment.currency)


async def _config(ctx: ChatContext) -> ProviderConfig | None:
    return await TenantRepository(ctx.session).provider_config(ctx.tenant.id, INFO.name)


async def _paid(ctx: ChatContext, invoice: InvoiceEvent) -> Reply:
    payment = await _ours(ctx, invoice)
    if payment is None or not invoice.charge_id:
        # Telegram moved money for an invoice that is not one of this shop's payments: nothing here settles it, so
        # the merchant is told (once per charge), with what Telegram says arrived.
        log.warning("tenant %s: a payment in the chat names no payment of the shop's", ctx.tenant.id)
        values = {
            "amount": f"{invoice.total_amount} {invoice.currency[:8]}",
            "charge": (invoice.charge_id or "?")[:80],
            "name": ctx.customer.name or ctx.customer.display_name,
        }
        key = f"telegram-unknown:{(invoice.charge_id or invoice.payload)[:80]}"

        def alert(language: str) -> Message:
            return Message(text("telegram.merchant.paid_unknown", language, **values))

        await alert_merchant(ctx.session, ctx.tenant, key, alert, ctx.clock.now())
        return Reply([Message(ctx.t("telegram.paid_unknown"))], refused=True)
    await apply_event(ctx.session, ctx.tenant.id, charge_event(invoice, payment.reference), ctx.clock)
    return Reply()


STEP = ChatStep(begin=begin, charged=_menu_charge, invoice=on_invoice)
