"""Checkout: name, phone, delivery or pickup, address, then a summary that becomes an order."""

from __future__ import annotations

import secrets

from core import cart_reminders
from core.buttons import CancelCheckout, ConfirmOrder, Delivery, ShowCart, UseName, UsePhone
from core.db.repos.customers import CustomerRepository
from core.db.repos.orders import OrderRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Order, OrderItem
from core.merchant_alerts import alert_merchant
from core.messages import Button, Message, keyboard
from core.money import Money
from core.phones import PhoneError, display, example_international, example_local, mask, parse_mobile
from core.product_text import product_name
from core.texts import text
from flows import promo
from flows.cart import cart_lines, show_cart, total
from flows.context import FlowContext, Reply
from flows.inbound import Inbound, Kind
from payments.states import OrderStatus

# No 0/O, 1/I/L: an order code is read aloud and typed into a payment as its account number.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MAX_NAME = 80
MAX_ADDRESS = 300


async def start(ctx: FlowContext) -> Reply:
    if not await cart_lines(ctx):
        return Reply([await show_cart(ctx)])
    if not await _takes_payments(ctx):
        # An order nobody can pay would only sit there: refuse before asking anything, and tell the merchant.
        day = ctx.clock.now().date().isoformat()
        await alert_merchant(
            ctx.session,
            ctx.tenant,
            f"no-payment-method:{day}",
            lambda language: Message(text("merchant.no_payment_method", language)),
            ctx.clock.now(),
        )
        return Reply([Message(ctx.t("checkout.no_methods", shop=ctx.tenant.name))], refused=True)
    ctx.go("checkout.name")
    suggestions = (
        [[Button(ctx.customer.name or ctx.actor.display_name, data=UseName().pack())]]
        if (ctx.customer.name or ctx.actor.display_name)
        else []
    )
    return Reply([Message(ctx.t("checkout.ask_name"), keyboard(*suggestions))])


async def _takes_payments(ctx: FlowContext) -> bool:
    configs = await TenantRepository(ctx.session).provider_configs(ctx.tenant.id)
    return any(config.provider in ctx.methods for config in configs)


async def take_name(ctx: FlowContext, name: str) -> Reply:
    name = " ".join(name.split())
    if not 2 <= len(name) <= MAX_NAME:
        return Reply([Message(ctx.t("checkout.bad_name", max=MAX_NAME))], refused=True)
    ctx.remember(name=name)
    ctx.conversation.step = "checkout.phone"
    rows = []
    if ctx.customer.phone:
        rows.append(
            [
                Button(
                    ctx.t("button.use_phone", phone=mask(ctx.customer.phone, ctx.tenant.region)),
                    data=UsePhone().pack(),
                )
            ]
        )
    region = ctx.tenant.region
    words = ctx.t("checkout.ask_phone_for", example=example_local(region), international=example_international(region))
    return Reply([Message(words, keyboard(*rows))])


async def take_phone(ctx: FlowContext, typed: str) -> Reply:
    try:
        phone = parse_mobile(typed, ctx.tenant.region)
    except PhoneError as refused:
        region = ctx.tenant.region
        words = ctx.t(refused.key, example=example_local(region))
        abroad = ctx.t("phone.abroad", international=example_international(region))
        return Reply([Message(f"{words}\n{abroad}")], refused=True)
    ctx.remember(phone=phone.e164)
    ctx.conversation.step = "checkout.delivery"
    rows = [
        [
            Button(ctx.t("button.delivery"), data=Delivery(True).pack()),
            Button(ctx.t("button.pickup"), data=Delivery(False).pack()),
        ]
    ]
    return Reply([Message(ctx.t("checkout.ask_delivery"), keyboard(*rows))])


async def take_delivery(ctx: FlowContext, deliver: bool) -> Reply:
    if ctx.conversation.step != "checkout.delivery":
        return Reply(notice=ctx.t("error.stale_button"))
    if deliver:
        ctx.remember(delivery="delivery")
        ctx.conversation.step = "checkout.address"
        return Reply([Message(ctx.t("checkout.ask_address"))])
    ctx.remember(delivery="pickup", address=None)
    return await summary(ctx)


async def take_address(ctx: FlowContext, address: str) -> Reply:
    address = address.strip()
    if not 5 <= len(address) <= MAX_ADDRESS:
        return Reply([Message(ctx.t("checkout.bad_address", max=MAX_ADDRESS))], refused=True)
    ctx.remember(address=address)
    return await summary(ctx)


