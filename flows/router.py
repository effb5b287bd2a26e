"""The customer's conversation: one inbound event in, a reply out, state kept in the database.

Commands work from any step (``/cancel`` leaves any step). Buttons carry their own intent and are checked again
against the tenant's data. Typed text and uploads are read according to the step the conversation is in; text may
also press a button of the question last asked (``flows.choices``), and input nothing takes asks that question again.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from core.callbacks import Action, action, parse
from core.clock import Clock
from core.db.repos.customers import CustomerRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from core.messages import Button, Message, keyboard
from flows import cart, catalog, checkout, choices, mpesa, orders, payment, paystack
from flows.context import FlowContext, Handler, Reply
from flows.inbound import Actor, Inbound, Kind


async def open_context(
    session: AsyncSession, tenant: Tenant, actor: Actor, clock: Clock, methods: frozenset[str] = frozenset({"manual"})
) -> FlowContext:
    customers = CustomerRepository(session)
    now = clock.now()
    customer = await customers.get_or_create(tenant.id, actor.tg_user_id, actor.chat_id, actor.display_name, now)
    conversation = await customers.conversation(tenant.id, actor.chat_id, now)
    return FlowContext(session, tenant, actor, customer, conversation, clock, methods)


async def handle(ctx: FlowContext, inbound: Inbound) -> Reply:
    question = choices.asked(ctx) if inbound.kind is not Kind.BUTTON else None
    # A button's own words (its label, its number, yes or no) press it even where the step also takes free text:
    # "1", or the suggested name itself, at "What name...?" mean the button.
    chosen = _typed_choice(ctx, question, inbound, loose=False)
    reply = None if chosen else await _route(ctx, inbound)
    if reply is None and chosen is None:  # no step took the words: part of a label will do ("pickup please")
        chosen = _typed_choice(ctx, question, inbound, loose=True)
    if chosen is not None:
        reply = await _press(ctx, chosen)
    if reply is None:
        reply = await _not_taken(ctx, inbound, question)
    choices.remember(ctx, reply)
    return choices.as_typed(reply) if chosen else reply


def _typed_choice(ctx: FlowContext, question: Message | None, inbound: Inbound, *, loose: bool) -> str | None:
    if question is None or inbound.kind is not Kind.TEXT:
        return None
    return choices.choose(question, inbound.text, ctx.lang, loose=loose)


async def _route(ctx: FlowContext, inbound: Inbound) -> Reply | None:
    """Commands, buttons, and what the current step takes; None when nothing took the input."""
    if inbound.kind is Kind.COMMAND:
        return await _command(ctx, inbound.command or "", inbound.text)
    if inbound.kind is Kind.BUTTON:
        return await _press(ctx, inbound.data)
    for step_input in (checkout.on_input, payment.on_input, mpesa.on_input, paystack.on_input, _quantity_input):
        reply = await step_input(ctx, inbound)
        if reply is not None:
            return reply
    return None


async def _not_taken(ctx: FlowContext, inbound: Inbound, question: Message | None) -> Reply:
    """Input nothing took: the open question again with its buttons, or the help. Nothing changes."""
    asks_again = question is not None and choices.repeats(question)
    if asks_again and ctx.conversation.step == "idle" and await _is_admin(ctx):
        asks_again = False  # an admin typing at the shop's menus more likely meant a command: the merchant help
    if inbound.kind is Kind.OTHER or inbound.kind is Kind.UPLOAD:
        lead = ctx.t("error.unexpected_media")
        message = choices.again(ctx, question, lead) if question and asks_again else Message(lead)
        return Reply([message], refused=True)
    if question is not None and asks_again:
        return Reply([choices.again(ctx, question)], refused=True)
    return Reply([await _help_for(ctx, ctx.t("error.not_understood"))], refused=True)


async def _quantity_input(ctx: FlowContext, inbound: Inbound) -> Reply | None:
    if ctx.conversation.step == "cart.quantity" and inbound.kind is Kind.TEXT:
        return await cart.typed_quantity(ctx, inbound.text)
    return None


async def _press(ctx: FlowContext, data: str | None) -> Reply:
    parsed = parse(data)
    handler = _BUTTONS.get(parsed.verb) if parsed else None
    if parsed is None or handler is None:
        return Reply(notice=ctx.t("error.stale_button"))
    return await handler(ctx, parsed)


async def _help_for(ctx: FlowContext, lead: str | None = None) -> Message:
    """The help for whoever asks: an admin of the shop reads the merchant's commands first (they shop here too)."""
    if not await _is_admin(ctx):
        return _help(ctx, lead)
    return _help(ctx, "\n\n".join(part for part in (lead, ctx.t("admin.help")) if part))


async def _is_admin(ctx: FlowContext) -> bool:
    return await TenantRepository(ctx.session).is_admin(ctx.tenant.id, ctx.actor.tg_user_id)


def _help(ctx: FlowContext, lead: str | None = None) -> Message:
    body = ctx.t("help.customer", shop=ctx.tenant.name)
    rows = [
        [
            Button(ctx.t("button.shop"), data=action("shop")),
            Button(ctx.t("button.cart"), data=action("cart")),
        ],
        [Button(ctx.t("button.my_orders"), data=action("orders"))],
    ]
    return Message(f"{lead}\n\n{body}" if lead else body, keyboard(*rows))


