"""The merchant's commands in the chat. The bot layer routes here only after checking that the sender is one of
this tenant's admins; everything below is scoped to that tenant, and every change is audited.

Two inputs come here before that check: ``/join CODE`` (someone invited becomes an admin: :func:`open_input`), and
``/orders`` which is the shop's orders for an admin and the customer's own orders for everyone else."""

from __future__ import annotations

from dataclasses import dataclass

from admin import (
    alerts,
    broadcasts,
    cart_reminders,
    copies,
    exports,
    invites,
    menu,
    orders,
    promos,
    proofs,
    receipts,
    refund_tasks,
    refunds,
    review,
    sales,
    talk,
    testmode,
)
from core.buttons import (
    AcceptPayment,
    AdminLanguage,
    AdminMenu,
    ApproveProof,
    AskCancelOrder,
    BroadcastAction,
    CancelRefund,
    ConfirmCancelOrder,
    ConfirmRefund,
    OrderList,
    PromoAction,
    RefundSent,
    RejectProof,
    SalesReport,
    SetTestMode,
    ShipOrder,
    TalkEnd,
    TalkReply,
    ViewOrder,
)
from core.callbacks import Expired, Routes
from core.db.repos.customers import CustomerRepository
from core.db.repos.orders import OrderRepository, PaymentRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Customer, Order
from core.messages import Message
from core.texts import LANGUAGES
from flows import language
from flows.buttons import expired, refuse
from flows.context import FlowContext, Reply
from flows.inbound import Inbound, Kind
from payments import notices
from payments.chat import merchant_command
from payments.manual.signals import signals
from payments.registry import ProviderRegistry

ADMIN_COMMANDS = frozenset(
    {
        "admin",
        "pending",
        "approve",
        "reject",
        "order",
        "ship",
        "refund",
        "accept",
        "testmode",
        "sales",
        "invite",
        "admins",
        "removeadmin",
        "alerts",
        "receipt",
        "export",
        "adminlanguage",
        "promo",
        "broadcast",
        "reminders",
    }
)
# Commands that mean one thing for an admin and another for a customer: an admin gets the merchant's side.
SHARED_COMMANDS = frozenset({"orders"})
# Commands for people who are not admins (yet).
OPEN_COMMANDS = frozenset({"join"})


@dataclass(frozen=True)
class Merchant:
    """Who pressed a merchant's button: the flow context, and the tenants' providers (accepting held money)."""

    ctx: FlowContext
    registry: ProviderRegistry | None


# The merchant's buttons, each bound to its kind below; the gate lets only this tenant's admins reach them.
ADMIN: Routes[Merchant, Reply] = Routes("admin")


def is_admin_input(inbound: Inbound, step: str) -> bool:
    """Whether this input belongs to the merchant's side (and so needs an admin)."""
    if inbound.kind is Kind.COMMAND:
        return inbound.command in ADMIN_COMMANDS or merchant_command(inbound.command or "") is not None
    if inbound.kind is Kind.BUTTON:
        return ADMIN.takes(inbound.data)
    return step.startswith("admin.")


def is_shared_input(inbound: Inbound) -> bool:
    return inbound.kind is Kind.COMMAND and inbound.command in SHARED_COMMANDS


def is_open_input(inbound: Inbound) -> bool:
    return inbound.kind is Kind.COMMAND and inbound.command in OPEN_COMMANDS


async def handle_open(ctx: FlowContext, inbound: Inbound) -> Reply:
    """``/join CODE``: anyone may try; the code decides."""
    return await invites.join(ctx, inbound.text)


async def handle(ctx: FlowContext, inbound: Inbound, registry: ProviderRegistry | None = None) -> Reply:
    """``registry``: the tenants' providers, for the merchant actions that must ask one (accepting held money)."""
    if inbound.kind is Kind.COMMAND:
        if ctx.conversation.step.startswith("admin."):
            ctx.go("idle")
        return await _command(ctx, inbound.command or "", inbound.text.strip(), registry)
    if inbound.kind is Kind.BUTTON:
        return await ADMIN.dispatch(Merchant(ctx, registry), inbound.data, lambda m: refuse(m.ctx))
    if ctx.conversation.step == talk.REPLY_STEP:
        return await talk.admin_said(ctx, inbound)
    if (composed := await broadcasts.on_input(ctx, inbound)) is not None:
        return composed
    if ctx.conversation.step == "admin.reject_reason" and inbound.kind is Kind.TEXT:
        found = await proofs.find(ctx.session, ctx.tenant, str(ctx.recall("proof_id", "")))
        ctx.go("idle")
        if found is None:
            return Reply([Message(ctx.t("admin.no_such_proof", ident="?"))])
        return Reply([Message(await proofs.reject(ctx, found, inbound.text))])
    ctx.go("idle")
    return Reply([Message(ctx.t("admin.help"))])