async def summary(ctx: FlowContext) -> Reply:
    lines = await cart_lines(ctx)
    if not lines:
        ctx.go("idle")
        return Reply([await show_cart(ctx)])
    ctx.conversation.step = "checkout.confirm"
    body = [ctx.t("checkout.summary_title")]
    body += [
        ctx.t(
            "cart.line",
            name=product_name(p, ctx.lang),
            quantity=q,
            subtotal=(Money(p.price_minor, p.currency) * q).format(ctx.lang),
        )
        for p, q in lines
    ]
    subtotal = total(lines, ctx.tenant.currency)
    body.append(ctx.t("cart.total", total=subtotal.format(ctx.lang)))
    body += await promo.summary_lines(ctx, lines, subtotal)
    body.append(_details(ctx))
    rows = [
        [Button(ctx.t("button.confirm_order"), data=ConfirmOrder().pack())],
        [
            Button(ctx.t("button.edit_cart"), data=ShowCart().pack()),
            Button(ctx.t("button.cancel"), data=CancelCheckout().pack()),
        ],
    ]
    return Reply([Message("\n".join(body), keyboard(*rows))])


def _details(ctx: FlowContext) -> str:
    where = ctx.t("checkout.pickup") if ctx.recall("delivery") == "pickup" else ctx.recall("address", "")
    return ctx.t(
        "checkout.details",
        name=ctx.recall("name", ""),
        phone=display(ctx.recall("phone", ""), ctx.tenant.region),
        where=where,
    )


async def confirm(ctx: FlowContext) -> tuple[Reply, Order | None]:
    """Turn the cart into an order. Prices are copied into the order, so later price changes do not touch it."""
    if ctx.conversation.step != "checkout.confirm":
        return Reply(notice=ctx.t("error.stale_button")), None
    lines = await cart_lines(ctx)
    if not lines:
        ctx.go("idle")
        return Reply([await show_cart(ctx)]), None
    short = [product_name(p, ctx.lang) for p, q in lines if p.stock is not None and p.stock < q]
    if short:
        return Reply([Message(ctx.t("checkout.out_of_stock", names=", ".join(short)))], refused=True), None
    code, off, refused = await promo.take_use(ctx, lines)
    if refused is not None:
        again = await summary(ctx)
        return Reply([Message(refused), *again.messages], refused=True), None
    subtotal = total(lines, ctx.tenant.currency).minor
    now = ctx.clock.now()
    order = Order(
        tenant_id=ctx.tenant.id,
        customer_id=ctx.customer.id,
        code=await _new_code(ctx),
        status=OrderStatus.AWAITING_PAYMENT.value,
        total_minor=subtotal - off,
        discount_minor=off,
        promo_code=code.code if code is not None else None,
        currency=ctx.tenant.currency,
        contact_name=ctx.recall("name"),
        contact_phone=ctx.recall("phone"),
        delivery_method=ctx.recall("delivery"),
        delivery_address=ctx.recall("address"),
        is_test=ctx.tenant.test_mode,
        created_at=now,
        updated_at=now,
    )
    order.items = [
        OrderItem(product_id=p.id, sku=p.sku, name=p.name, unit_price_minor=p.price_minor, quantity=q) for p, q in lines
    ]
    ctx.session.add(order)
    ctx.customer.name = order.contact_name
    ctx.customer.phone = order.contact_phone
    await CustomerRepository(ctx.session).clear_cart(ctx.customer.id)
    await ctx.session.flush()
    await cart_reminders.followed_by(ctx.session, ctx.tenant.id, ctx.customer.id, order.id, now)
    if code is not None:
        await promo.fix_on_order(ctx, order, code, off)
    ctx.go("idle")
    return Reply(), order


async def _new_code(ctx: FlowContext) -> str:
    orders = OrderRepository(ctx.session)
    while True:
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(6))
        if not await orders.code_taken(ctx.tenant.id, code):
            return code


async def on_input(ctx: FlowContext, inbound: Inbound) -> Reply | None:
    """Typed answers during checkout; None when the current step does not take this input."""
    step = ctx.conversation.step
    if inbound.kind is Kind.CONTACT and step == "checkout.phone" and inbound.contact_phone:
        return await take_phone(ctx, inbound.contact_phone)
    if inbound.kind is not Kind.TEXT:
        return None
    if step == "checkout.name":
        return await take_name(ctx, inbound.text)
    if step == "checkout.phone":
        return await take_phone(ctx, inbound.text)
    if step == "checkout.address":
        return await take_address(ctx, inbound.text)
    if step == "checkout.confirm" and await promo.takes_codes(ctx):  # a promo code, typed at the summary
        applied, words = await promo.give(ctx, inbound.text, await cart_lines(ctx))
        again = await summary(ctx)
        return Reply([Message(words), *again.messages], refused=not applied)
    return None
