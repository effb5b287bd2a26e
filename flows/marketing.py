"""The customer's say over marketing messages (broadcasts, cart reminders): ``/stop`` or the "🔕 Stop offers" button
under each broadcast stops them, ``/start`` or the "🔔 Get offers again" button starts them again. Receipts, replies
and order news are not marketing and never stop (``core.marketing``)."""

from __future__ import annotations

from core import marketing
from core.buttons import StartOffers, StopOffers, UsePromo
from core.callbacks import Expired
from core.db.tables import PromoCode
from core.messages import Button, Message, keyboard
from flows import promo
from flows.buttons import CUSTOMER, expired
from flows.context import FlowContext, Reply


async def stop(ctx: FlowContext) -> Reply:
    """No more marketing; what is still owed to the chat and not on its way is withdrawn in the same transaction."""
    now = ctx.clock.now()
    stopped = await marketing.stop(ctx.session, ctx.tenant.id, ctx.customer.id, now)
    await marketing.withdraw_owed(ctx.session, ctx.tenant.id, ctx.actor.chat_id, now)
    key = "marketing.stopped" if stopped else "marketing.already_stopped"
    again = Button(ctx.t("button.start_offers"), data=StartOffers().pack())
    return Reply([Message(ctx.t(key, shop=ctx.tenant.name), keyboard([again]))])


async def start_again(ctx: FlowContext) -> Message | None:
    """A plain /start from a customer who had stopped marketing: on again, and said so. None when it was on (the
    customer row read with the update says so: no statement for the /start of everyone else)."""
    if ctx.customer.marketing_stopped_at is None:
        return None
    if not await marketing.start(ctx.session, ctx.tenant.id, ctx.customer.id):
        return None
    return Message(ctx.t("marketing.started", shop=ctx.tenant.name))


async def _nothing_known(ctx: FlowContext, _: Expired) -> Reply:
    return expired(ctx)


@CUSTOMER.on(StopOffers, expired=_nothing_known)
async def _stop_pressed(ctx: FlowContext, _: StopOffers) -> Reply:
    return await stop(ctx)


@CUSTOMER.on(StartOffers, expired=_nothing_known)
async def _start_pressed(ctx: FlowContext, _: StartOffers) -> Reply:
    await marketing.start(ctx.session, ctx.tenant.id, ctx.customer.id)
    return Reply([Message(ctx.t("marketing.started", shop=ctx.tenant.name))])


@CUSTOMER.on(UsePromo, expired=_nothing_known)
async def _use_promo(ctx: FlowContext, button: UsePromo) -> Reply:
    """A broadcast's promo button: the code kept for checkout, or why not (as a ``/start promo_CODE`` link does)."""
    code = await ctx.session.get(PromoCode, button.promo_id)
    if code is None or code.tenant_id != ctx.tenant.id:
        return Reply(notice=ctx.t("error.stale_button"), refused=True)
    _, words = await promo.give(ctx, code.code, None)
    return Reply([Message(words)])