async def _command(ctx: FlowContext, command: str, args: str, registry: ProviderRegistry | None) -> Reply:
    if command == "admin":
        return Reply([await menu.menu(ctx, registry)])
    if command == "pending":
        return Reply(await _pending(ctx))
    if command == "orders":
        code = orders.status_code(args.split()[0] if args else "")
        if code is None:
            return Reply([Message(ctx.t("admin.orders.usage", statuses=", ".join(orders.STATUSES)))], refused=True)
        return Reply([await orders.list_orders(ctx, code, 0)])
    if command == "order":
        ident = args.split()[0] if args else ""
        if not ident:
            return Reply([Message(ctx.t("orders.order.usage"))], refused=True)
        return Reply([await orders.card(ctx, await orders.find(ctx, ident), ident)])
    if command == "ship":
        ident, _, note = args.partition(" ")
        if not ident:
            return Reply([Message(ctx.t("admin.ship.usage"))], refused=True)
        return await orders.ship(ctx, await orders.find(ctx, ident), note, ident)
    if command == "refund":
        return await refunds.refund_command(ctx, args)
    if command == "accept":
        return await review.accept_command(ctx, args, registry)
    if command == "testmode":
        return await testmode.command(ctx, args, registry)
    if command == "sales":
        period = (args.split()[0] if args else "today").lower()
        if period not in sales.PERIODS:
            return Reply([Message(ctx.t("admin.sales.usage"))], refused=True)
        return await _sales(ctx, period)
    if command == "invite":
        return await invites.invite(ctx)
    if command == "admins":
        return await invites.list_admins(ctx)
    if command == "removeadmin":
        return await invites.remove(ctx, args)
    if command == "alerts":
        return await alerts.command(ctx, args)
    if command == "receipt":
        return await receipts.command(ctx, args)
    if command == "export":
        return await exports.command(ctx, args)
    if command == "adminlanguage":
        return await _admin_language(ctx, args)
    if command == "promo":
        return await promos.command(ctx, args)
    if command == "broadcast":
        return await broadcasts.command(ctx)
    if command == "reminders":
        return await cart_reminders.command(ctx, args)
    if command not in ("approve", "reject") and (own := merchant_command(command)) is not None:
        return await own(ctx, args)  # a provider's own command (ProviderEntry.merchant_commands)
    return await _decide(ctx, command, args)


async def _decide(ctx: FlowContext, command: str, args: str) -> Reply:
    ident, _, reason = args.partition(" ")
    if not ident:
        return Reply([Message(ctx.t(f"admin.usage.{command}"))], refused=True)
    found = await proofs.find(ctx.session, ctx.tenant, ident)
    if found is None:
        return Reply([Message(ctx.t("admin.no_such_proof", ident=ident[:20]))], refused=True)
    if command == "approve":
        return Reply([Message(await proofs.approve(ctx, found))])
    if not reason.strip():
        return Reply([Message(ctx.t("admin.usage.reject"))], refused=True)
    return Reply([Message(await proofs.reject(ctx, found, reason))])


async def _menu_now(m: Merchant, _: Expired) -> Reply:
    return expired(m.ctx, await menu.menu(m.ctx, m.registry))


async def _order_now(m: Merchant, old: Expired) -> Reply:
    """The card of the order the old button named (looked up within the tenant), else the menu."""
    order_id = old.first_id()
    order = await OrderRepository(m.ctx.session).by_id(m.ctx.tenant.id, order_id) if order_id is not None else None
    return expired(m.ctx, await orders.card(m.ctx, order)) if order else await _menu_now(m, old)


async def _proofs_now(m: Merchant, _: Expired) -> Reply:
    return expired(m.ctx, *await _pending(m.ctx))


