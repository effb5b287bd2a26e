"""“Order again”: a past order's lines back in the cart, at today's prices and within today's stock, and every
difference said (a product gone, less of it in stock, a new price), never silently.

A line already in the cart keeps the larger of its quantity and the order's, so pressing the button twice does not
double the cart. A product deleted since the order is found again by its sku (a catalog re-imported under new ids)."""

from __future__ import annotations

from sqlalchemy import select

from core import cart_reminders
from core.buttons import OrderAgain
from core.db.repos.catalog import CatalogRepository
from core.db.repos.customers import CustomerRepository
from core.db.repos.orders import OrderRepository
from core.db.tables import OrderItem, Product
from core.messages import Message
from core.money import Money
from core.product_text import product_name
from flows import cart, orders
from flows.buttons import CUSTOMER, orders_now
from flows.context import FlowContext, Reply


async def order_again(ctx: FlowContext, order_id: int) -> Reply:
    order = await OrderRepository(ctx.session).by_id(ctx.tenant.id, order_id)
    if order is None or order.customer_id != ctx.customer.id or not orders.can_reorder(order):
        return Reply(notice=ctx.t("error.stale_button"), refused=True)
    items = list(
        await ctx.session.scalars(select(OrderItem).where(OrderItem.order_id == order.id).order_by(OrderItem.id))
    )
    catalog = CatalogRepository(ctx.session)
    customers = CustomerRepository(ctx.session)
    by_id = await catalog.by_ids(ctx.tenant.id, [i.product_id for i in items if i.product_id is not None])
    changes: list[str] = []
    added = 0
    for item in items:
        product = by_id.get(item.product_id) if item.product_id is not None else None
        if product is None:
            product = await catalog.by_sku(ctx.tenant.id, item.sku)
        if product is None or not product.active or product.currency != ctx.tenant.currency:
            # A product deleted since: the order's own copy of its name (in the shop's default language).
            changes.append(
                ctx.t("reorder.gone", name=item.name if product is None else product_name(product, ctx.lang))
            )
            continue
        name = product_name(product, ctx.lang)
        limit = _limit(product)
        if limit == 0:
            changes.append(ctx.t("reorder.sold_out", name=name))
            continue
        current = await customers.cart_quantity(ctx.customer.id, product.id)
        wanted = max(current, item.quantity)
        if wanted > limit:
            changes.append(ctx.t("reorder.less", name=name, wanted=item.quantity, count=limit))
            wanted = limit
        if product.price_minor != item.unit_price_minor:
            was, now = Money(item.unit_price_minor, order.currency), Money(product.price_minor, product.currency)
            changes.append(ctx.t("reorder.price", name=name, was=was.format(ctx.lang), now=now.format(ctx.lang)))
        at = ctx.clock.now()
        remind_at = cart_reminders.due(ctx.tenant, at)
        await customers.set_cart_quantity(
            ctx.tenant.id, ctx.customer.id, product.id, wanted, now=at, remind_at=remind_at
        )
        added += 1
    await ctx.session.flush()
    if not added:
        lead = ctx.t("reorder.nothing", code=order.code)
        return Reply([Message("\n".join([lead, *changes]))])
    lead = ctx.t("reorder.done" if not changes else "reorder.changed", code=order.code)
    return Reply([Message("\n".join([lead, *changes])), await cart.show_cart(ctx)])


@CUSTOMER.on(OrderAgain, expired=orders_now)
async def _order_again(ctx: FlowContext, pressed: OrderAgain) -> Reply:
    return await order_again(ctx, pressed.order_id)


def _limit(product: Product) -> int:
    """As much of ``product`` as one cart line may hold today (the cart's own bound)."""
    return cart.MAX_QUANTITY if product.stock is None else max(0, min(cart.MAX_QUANTITY, product.stock))
