"""``/reminders [DELAY|off]``: how long a cart stays untouched before its customer gets one reminder
(``core.cart_reminders``), the same setting as ``dukabot tenant edit --cart-reminder``; audited."""

from __future__ import annotations

from sqlalchemy import update

from admin import audit
from admin.shops.errors import ShopError
from admin.shops.tenant_edit import check_cart_reminder, shown_delay
from core.db.tables import Tenant
from core.messages import Message
from flows.context import FlowContext, Reply


async def command(ctx: FlowContext, args: str) -> Reply:
    if not args.strip():
        return Reply([Message(_state(ctx, ctx.tenant.cart_reminder_minutes))])
    try:
        minutes = check_cart_reminder(args)
    except ShopError:
        return Reply([Message(ctx.t("admin.reminders.usage"))], refused=True)
    before = ctx.tenant.cart_reminder_minutes
    if minutes != before:
        await ctx.session.execute(
            update(Tenant)
            .where(Tenant.id == ctx.tenant.id)
            .values(cart_reminder_minutes=minutes)
            .execution_options(synchronize_session=False)
        )
        audit.record(ctx, "cart_reminders.set", ctx.tenant.slug, before=before, after=minutes)
    return Reply([Message(_state(ctx, minutes))])


def _state(ctx: FlowContext, minutes: int) -> str:
    if minutes <= 0:
        return ctx.t("admin.reminders.off")
    return ctx.t("admin.reminders.on", delay=shown_delay(minutes))