async def _refunds_now(m: Merchant, _: Expired) -> Reply:
    return expired(m.ctx, *(await refund_tasks.list_tasks(m.ctx)).messages)


async def _note(m: Merchant, _: Expired) -> Reply:
    return expired(m.ctx)


@ADMIN.on(TalkReply, expired=_note)
async def _talk_reply(m: Merchant, button: TalkReply) -> Reply:
    return await talk.begin_reply(m.ctx, button.customer_id)


@ADMIN.on(TalkEnd, expired=_note)
async def _talk_end(m: Merchant, button: TalkEnd) -> Reply:
    return await talk.end(m.ctx, button.customer_id)


@ADMIN.on(AdminMenu, expired=_menu_now)
async def _menu_section(m: Merchant, button: AdminMenu) -> Reply:
    return await _section(m.ctx, button.section, m.registry)


@ADMIN.on(OrderList, expired=_menu_now)
async def _order_list(m: Merchant, button: OrderList) -> Reply:
    return Reply([await orders.list_orders(m.ctx, button.status, button.page, edit=True)])


@ADMIN.on(SalesReport, expired=_menu_now)
async def _sales_button(m: Merchant, button: SalesReport) -> Reply:
    periods = sales.PERIODS
    return await _sales(m.ctx, periods[button.period] if button.period < len(periods) else "today")


@ADMIN.on(SetTestMode, expired=_menu_now)
async def _test_mode(m: Merchant, button: SetTestMode) -> Reply:
    return await testmode.confirm(m.ctx, button.on, m.registry)


@ADMIN.on(PromoAction, expired=_menu_now)
async def _promo_action(m: Merchant, button: PromoAction) -> Reply:
    return await promos.button(m.ctx, button.promo_id, button.action)


@ADMIN.on(BroadcastAction, expired=_note)
async def _broadcast_action(m: Merchant, button: BroadcastAction) -> Reply:
    return await broadcasts.pressed(m.ctx, button.broadcast_id, button.action, button.value)


async def _order(m: Merchant, order_id: int) -> Order | None:
    return await OrderRepository(m.ctx.session).by_id(m.ctx.tenant.id, order_id)


@ADMIN.on(ViewOrder, expired=_order_now)
async def _view_order(m: Merchant, button: ViewOrder) -> Reply:
    return Reply([await orders.card(m.ctx, await _order(m, button.order_id))])


@ADMIN.on(ShipOrder, expired=_order_now)
async def _ship(m: Merchant, button: ShipOrder) -> Reply:
    return await orders.ship(m.ctx, await _order(m, button.order_id), "")


@ADMIN.on(AskCancelOrder, expired=_order_now)
async def _ask_cancel(m: Merchant, button: AskCancelOrder) -> Reply:
    return orders.ask_cancel(m.ctx, await _order(m, button.order_id))


@ADMIN.on(ConfirmCancelOrder, expired=_order_now)
async def _cancel_order(m: Merchant, button: ConfirmCancelOrder) -> Reply:
    return await orders.cancel(m.ctx, await _order(m, button.order_id))


@ADMIN.on(AcceptPayment, expired=_menu_now)
async def _accept(m: Merchant, button: AcceptPayment) -> Reply:
    return await review.accept_button(m.ctx, button.payment_id, m.registry)


@ADMIN.on(RefundSent, expired=_refunds_now)
async def _refund_sent(m: Merchant, button: RefundSent) -> Reply:
    return await refund_tasks.done_button(m.ctx, button.refund_id)


@ADMIN.on(ConfirmRefund, expired=_note)
async def _confirm_refund(m: Merchant, button: ConfirmRefund) -> Reply:
    return await refunds.pressed(m.ctx, refunds.CONFIRM, button.question_id)


@ADMIN.on(CancelRefund, expired=_note)
async def _cancel_refund(m: Merchant, button: CancelRefund) -> Reply:
    return await refunds.pressed(m.ctx, refunds.CANCEL, button.question_id)


@ADMIN.on(ApproveProof, expired=_proofs_now)
async def _approve(m: Merchant, button: ApproveProof) -> Reply:
    found = await proofs.find(m.ctx.session, m.ctx.tenant, str(button.proof_id))
    if found is None:
        return refuse(m.ctx)
    # The press is answered once, by its notice; the proof message itself is edited to show the decision.
    return Reply(notice=(await proofs.approve(m.ctx, found))[:190])


