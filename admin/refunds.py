"""``/refund CODE [AMOUNT]``: refunds from the merchant's chat (tenant admins only; the bot layer checks that), always
with a confirmation step.

CODE is the order code; AMOUNT is in major units of the order's currency (``150`` or ``150.50``), the whole refundable
amount when left out. Never more than was paid, less what is refunded already or on its way (``admin.refund_plan``).

``/refund`` itself changes no money: it shows the order (customer, items, paid, refunded already) and the amount about
to go back, with Confirm and Cancel. Only Confirm, pressed by the admin who asked within ``CONFIRM_WITHIN``, starts
the refund, and only once: the question is a ``refund_confirmations`` row that Confirm consumes with one conditional
UPDATE (its admin, still asked, not expired), so a double press or two admins at once start one refund at most. The
rules are checked again on Confirm, under the payment's lock: the order may have moved meanwhile.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from admin import audit
from admin.refund_plan import Plan, plan, refused, start
from core import shoptime
from core.buttons import CancelRefund, ConfirmRefund
from core.db.repos.orders import OrderRepository
from core.db.tables import RefundConfirmation
from core.messages import Button, Message, keyboard
from core.money import Money
from core.phones import display
from flows.context import FlowContext, Reply
from payments import refunds

CONFIRM = "rfy"  # the answer of the question's Confirm (core.buttons.ConfirmRefund), and of its Cancel below
CANCEL = "rfn"
CONFIRM_WITHIN = timedelta(minutes=5)
ASKED, CONFIRMED, CANCELLED = "asked", "confirmed", "cancelled"
NOT_STARTED = "not_started"  # confirmed, but the order had moved meanwhile and the refund no longer fitted


async def refund_command(ctx: FlowContext, args: str) -> Reply:
    """Show the refund ``/refund CODE [AMOUNT]`` would make, with Confirm / Cancel; nothing is refunded yet."""
    words = args.split()
    if not words or len(words) > 2:
        return refused(ctx, "usage", {}, ctx.t("refund.usage"))
    code = words[0].strip().upper()[:20]
    planned = await plan(ctx, code, words[1] if len(words) == 2 else None, lock=False)
    if isinstance(planned, Reply):
        return planned
    now = ctx.clock.now()
    question = RefundConfirmation(
        tenant_id=ctx.tenant.id,
        order_id=planned.order.id,
        payment_id=planned.payment.id,
        admin_tg_id=ctx.actor.tg_user_id,
        amount_minor=planned.amount.minor,
        currency=planned.amount.currency,
        held=planned.held,
        status=ASKED,
        expires_at=now + CONFIRM_WITHIN,
        created_at=now,
    )
    ctx.session.add(question)
    await ctx.session.flush()
    audit.record(ctx, "refund.asked", code, confirmation=question.id, amount_minor=planned.amount.minor)
    return Reply([_card(ctx, planned, question)])


async def pressed(ctx: FlowContext, verb: str, confirmation_id: int) -> Reply:
    """Confirm (``rfy``) or Cancel (``rfn``) of one question, by the admin who asked, before it expires."""
    wanted = CONFIRMED if verb == CONFIRM else CANCELLED
    now = ctx.clock.now()
    consumed = await ctx.session.scalar(
        update(RefundConfirmation)
        .where(
            RefundConfirmation.id == confirmation_id,
            RefundConfirmation.tenant_id == ctx.tenant.id,
            RefundConfirmation.admin_tg_id == ctx.actor.tg_user_id,
            RefundConfirmation.status == ASKED,
            RefundConfirmation.expires_at > now,
        )
        .values(status=wanted, decided_at=now)
        .returning(RefundConfirmation.id)
        .execution_options(synchronize_session=False)
    )
    question = await ctx.session.get(RefundConfirmation, confirmation_id, populate_existing=True)
    if question is None or question.tenant_id != ctx.tenant.id:
        audit.record(ctx, f"refund.{wanted}", str(confirmation_id), allowed=False, why="no_such_question")
        return Reply(notice=ctx.t("error.stale_button"), refused=True)
    code = await _code(ctx, question)
    if consumed is None:
        return _not_consumed(ctx, question, code, wanted)
    if wanted == CANCELLED:
        audit.record(ctx, "refund.cancelled", code, confirmation=question.id)
        body = ctx.t("refund.confirm.cancelled", code=code)
        return Reply([Message(body, edit=True)], notice=body[:190])
    amount = Money(question.amount_minor, question.currency)
    planned = await plan(ctx, code, amount, lock=True)
    refusal = planned if isinstance(planned, Reply) else _changed(ctx, question, planned, code)
    if refusal is not None:
        question.status = NOT_STARTED
        return Reply([_edited(message) for message in refusal.messages], refused=True)
    assert isinstance(planned, Plan)
    started = await start(ctx, planned)
    return Reply([_edited(started)], notice=started.text[:190])


def _changed(ctx: FlowContext, question: RefundConfirmation, planned: Plan, code: str) -> Reply | None:
    """A refusal when the payment to refund is not the one the merchant was shown (another payment now, or held money
    accepted meanwhile): what they confirmed is not what would happen."""
    if planned.payment.id == question.payment_id and planned.held == question.held:
        return None
    body = ctx.t("refund.changed_meanwhile" if question.held else "refund.confirm.changed", code=code)
    return refused(ctx, "changed_meanwhile", {"code": code}, body)


def _not_consumed(ctx: FlowContext, question: RefundConfirmation, code: str, wanted: str) -> Reply:
    """Why a press changed nothing, in words: someone else's question, decided already, or too late."""
    if question.admin_tg_id != ctx.actor.tg_user_id:
        why, body = "another_admin", ctx.t("refund.confirm.not_yours", code=code)
    elif question.status == CONFIRMED:
        why, body = "confirmed_already", ctx.t("refund.confirm.already_confirmed", code=code)
    elif question.status == CANCELLED:
        why, body = "cancelled_already", ctx.t("refund.confirm.already_cancelled", code=code)
    elif question.status == NOT_STARTED:
        why, body = "not_started", ctx.t("refund.confirm.not_started", code=code)
    else:
        minutes = int(CONFIRM_WITHIN.total_seconds() // 60)
        why, body = "expired", ctx.t("refund.confirm.expired", code=code, minutes=minutes)
    audit.record(ctx, f"refund.{wanted}", code, allowed=False, why=why, confirmation=question.id)
    # Only an expired question is edited (it loses its buttons). A decided one already shows its outcome, and for a
    # confirmed refund the merchant sends by hand that is the task with its Done button: a second tap must not write
    # over it. Someone else's question stays as it is in its admin's chat.
    messages = [Message(body, edit=True)] if why == "expired" else []
    return Reply(messages, notice=body[:190], refused=True)


async def _code(ctx: FlowContext, question: RefundConfirmation) -> str:
    order = await OrderRepository(ctx.session).by_id(ctx.tenant.id, question.order_id)
    return order.code if order is not None else "?"


def _edited(message: Message) -> Message:
    return Message(message.text, message.buttons, edit=True)


def _card(ctx: FlowContext, planned: Plan, question: RefundConfirmation) -> Message:
    order, payment = planned.order, planned.payment
    provider = ctx.t(f"provider.{payment.provider}")
    items = [
        ctx.t(
            "refund.confirm.item",
            name=item.name,
            quantity=item.quantity,
            amount=Money(item.unit_price_minor * item.quantity, order.currency).format(ctx.lang),
        )
        for item in order.items
    ]
    if refunds.by_provider(payment.provider, payment.currency):
        how = ctx.t(f"{payment.provider}.refund.how")
    else:
        how = ctx.t("refund.confirm.how_by_hand", provider=provider)
    if planned.held:
        how = ctx.t("refund.confirm.held") + "\n" + how
    body = ctx.t(
        "refund.confirm.card",
        code=order.code,
        customer=order.contact_name,
        phone=display(order.contact_phone, ctx.tenant.region),
        items="\n".join(items),
        paid=planned.paid.format(ctx.lang),
        provider=provider,
        taken=planned.taken.format(ctx.lang),
        amount=planned.amount.format(ctx.lang),
        how=how,
        minutes=int(CONFIRM_WITHIN.total_seconds() // 60),
        until=shoptime.clock_time(question.expires_at, ctx.tenant, ctx.lang),
    )
    yes = Button(
        ctx.t("refund.confirm.button_yes", amount=planned.amount.format(ctx.lang)),
        data=ConfirmRefund(question.id).pack(),
    )
    no = Button(ctx.t("refund.confirm.button_no"), data=CancelRefund(question.id).pack())
    return Message(body, keyboard([yes], [no]))
