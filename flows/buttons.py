"""The customer's button routes, and what an expired button shows: where things stand now.

Each kind in ``core.buttons`` is bound to its handler where the handler is declared (``flows.router``) with
``@CUSTOMER.on(Kind, expired=...)``; a provider's own, declared by its chat step, are bound by ``flows.payment``. A
button from before an upgrade changes nothing: it is answered with a short notice and the current shop, cart or
orders, never read as today's button.
"""

from __future__ import annotations

from core.callbacks import Expired, Routes
from core.messages import Message
from flows import cart, catalog, orders
from flows.context import FlowContext, Reply

CUSTOMER: Routes[FlowContext, Reply] = Routes("customer")


def expired(ctx: FlowContext, *now: Message) -> Reply:
    """``now``: the current state of what the button was about (none known: a short note). Nothing changes, not
    even the open question (``refused``)."""
    if not now:
        return Reply(notice=ctx.t("callbacks.expired_note"), refused=True)
    return Reply(list(now), notice=ctx.t("callbacks.expired"), refused=True)


async def shop_now(ctx: FlowContext, _: Expired) -> Reply:
    return expired(ctx, await catalog.show_categories(ctx))


async def cart_now(ctx: FlowContext, _: Expired) -> Reply:
    return expired(ctx, await cart.show_cart(ctx))


async def orders_now(ctx: FlowContext, _: Expired) -> Reply:
    return expired(ctx, await orders.show_orders(ctx))


def refuse(ctx: FlowContext) -> Reply:
    """Data that is no button of the customer's (unknown, malformed, or tampered with)."""
    return Reply(notice=ctx.t("error.stale_button"))
