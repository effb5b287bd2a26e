"""``/admin``: the merchant's menu: the shop's mode at a glance (and, in a live shop, any provider that still takes
no real money: ``admin.testmode.warnings``), what needs attention (proofs to review, orders to ship, orders that need
review), and a button for everything else."""

from __future__ import annotations

from sqlalchemy import func, select

from admin import testmode
from admin.orders import STATUSES
from core.buttons import AdminMenu, OrderList, SalesReport
from core.db.tables import Order, Proof
from core.messages import Button, Message, keyboard
from flows.context import FlowContext
from payments import merchant_refunds
from payments.registry import ProviderRegistry
from payments.states import OrderStatus

# Sections of the menu opened by the "am" button.
MENU, PROOFS, TESTMODE, ADMINS, ALERTS, INVITE, REFUNDS = range(7)
SALES_PERIODS = ("today", "week", "month")


async def counts(ctx: FlowContext) -> tuple[int, int, int]:
    pending = await ctx.session.scalar(
        select(func.count()).select_from(Proof).where(Proof.tenant_id == ctx.tenant.id, Proof.status == "submitted")
    )
    by_status = dict(
        (
            await ctx.session.execute(
                select(Order.status, func.count())
                .where(Order.tenant_id == ctx.tenant.id, Order.status.in_([OrderStatus.PAID, OrderStatus.NEEDS_REVIEW]))
                .group_by(Order.status)
            )
        ).all()
    )
    return int(pending or 0), int(by_status.get(OrderStatus.PAID, 0)), int(by_status.get(OrderStatus.NEEDS_REVIEW, 0))


async def menu(ctx: FlowContext, registry: ProviderRegistry | None = None, *, edit: bool = False) -> Message:
    pending, to_ship, review = await counts(ctx)
    refunds = await merchant_refunds.count_open(ctx.session, ctx.tenant.id)
    body = ctx.t(
        "admin.menu.body",
        shop=ctx.tenant.name,
        mode="\n".join([testmode.mode_label(ctx), *await testmode.warnings(ctx, registry)]),
        pending=pending,
        to_ship=to_ship,
        review=review,
    )
    rows = [
        [Button(ctx.t("admin.menu.proofs", count=pending), data=AdminMenu(PROOFS).pack())],
        [
            Button(ctx.t("admin.menu.to_ship", count=to_ship), data=OrderList(STATUSES.index("paid"), 0).pack()),
            Button(ctx.t("admin.menu.review", count=review), data=OrderList(STATUSES.index("needs_review"), 0).pack()),
        ],
        [Button(ctx.t("refund.menu.to_send", count=refunds), data=AdminMenu(REFUNDS).pack())],
        [Button(ctx.t("admin.menu.orders"), data=OrderList(0, 0).pack())],
        [
            Button(ctx.t(f"admin.menu.sales_{period}"), data=SalesReport(index).pack())
            for index, period in enumerate(SALES_PERIODS)
        ],
        [Button(ctx.t("admin.menu.testmode", mode=testmode.mode_label(ctx)), data=AdminMenu(TESTMODE).pack())],
        [
            Button(ctx.t("admin.menu.admins"), data=AdminMenu(ADMINS).pack()),
            Button(ctx.t("admin.menu.invite"), data=AdminMenu(INVITE).pack()),
            Button(ctx.t("admin.menu.alerts"), data=AdminMenu(ALERTS).pack()),
        ],
    ]
    return Message(body, keyboard(*rows), edit=edit)
