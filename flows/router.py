"""The customer's conversation: one inbound event in, a reply out, state kept in the database.

Commands work from any step (``/cancel`` leaves any step). Buttons carry their own intent and are checked again
against the tenant's data. Typed text and uploads are read according to the step the conversation is in; text may
also press a button of the question last asked (``flows.choices``), and input nothing takes asks that question again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core.buttons import (
    AddToCart,
    AskLanguage,
    AskQuantity,
    CancelCheckout,
    CancelOrder,
    Category,
    Checkout,
    ChooseMethod,
    ConfirmOrder,
    Delivery,
    MyOrders,
    OneLess,
    OneMore,
    PayWith,
    ProofAgain,
    RemoveLine,
    Shop,
    ShowCart,
    ShowProduct,
    TalkToShop,
    UseName,
    UsePhone,
)
from core.catalog_cache import CatalogCache
from core.clock import Clock
from core.db.repos.conversations import ConversationRead, ConversationRepository, ReturningChat, as_read
from core.db.repos.customers import CustomerRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from core.messages import Button, Message, keyboard

# reorder and marketing are imported for their button routes (@CUSTOMER.on), which they add when imported
from flows import (  # noqa: F401
    cart,
    catalog,
    checkout,
    choices,
    language,
    marketing,
    orders,
    payment,
    promo,
    reorder,
    search,
    talk,
)
from flows.buttons import CUSTOMER, cart_now, orders_now, refuse, shop_now
from flows.context import FlowContext, Reply
from flows.inbound import Actor, Inbound, Kind


async def open_context(
    session: AsyncSession,
    tenant: Tenant,
    actor: Actor,
    clock: Clock,
    methods: frozenset[str] = frozenset({"manual"}),
    catalog: CatalogCache | None = None,
) -> FlowContext:
    customers = CustomerRepository(session)
    now = clock.now()
    customer = await customers.get_or_create(tenant.id, actor.tg_user_id, actor.chat_id, actor.display_name, now)
    conversation = await customers.conversation(tenant.id, actor.chat_id, now)
    ctx = FlowContext(session, tenant, actor, customer, conversation, clock, methods, catalog)
    ctx.settle_language()
    return ctx


@dataclass(frozen=True, slots=True)
class Step:
    """An update's step: its context, whose conversation is a copy the session does not track, and that copy as
    read. :meth:`save` writes the conversation (core.db.repos.conversations): call it once the step is done, before
    the commit."""

    ctx: FlowContext
    read: ConversationRead

    async def save(self) -> bool:
        return await ConversationRepository(self.ctx.session).save(self.ctx.conversation, self.read)


async def open_step(
    session: AsyncSession,
    tenant_id: int,
    actor: Actor,
    clock: Clock,
    methods: frozenset[str] = frozenset({"manual"}),
    catalog: CatalogCache | None = None,
) -> Step | None:
    """:func:`open_context` for an update of the tenant's, in as few statements as it takes; None when there is no
    such tenant. A person who wrote from this chat before (nearly every update) is loaded with the tenant and locked
    in one statement; a first contact makes what is missing."""
    found = await ConversationRepository(session).returning_chat(
        tenant_id, actor.tg_user_id, actor.chat_id, clock.now()
    )
    return await step_from(session, tenant_id, actor, clock, found, methods, catalog)


async def step_from(
    session: AsyncSession,
    tenant_id: int,
    actor: Actor,
    clock: Clock,
    found: ReturningChat | None,
    methods: frozenset[str] = frozenset({"manual"}),
    catalog: CatalogCache | None = None,
) -> Step | None:
    """:func:`open_step` from what the caller read already (``ConversationRepository.record_and_read``)."""
    chats = ConversationRepository(session)
    now = clock.now()
    if found is None:
        tenant = await TenantRepository(session).by_id(tenant_id)
        if tenant is None:
            return None
        customer, conversation = None, None
    else:
        tenant, customer, conversation = found
    if customer is None:
        customer = await chats.customer(tenant.id, actor.tg_user_id, actor.chat_id, actor.display_name, now)
    elif customer.chat_id != actor.chat_id:  # they write from another chat now (as the first-contact upsert does)
        customer.chat_id = actor.chat_id
    if customer.unreachable_at is not None:  # they wrote: their chat takes messages again (core.marketing)
        customer.unreachable_at = None  # flushed with the step's writes: no statement for everyone else
    if conversation is None:
        conversation = await chats.open(tenant.id, actor.chat_id, now)
    ctx = FlowContext(session, tenant, actor, customer, conversation, clock, methods, catalog)
    ctx.settle_language()
    return Step(ctx, as_read(conversation))


async def handle(ctx: FlowContext, inbound: Inbound) -> Reply:
    if (talked := await talk.relay(ctx, inbound)) is not None:  # talking to the shop's people: the bot is quiet
        return talked
    question = choices.asked(ctx) if inbound.kind is not Kind.BUTTON else None
    # A button's own words (its label, its number, yes or no) press it even where the step also takes free text:
    # "1", or the suggested name itself, at "What name...?" mean the button.
    chosen = _typed_choice(ctx, question, inbound, loose=False)
    reply = None if chosen else await _route(ctx, inbound)
    if reply is None and chosen is None:  # no step took the words: part of a label will do ("pickup please")
        chosen = _typed_choice(ctx, question, inbound, loose=True)
    if reply is None and chosen is None:  # words in the shop that nothing took: a search (flows.search)
        reply = await search.typed(ctx, inbound)
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
    if inbound.kind is Kind.INVOICE:
        return await payment.on_invoice(ctx, inbound)
    for step_input in (checkout.on_input, payment.on_input, _quantity_input):
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
    return await CUSTOMER.dispatch(ctx, data, refuse)


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
            Button(ctx.t("button.shop"), data=Shop().pack()),
            Button(ctx.t("button.cart"), data=ShowCart().pack()),
        ],
        [Button(ctx.t("button.talk_to_shop"), data=TalkToShop().pack())],
        [
            Button(ctx.t("button.my_orders"), data=MyOrders().pack()),
            Button(ctx.t("button.language"), data=AskLanguage().pack()),
        ],
    ]
    return Message(f"{lead}\n\n{body}" if lead else body, keyboard(*rows))


async def _command(ctx: FlowContext, command: str, args: str) -> Reply:
    if command == "start":
        ctx.go("idle")
        greeting = ctx.t("start.greeting", shop=ctx.tenant.name, name=ctx.actor.display_name)
        if ctx.tenant.test_mode:
            greeting = ctx.t("testmode.banner") + "\n" + greeting
        linked = await promo.from_link(ctx, args)  # /start promo_CODE: a broadcast's button
        # A plain /start after /stop: marketing messages again (a link's /start is not the customer asking for them)
        restarted = None if args.strip() else await marketing.start_again(ctx)
        said = [m for m in (linked, restarted) if m is not None]
        shared = await catalog.from_link(ctx, args)  # /start p_<id>: a product shared from inline mode
        opened = shared if shared is not None else [await catalog.show_categories(ctx)]
        return Reply([Message(greeting), *said, *opened])
    if command == "stop":
        return await marketing.stop(ctx)
    if command == "shop":
        return Reply([await catalog.show_categories(ctx)])
    if command == "cart":
        return Reply([await cart.show_cart(ctx)])
    if command == "orders":
        return Reply([await orders.show_orders(ctx)])
    if command == "help":
        return Reply([await _help_for(ctx)])
    if command == "language":
        return language.command(ctx, args)
    if command == "cancel":
        was_busy = ctx.conversation.step != "idle"
        ctx.go("idle")
        return Reply([_help(ctx, ctx.t("cancel.done" if was_busy else "cancel.nothing"))])
    return Reply([await _help_for(ctx, ctx.t("error.unknown_command", command=command[:32]))], refused=True)


async def _message(message: Message | None, ctx: FlowContext) -> Reply:
    return Reply([message]) if message else Reply(notice=ctx.t("error.stale_button"))


# The customer's buttons, each bound to its kind (each provider's own are bound by flows.payment).


@CUSTOMER.on(Shop, expired=shop_now)
async def _shop(ctx: FlowContext, _: Shop) -> Reply:
    return Reply([await catalog.show_categories(ctx, edit=True)])


@CUSTOMER.on(Category, expired=shop_now)
async def _category(ctx: FlowContext, button: Category) -> Reply:
    return await _message(await catalog.show_category(ctx, button.index, button.page), ctx)


@CUSTOMER.on(ShowProduct, expired=shop_now)
async def _product(ctx: FlowContext, button: ShowProduct) -> Reply:
    return await _message(await catalog.show_product(ctx, button.product_id), ctx)


@CUSTOMER.on(AddToCart, expired=cart_now)
async def _add(ctx: FlowContext, button: AddToCart) -> Reply:
    return await cart.change_quantity(ctx, button.product_id, +1)


@CUSTOMER.on(OneMore, expired=cart_now)
async def _increase(ctx: FlowContext, button: OneMore) -> Reply:
    return await cart.change_quantity(ctx, button.product_id, +1)


@CUSTOMER.on(OneLess, expired=cart_now)
async def _decrease(ctx: FlowContext, button: OneLess) -> Reply:
    return await cart.change_quantity(ctx, button.product_id, -1)


@CUSTOMER.on(RemoveLine, expired=cart_now)
async def _remove(ctx: FlowContext, button: RemoveLine) -> Reply:
    return await cart.change_quantity(ctx, button.product_id, None, absolute=0)


@CUSTOMER.on(AskQuantity, expired=cart_now)
async def _ask_quantity(ctx: FlowContext, button: AskQuantity) -> Reply:
    return await cart.ask_quantity(ctx, button.product_id)


@CUSTOMER.on(ShowCart, expired=cart_now)
async def _cart(ctx: FlowContext, _: ShowCart) -> Reply:
    return Reply([await cart.show_cart(ctx, edit=True)])


@CUSTOMER.on(Checkout, expired=cart_now)
async def _checkout(ctx: FlowContext, _: Checkout) -> Reply:
    return await checkout.start(ctx)


@CUSTOMER.on(UseName, expired=cart_now)
async def _use_name(ctx: FlowContext, _: UseName) -> Reply:
    if ctx.conversation.step != "checkout.name":
        return Reply(notice=ctx.t("error.stale_button"))
    return await checkout.take_name(ctx, ctx.customer.name or ctx.actor.display_name)


@CUSTOMER.on(UsePhone, expired=cart_now)
async def _use_phone(ctx: FlowContext, _: UsePhone) -> Reply:
    if ctx.conversation.step != "checkout.phone" or not ctx.customer.phone:
        return Reply(notice=ctx.t("error.stale_button"))
    return await checkout.take_phone(ctx, ctx.customer.phone)


@CUSTOMER.on(Delivery, expired=cart_now)
async def _delivery(ctx: FlowContext, button: Delivery) -> Reply:
    return await checkout.take_delivery(ctx, button.deliver)


@CUSTOMER.on(ConfirmOrder, expired=cart_now)
async def _confirm(ctx: FlowContext, _: ConfirmOrder) -> Reply:
    reply, order = await checkout.confirm(ctx)
    if order is None:
        return reply
    return Reply([await payment.offer_methods(ctx, order)])


@CUSTOMER.on(CancelCheckout, expired=cart_now)
async def _cancel(ctx: FlowContext, _: CancelCheckout) -> Reply:
    return await _command(ctx, "cancel", "")


@CUSTOMER.on(PayWith, expired=orders_now)
async def _pay_method(ctx: FlowContext, button: PayWith) -> Reply:
    return await payment.choose(ctx, button.order_id, button.method)


@CUSTOMER.on(ChooseMethod, expired=orders_now)
async def _retry(ctx: FlowContext, button: ChooseMethod) -> Reply:
    return await payment.retry(ctx, button.order_id)


@CUSTOMER.on(ProofAgain, expired=orders_now)
async def _proof_again(ctx: FlowContext, button: ProofAgain) -> Reply:
    return await payment.upload_again(ctx, button.payment_id)


@CUSTOMER.on(CancelOrder, expired=orders_now)
async def _cancel_order(ctx: FlowContext, button: CancelOrder) -> Reply:
    return await orders.cancel_order(ctx, button.order_id)


@CUSTOMER.on(MyOrders, expired=orders_now)
async def _orders(ctx: FlowContext, _: MyOrders) -> Reply:
    return Reply([await orders.show_orders(ctx)])