@ADMIN.on(RejectProof, expired=_proofs_now)
async def _reject(m: Merchant, button: RejectProof) -> Reply:
    ctx = m.ctx
    found = await proofs.find(ctx.session, ctx.tenant, str(button.proof_id))
    if found is None:
        return refuse(ctx)
    refusal = await proofs.not_decidable(ctx, found)
    if refusal:  # no reason asked for a proof that is decided already
        return Reply(notice=refusal[:190])
    ctx.go("admin.reject_reason", proof_id=found.proof.id)
    return Reply([Message(ctx.t("admin.ask_reject_reason", code=found.order.code))])


async def _admin_language(ctx: FlowContext, args: str) -> Reply:
    """``/adminlanguage`` asks; ``/adminlanguage fr`` (or ``Français``) chooses: this admin's own language for the
    merchant's side, whatever the customers read."""
    if not args.strip():
        return Reply([Message(ctx.t("admin.language.ask"), language.choices(AdminLanguage))])
    code = language.named(args)
    if code is None:
        return Reply([Message(ctx.t("language.unknown"), language.choices(AdminLanguage))], refused=True)
    return await _set_admin_language(ctx, code)


async def _set_admin_language(ctx: FlowContext, code: str) -> Reply:
    await TenantRepository(ctx.session).set_admin_language(ctx.tenant.id, ctx.actor.tg_user_id, code)
    ctx.speaks = code  # the confirmation in the new language
    return Reply([Message(ctx.t("admin.language.chosen"))])


@ADMIN.on(AdminLanguage, expired=_menu_now)
async def _admin_language_button(m: Merchant, button: AdminLanguage) -> Reply:
    if button.language >= len(LANGUAGES):
        return refuse(m.ctx)
    return await _set_admin_language(m.ctx, LANGUAGES[button.language])


async def _section(ctx: FlowContext, section: int, registry: ProviderRegistry | None) -> Reply:
    if section == menu.PROOFS:
        return Reply(await _pending(ctx))
    if section == menu.TESTMODE:
        return Reply([await testmode.ask(ctx, not ctx.tenant.test_mode, registry)])
    if section == menu.ADMINS:
        return await invites.list_admins(ctx)
    if section == menu.ALERTS:
        return await alerts.command(ctx, "")
    if section == menu.INVITE:
        return await invites.invite(ctx)
    if section == menu.REFUNDS:
        return await refund_tasks.list_tasks(ctx)
    return Reply([await menu.menu(ctx, registry)])


async def _sales(ctx: FlowContext, period: str) -> Reply:
    return await sales.report(ctx, period)


async def _pending(ctx: FlowContext) -> list[Message]:
    """The proofs waiting, posted through the outbox as copies their decision will edit (:mod:`admin.copies`): a list
    left in the chat never offers Approve on a proof decided since. Nothing waiting is said at once."""
    payments = PaymentRepository(ctx.session)
    waiting = await payments.proofs_waiting(ctx.tenant.id)
    if not waiting:
        return [Message(ctx.t("admin.no_pending"))]
    items = []
    for proof in waiting[:10]:
        found = await proofs.find(ctx.session, ctx.tenant, str(proof.id))
        if found is None:
            continue
        customer = await _customer(ctx, found.order.customer_id)
        review = notices.Context(ctx.tenant, found.order, found.payment, customer)
        warnings = await signals(ctx.session, ctx.tenant.id, found.proof, found.payment, ctx.lang)
        items.append((proofs.subject(proof), notices.proof_for_review(review, proof, warnings, language=ctx.lang)))
    await copies.post_listing(
        ctx.session,
        tenant_id=ctx.tenant.id,
        chat_id=ctx.actor.chat_id,
        heading=Message(ctx.tn("admin.pending_count", len(waiting))),
        items=items,
        now=ctx.clock.now(),
    )
    return []


async def _customer(ctx: FlowContext, customer_id: int) -> Customer:
    customer = await CustomerRepository(ctx.session).by_id(ctx.tenant.id, customer_id)
    assert customer is not None
    return customer


__all__ = [
    "ADMIN",
    "ADMIN_COMMANDS",
    "handle",
    "handle_open",
    "is_admin_input",
    "is_open_input",
    "is_shared_input",
]