async def _command(ctx: FlowContext, command: str, args: str) -> Reply:
    if command == "start":
        ctx.go("idle")
        greeting = ctx.t("start.greeting", shop=ctx.tenant.name, name=ctx.actor.display_name)
        if ctx.tenant.test_mode:
            greeting = ctx.t("testmode.banner") + "\n" + greeting
        return Reply([Message(greeting), await catalog.show_categories(ctx)])
    if command == "shop":
        return Reply([await catalog.show_categories(ctx)])
    if command == "cart":
        return Reply([await cart.show_cart(ctx)])
    if command == "orders":
        return Reply([await orders.show_orders(ctx)])
    if command == "help":
        return Reply([await _help_for(ctx)])
    if command == "cancel":
        was_busy = ctx.conversation.step != "idle"
        ctx.go("idle")
        return Reply([_help(ctx, ctx.t("cancel.done" if was_busy else "cancel.nothing"))])
    return Reply([await _help_for(ctx, ctx.t("error.unknown_command", command=command[:32]))], refused=True)


def _needs(count: int) -> Callable[[Handler], Handler]:
    """Buttons with the wrong number of arguments were not made by us: refuse them before any handler runs."""

    def wrap(handler: Handler) -> Handler:
        async def checked(ctx: FlowContext, parsed: Action) -> Reply:
            if len(parsed.args) != count or any(arg < 0 for arg in parsed.args):
                return Reply(notice=ctx.t("error.stale_button"))
            return await handler(ctx, parsed)

        return checked

    return wrap


async def _message(message: Message | None, ctx: FlowContext) -> Reply:
    return Reply([message]) if message else Reply(notice=ctx.t("error.stale_button"))


@_needs(0)
async def _shop(ctx: FlowContext, _: Action) -> Reply:
    return Reply([await catalog.show_categories(ctx, edit=True)])


@_needs(2)
async def _category(ctx: FlowContext, a: Action) -> Reply:
    return await _message(await catalog.show_category(ctx, a.args[0], a.args[1]), ctx)


@_needs(1)
async def _product(ctx: FlowContext, a: Action) -> Reply:
    return await _message(await catalog.show_product(ctx, a.args[0]), ctx)


@_needs(1)
async def _add(ctx: FlowContext, a: Action) -> Reply:
    return await cart.change_quantity(ctx, a.args[0], +1)


@_needs(1)
async def _increase(ctx: FlowContext, a: Action) -> Reply:
    return await cart.change_quantity(ctx, a.args[0], +1)


@_needs(1)
async def _decrease(ctx: FlowContext, a: Action) -> Reply:
    return await cart.change_quantity(ctx, a.args[0], -1)


@_needs(1)
async def _remove(ctx: FlowContext, a: Action) -> Reply:
    return await cart.change_quantity(ctx, a.args[0], None, absolute=0)


@_needs(1)
async def _ask_quantity(ctx: FlowContext, a: Action) -> Reply:
    return await cart.ask_quantity(ctx, a.args[0])


@_needs(0)
async def _cart(ctx: FlowContext, _: Action) -> Reply:
    return Reply([await cart.show_cart(ctx, edit=True)])


@_needs(0)
async def _checkout(ctx: FlowContext, _: Action) -> Reply:
    return await checkout.start(ctx)


@_needs(0)
async def _use_name(ctx: FlowContext, _: Action) -> Reply:
    if ctx.conversation.step != "checkout.name":
        return Reply(notice=ctx.t("error.stale_button"))
    return await checkout.take_name(ctx, ctx.customer.name or ctx.actor.display_name)


@_needs(0)
async def _use_phone(ctx: FlowContext, _: Action) -> Reply:
    if ctx.conversation.step != "checkout.phone" or not ctx.customer.phone:
        return Reply(notice=ctx.t("error.stale_button"))
    return await checkout.take_phone(ctx, ctx.customer.phone)


@_needs(1)
async def _delivery(ctx: FlowContext, a: Action) -> Reply:
    if a.args[0] not in (0, 1):
        return Reply(notice=ctx.t("error.stale_button"))
    return await checkout.take_delivery(ctx, bool(a.args[0]))


@_needs(0)
async def _confirm(ctx: FlowContext, _: Action) -> Reply:
    reply, order = await checkout.confirm(ctx)
    if order is None:
        return reply
    return Reply([await payment.offer_methods(ctx, order)])


@_needs(0)
async def _cancel(ctx: FlowContext, _: Action) -> Reply:
    return await _command(ctx, "cancel", "")


@_needs(2)
async def _pay_method(ctx: FlowContext, a: Action) -> Reply:
    return await payment.choose(ctx, a.args[0], a.args[1])


@_needs(1)
async def _retry(ctx: FlowContext, a: Action) -> Reply:
    return await payment.retry(ctx, a.args[0])


@_needs(1)
async def _proof_again(ctx: FlowContext, a: Action) -> Reply:
    return await payment.upload_again(ctx, a.args[0])


@_needs(1)
async def _cancel_order(ctx: FlowContext, a: Action) -> Reply:
    return await orders.cancel_order(ctx, a.args[0])


@_needs(0)
async def _orders(ctx: FlowContext, _: Action) -> Reply:
    return Reply([await orders.show_orders(ctx)])


_BUTTONS: dict[str, Handler] = {
    "shop": _shop,
    "cat": _category,
    "prod": _product,
    "add": _add,
    "inc": _increase,
    "dec": _decrease,
    "rm": _remove,
    "qty": _ask_quantity,
    "cart": _cart,
    "checkout": _checkout,
    "usename": _use_name,
    "usephone": _use_phone,
    "deliv": _delivery,
    "confirm": _confirm,
    "cancel": _cancel,
    "pm": _pay_method,
    "retry": _retry,
    "proof": _proof_again,
    "cxl": _cancel_order,
    "orders": _orders,
}
# Each online method's own buttons (M-Pesa: confirm the phone, try again, Paybill, status).
for _method_buttons in (mpesa.BUTTONS, paystack.BUTTONS):
    _BUTTONS.update({verb: h for verb, h in _method_buttons.items() if verb not in _BUTTONS})
