"""The merchant's orders: ``/orders [STATUS]`` with paging, ``/order ID`` with its whole history
(``admin.order_card``), ``/ship ID [NOTE]`` (the customer is told), and cancelling an unpaid order. Every change is
audited and every message it causes goes through the outbox with its own dedupe key."""

from __future__ import annotations

from sqlalchemy import func, select

from admin import audit
from admin.order_card import card as card  # the chat's commands and buttons reach the card through here
from core import outbox, shoptime
from core.buttons import ConfirmCancelOrder, OrderList, ViewOrder
from core.db.repos.customers import CustomerRepository
from core.db.repos.orders import OrderRepository
from core.db.tables import Order
from core.messages import Button, Message, keyboard
from core.money import Money
from core.texts import has, text
from flows.context import FlowContext, Reply
from payments.states import ORDER_CAN_BE_CANCELLED, ORDER_CAN_BE_SHIPPED, OrderStatus

PAGE = 8
# Status filters by small number, for buttons (callback data carries integers only). 0 is "all".
STATUSES: tuple[str, ...] = ("all", *(status.value for status in OrderStatus))
MAX_NOTE = 300


def status_code(name: str) -> int | None:
    name = name.strip().lower()
    aliases = {"": "all", "unpaid": "awaiting_payment", "review": "needs_review", "to_ship": "paid"}
    name = aliases.get(name, name)
    return STATUSES.index(name) if name in STATUSES else None


