"""The customer's own orders and their states; cancelling an unpaid order."""

from __future__ import annotations

from core import shoptime
from core.buttons import ChooseMethod, OrderAgain, Shop
from core.db.repos.orders import OrderRepository
from core.db.tables import Order
from core.messages import Button, Message, keyboard
from core.money import Money
from flows.context import FlowContext, Reply
from payments.states import ORDER_CAN_BE_CANCELLED, OrderStatus

SHOWN_REORDERS = 5  # of the /orders list, the most recent orders done with get an "Order again" button


async def show_orders(ctx: FlowContext) -> Message:
    orders = await OrderRepository(ctx.session).for_customer(ctx.tenant.id, ctx.customer.id)
    if not orders:
        return Message(ctx.t("orders.none"), keyboard([Button(ctx.t("button.shop"), data=Shop().pack())]))
    lines = [ctx.t("orders.title")]
    rows = []
    for order in orders:
        amount = Money(order.total_minor, order.currency).format(ctx.lang)
        status = ctx.t(f"order.status.{order.status}")
        placed = shoptime.when(order.created_at, ctx.tenant, ctx.lang)
        lines.append(ctx.t("orders.line", code=order.code, amount=amount, status=status, date=placed))
        if order.status == OrderStatus.AWAITING_PAYMENT:
            rows.append([Button(ctx.t("button.pay_order", code=order.code), data=ChooseMethod(order.id).pack())])
    again = [o for o in orders if can_reorder(o)][:SHOWN_REORDERS]
    rows.extend([Button(ctx.t("button.order_again", code=o.code), data=OrderAgain(o.id).pack())] for o in again)
    return Message("\n".join(lines), keyboard(*rows))


def can_reorder(order: Order) -> bool:
    """An order done with can be ordered again (flows.reorder); one awaiting its payment is paid, not repeated."""
    return order.status != OrderStatus.AWAITING_PAYMENT


async def cancel_order(ctx: FlowContext, order_id: int) -> Reply:
    orders = OrderRepository(ctx.session)
    order = await orders.by_id(ctx.tenant.id, order_id)
    if order is None or order.customer_id != ctx.customer.id:
        return Reply([Message(ctx.t("error.stale_button"))])
    if not await orders.move(ctx.tenant.id, order.id, ORDER_CAN_BE_CANCELLED, OrderStatus.CANCELLED, ctx.clock.now()):
        return Reply(
            [Message(ctx.t("order.not_cancellable", code=order.code, status=ctx.t(f"order.status.{order.status}")))]
        )
    ctx.go("idle")
    return Reply([Message(ctx.t("order.cancelled", code=order.code))])
