"""``/accept ID``: the merchant accepts a payment held for review, as it arrived.

Money that did not fit (a different amount, a Paybill account number one character off, a currency the order was not
in) is parked as ``needs_review`` and the merchant is alerted. Accepting it makes the order paid and sends the
customer a receipt; refusing it is a refund (``/refund``). Accepting is an event like any other, keyed per payment, so
a double tap or two admins at once accept once and send one receipt.

Money is accepted "as received" only when the provider says it was received. A provider that declares
``Capability.CONFIRM_HELD`` is asked again, at that moment (a hosted-link provider holds a payment when its status
query contradicted its signed webhook): unless it now says the amount held arrived, in that currency, the acceptance
is refused, the merchant reads what it said, and nothing changes.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from admin import audit, copies
from core import shoptime
from core.db.repos.orders import OrderRepository, PaymentRepository
from core.db.tables import Order, Payment, PaymentEvent
from core.messages import Message
from core.money import Money
from flows.context import FlowContext, Reply
from payments import providers, refunds
from payments.base import Capability, HeldWord, Outcome, ProviderError, ProviderEvent
from payments.registry import ProviderRegistry
from payments.service import EventResult, apply_event
from payments.states import OrderStatus, PaymentStatus

log = logging.getLogger(__name__)


def _accepted_key(payment: Payment) -> str:
    return f"review:{payment.id}:accepted"


def accepted_event(payment: Payment, admin_id: int) -> ProviderEvent:
    return ProviderEvent(
        provider=payment.provider,
        event_key=_accepted_key(payment),
        payment_reference=payment.reference,
        outcome=Outcome.ACCEPTED,
        raw={"admin": admin_id},
    )


async def accept_command(ctx: FlowContext, args: str, registry: ProviderRegistry | None = None) -> Reply:
    ident = args.split()[0].lstrip("#").upper()[:20] if args.split() else ""
    if not ident:
        return Reply([Message(ctx.t("admin.usage.accept"))], refused=True)
    order = await OrderRepository(ctx.session).by_code(ctx.tenant.id, ident)  # another tenant's order is not found
    if order is None:
        audit.record(ctx, "payment.accept", ident, allowed=False, why="no_such_order")
        return Reply([Message(ctx.t("admin.no_such_order", code=ident))], refused=True)
    payments = await PaymentRepository(ctx.session).for_order(ctx.tenant.id, order.id)
    held = [p for p in payments if p.status == PaymentStatus.NEEDS_REVIEW]
    # Nothing held: the newest attempt, which is the accepted one when it was accepted (an order leaves
    # awaiting_payment before review, so no attempt comes after it); _accept tells the two cases apart.
    newest = payments[-1] if payments else None
    return await _accept(ctx, order, held[-1] if held else newest, registry)


async def accept_button(ctx: FlowContext, payment_id: int, registry: ProviderRegistry | None = None) -> Reply:
    payment = await PaymentRepository(ctx.session).by_id(ctx.tenant.id, payment_id)
    order = await OrderRepository(ctx.session).by_id(ctx.tenant.id, payment.order_id) if payment else None
    if payment is None or order is None:
        return Reply(notice=ctx.t("error.stale_button"))
    reply = await _accept(ctx, order, payment, registry)
    if reply.refused:
        return Reply(reply.messages, refused=True, notice=reply.messages[0].text[:190])
    # Accepted (now or before): the alert whose button was pressed, and its copies in the other admins' chats, are
    # edited into the acceptance; the toast says it, and a message saying it again would answer one press twice.
    return Reply(notice=reply.messages[0].text[:190])


async def _was_accepted(ctx: FlowContext, payment: Payment) -> bool:
    found = await ctx.session.scalar(
        select(PaymentEvent.id).where(
            PaymentEvent.tenant_id == payment.tenant_id,
            PaymentEvent.provider == payment.provider,
            PaymentEvent.event_key == _accepted_key(payment),
            PaymentEvent.result == EventResult.APPLIED.value,  # an acceptance refused (a refund was open) is not one
        )
    )
    return found is not None


async def _refund_open(ctx: FlowContext, payment: Payment) -> bool:
    return bool(await refunds.open_minor(ctx.session, payment.id))


async def _accept(ctx: FlowContext, order: Order, payment: Payment | None, registry: ProviderRegistry | None) -> Reply:
    # The checks before the acceptance choose what the merchant reads; the acceptance itself (payments.service) asks
    # the database again, under the payment's lock, so nothing that changed meanwhile is overridden.
    if payment is None or payment.status != PaymentStatus.NEEDS_REVIEW:
        if payment is not None and await _was_accepted(ctx, payment):
            return Reply([Message(ctx.t("admin.accept.already", code=order.code))])
        audit.record(ctx, "payment.accept", order.code, allowed=False, why="nothing_held")
        status = ctx.t(f"order.status.{order.status}")
        return Reply([Message(ctx.t("admin.accept.nothing_held", code=order.code, status=status))], refused=True)
    if order.status != OrderStatus.NEEDS_REVIEW:
        # This money came for an order that another payment has paid: keeping both would charge the customer twice.
        audit.record(ctx, "payment.accept", order.code, allowed=False, why="order_paid_otherwise")
        return Reply([Message(ctx.t("admin.accept.paid_otherwise", code=order.code))], refused=True)
    if await _refund_open(ctx, payment):
        # The merchant chose to send this money back: keeping it too would take it twice.
        audit.record(ctx, "payment.accept", order.code, allowed=False, why="refund_open")
        return Reply([Message(ctx.t("review.accept.refund_open", code=order.code))], refused=True)
    declared = providers.entry(payment.provider)
    if declared is not None and declared.info.supports(Capability.CONFIRM_HELD):
        refusal = await _unconfirmed_by_provider(ctx, order, payment, registry)
        if refusal is not None:
            return refusal
    async with ctx.session.begin_nested() as savepoint:
        applied = await apply_event(
            ctx.session, ctx.tenant.id, accepted_event(payment, ctx.actor.tg_user_id), ctx.clock
        )
        if not applied.moved:  # a double tap, another admin first, or something changed since the checks above
            # Leave no event behind: its key is once per payment, and an acceptance refused now (a refund opened
            # meanwhile, which may yet fail) must not stand in for one made later. The audit keeps the refusal.
            await savepoint.rollback()
    if not applied.moved:
        return await _not_accepted(ctx, order, payment)
    amount = Money(payment.paid_minor or payment.amount_minor, payment.currency)
    audit.record(ctx, "payment.accepted", order.code, payment=payment.id, amount_minor=amount.minor)
    now = ctx.clock.now()
    who = ctx.actor.display_name or ctx.t("admin.proof.unnamed", id=ctx.actor.tg_user_id)
    line = ctx.t("admin.accept.decided", who=who, when=shoptime.when(now, ctx.tenant, ctx.lang))
    # The alert was posted as review:<payment>:to:<chat> (payments.service); its Accept button goes with the edit.
    await copies.show_decision(ctx.session, tenant_id=ctx.tenant.id, subject=f"review:{payment.id}", line=line, now=now)
    return Reply([Message(ctx.t("admin.accept.done", code=order.code, amount=amount.format(ctx.lang)))])


async def _not_accepted(ctx: FlowContext, order: Order, payment: Payment) -> Reply:
    """What the merchant reads when the acceptance did not move the payment, told from the state that stopped it."""
    await ctx.session.refresh(payment)
    await ctx.session.refresh(order)
    if payment.status != PaymentStatus.NEEDS_REVIEW or order.status != OrderStatus.NEEDS_REVIEW:
        return await _accept(ctx, order, payment, None)  # accepted by another, paid otherwise, or nothing held now
    if await _refund_open(ctx, payment):
        audit.record(ctx, "payment.accept", order.code, allowed=False, why="refund_open")
        return Reply([Message(ctx.t("review.accept.refund_open", code=order.code))], refused=True)
    return Reply([Message(ctx.t("admin.accept.already", code=order.code))])


async def _unconfirmed_by_provider(
    ctx: FlowContext, order: Order, payment: Payment, registry: ProviderRegistry | None
) -> Reply | None:
    """None when the provider, asked now, says the money held arrived; otherwise the refusal (audited), in the
    provider's own words (``<name>.review.*``).

    The question is a network call (up to the client's timeout), so it is not made inside a transaction: the update's
    transaction (its processed-update row, the chat's conversation lock, on SQLite the database's write lock) is
    committed first, with everything read that the question needs. The acceptance that follows runs in a new,
    short transaction, and its conditional update re-checks the payment, so what changed during the call (another
    admin's acceptance, a refund) is never overridden. A crash during the call loses only this command's reply."""
    name = payment.provider
    provider = await registry.for_tenant(ctx.session, ctx.tenant, name) if registry is not None else None
    confirm = getattr(provider, "confirm_held", None)
    if confirm is None:
        audit.record(ctx, "payment.accept", order.code, allowed=False, why=f"{name}_not_configured")
        return Reply([Message(ctx.t(f"{name}.review.missing", code=order.code))], refused=True)
    held = await _held_amount(ctx, payment)
    await ctx.session.commit()
    try:
        word: HeldWord = await confirm(payment.reference)
    except ProviderError as error:
        log.info("payment %s: %s not answered for an acceptance (%s)", payment.id, name, error.code)
        audit.record(ctx, "payment.accept", order.code, allowed=False, why="verify_unavailable")
        return Reply([Message(ctx.t(f"{name}.review.unavailable", code=order.code))], refused=True)
    if word.confirms(held):
        return None
    said = _what_it_said(ctx, name, word)
    audit.record(ctx, "payment.accept", order.code, allowed=False, why="verify_disagrees", verify=word.status)
    body = ctx.t(f"{name}.review.disagrees", code=order.code, held=held.format(ctx.lang), said=said)
    return Reply([Message(body)], refused=True)


def _what_it_said(ctx: FlowContext, provider: str, word: HeldWord) -> str:
    if word.status == "not_found":
        return ctx.t(f"{provider}.review.not_found")
    if word.amount is None:
        return ctx.t("review.verify.status", status=word.status)
    return ctx.t("review.verify.status_amount", status=word.status, amount=word.amount.format(ctx.lang))


async def _held_amount(ctx: FlowContext, payment: Payment) -> Money:
    """The money held, as the event that held it reported it: what accepting it would take as received."""
    reported = (
        await ctx.session.execute(
            select(PaymentEvent.amount_minor, PaymentEvent.currency)
            .where(
                PaymentEvent.payment_id == payment.id,
                PaymentEvent.outcome == Outcome.PAID.value,
                PaymentEvent.result == EventResult.NEEDS_REVIEW.value,
            )
            .order_by(PaymentEvent.id.desc())
            .limit(1)
        )
    ).first()
    if reported is not None and reported.amount_minor is not None and reported.currency:
        return Money(reported.amount_minor, reported.currency)
    return Money(payment.amount_minor if payment.paid_minor is None else payment.paid_minor, payment.currency)