async def list_orders(ctx: FlowContext, status: int, page: int, *, edit: bool = False) -> Message:
    name = STATUSES[status] if 0 <= status < len(STATUSES) else "all"
    query = select(Order).where(Order.tenant_id == ctx.tenant.id)
    if name != "all":
        query = query.where(Order.status == name)
    total = int(await ctx.session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    pages = max(1, -(-total // PAGE))
    page = min(max(page, 0), pages - 1)
    orders = list(await ctx.session.scalars(query.order_by(Order.id.desc()).offset(page * PAGE).limit(PAGE)))
    label = ctx.t("admin.orders.all") if name == "all" else ctx.t(f"order.status.{name}")
    if not orders:
        return Message(ctx.t("admin.orders.none", status=label), keyboard(_filters(ctx)), edit=edit)
    lines = [ctx.t("admin.orders.title", status=label, page=page + 1, pages=pages, total=total)]
    rows: list[list[Button]] = []
    for order in orders:
        lines.append(_line(ctx, order))
        rows.append(
            [
                Button(
                    f"{order.code} · {Money(order.total_minor, order.currency).format(ctx.lang)}",
                    data=ViewOrder(order.id).pack(),
                )
            ]
        )
    paging = []
    if page > 0:
        paging.append(Button(ctx.t("button.previous"), data=OrderList(status, page - 1).pack()))
    if page + 1 < pages:
        paging.append(Button(ctx.t("button.next"), data=OrderList(status, page + 1).pack()))
    return Message("\n".join(lines), keyboard(*rows, paging, _filters(ctx)), edit=edit)


def _filters(ctx: FlowContext) -> list[Button]:
    return [
        Button(ctx.t("admin.orders.filter_ship"), data=OrderList(STATUSES.index("paid"), 0).pack()),
        Button(ctx.t("admin.orders.filter_unpaid"), data=OrderList(STATUSES.index("awaiting_payment"), 0).pack()),
        Button(ctx.t("admin.orders.filter_all"), data=OrderList(0, 0).pack()),
    ]


def _line(ctx: FlowContext, order: Order) -> str:
    test = " " + ctx.t("admin.orders.test_mark") if order.is_test else ""
    return ctx.t(
        "admin.orders.line",
        code=order.code,
        status=ctx.t(f"order.status.{order.status}"),
        amount=Money(order.total_minor, order.currency).format(ctx.lang),
        name=order.contact_name,
        date=shoptime.when(order.created_at, ctx.tenant, ctx.lang),
        test=test,
    )


async def find(ctx: FlowContext, ident: str) -> Order | None:
    ident = ident.strip().lstrip("#")
    if not ident or len(ident) > 12:
        return None
    return await OrderRepository(ctx.session).by_code(ctx.tenant.id, ident)


async def ship(ctx: FlowContext, order: Order | None, note: str, ident: str = "?") -> Reply:
    if order is None:
        return Reply([Message(ctx.t("admin.no_such_order", code=ident[:20] or "?"))], refused=True)
    note = " ".join(note.split())[:MAX_NOTE]
    now = ctx.clock.now()
    moved = await OrderRepository(ctx.session).move(
        ctx.tenant.id, order.id, ORDER_CAN_BE_SHIPPED, OrderStatus.SHIPPED, now
    )
    if not moved:
        await ctx.session.refresh(order)  # the status that stopped it, which may have changed since it was read
        return Reply([Message(_not_shippable(ctx, order))], refused=True)
    order.shipped_at = now
    order.tracking_note = note or None
    audit.record(ctx, "order.shipped", order.code, note=note or None)
    customer = await CustomerRepository(ctx.session).by_id(ctx.tenant.id, order.customer_id)
    if customer is not None:
        told = text("order.shipped_notice", customer.language, code=order.code)
        if note:
            told += "\n" + text("order.shipped_note", customer.language, note=note)
        await outbox.enqueue(
            ctx.session,
            tenant_id=ctx.tenant.id,
            chat_id=customer.chat_id,
            dedupe_key=f"order:{order.id}:shipped",
            message=Message(told, language=customer.language),
            now=now,
        )
    return Reply([Message(ctx.t("admin.ship.done", code=order.code))], notice=ctx.t("admin.ship.done", code=order.code))


def _not_shippable(ctx: FlowContext, order: Order) -> str:
    """Why this order cannot be shipped, and what to do instead, in the words of its status."""
    if order.status == OrderStatus.SHIPPED and order.shipped_at is not None:
        return ctx.t("orders.ship.already", code=order.code, at=shoptime.when(order.shipped_at, ctx.tenant, ctx.lang))
    key = f"orders.ship.refused.{order.status}"
    status = ctx.t(f"order.status.{order.status}")
    return ctx.t(key if has(key) else "admin.ship.not_shippable", code=order.code, status=status)


def ask_cancel(ctx: FlowContext, order: Order | None) -> Reply:
    if order is None:
        return Reply(notice=ctx.t("error.stale_button"))
    if order.status not in ORDER_CAN_BE_CANCELLED:
        return Reply([Message(ctx.t("admin.cancel.not_cancellable", code=order.code))], refused=True)
    return Reply(
        [
            Message(
                ctx.t("admin.cancel.confirm", code=order.code),
                keyboard(
                    [Button(ctx.t("admin.button.confirm_cancel"), data=ConfirmCancelOrder(order.id).pack())],
                    [Button(ctx.t("admin.button.keep_order"), data=ViewOrder(order.id).pack())],
                ),
            )
        ]
    )


async def cancel(ctx: FlowContext, order: Order | None) -> Reply:
    if order is None:
        return Reply(notice=ctx.t("error.stale_button"))
    now = ctx.clock.now()
    moved = await OrderRepository(ctx.session).move(
        ctx.tenant.id, order.id, ORDER_CAN_BE_CANCELLED, OrderStatus.CANCELLED, now
    )
    if not moved:
        return Reply([Message(ctx.t("admin.cancel.not_cancellable", code=order.code))], refused=True)
    audit.record(ctx, "order.cancelled", order.code)
    customer = await CustomerRepository(ctx.session).by_id(ctx.tenant.id, order.customer_id)
    if customer is not None:
        await outbox.enqueue(
            ctx.session,
            tenant_id=ctx.tenant.id,
            chat_id=customer.chat_id,
            dedupe_key=f"order:{order.id}:cancelled",
            message=Message(
                text("order.cancelled_by_shop", customer.language, code=order.code), language=customer.language
            ),
            now=now,
        )
    return Reply([Message(ctx.t("admin.cancel.done", code=order.code))])
