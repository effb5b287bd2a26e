"""The M-Pesa checkout in the chat: M-Pesa's chat step (:class:`payments.chat.ChatStep`), driven by ``flows.payment``.

1. The customer chooses M-Pesa: the bot proposes the order's phone (when it can receive M-Pesa) and lets the
   customer type another; numbers are normalised, and invalid or non-Safaricom ones get a clear message.
2. A push: a new attempt and its start job, in the update's transaction (``payments.chat.start_online_payment``).
   The customer reads "sending the payment prompt to 07XX…" at once, with a status button; the job worker sends the
   push and its answer ("check your phone") takes that message's place, as later the receipt or the failure (in
   plain words, with "Try again" and "Pay by Paybill") does.
3. "Try again" pushes again, but never while an attempt is still open (a push that timed out on our side is settled
   by its callback or its expiry, never re-sent blindly) nor sooner than Daraja allows for that phone.
4. "Pay by Paybill" (Paybills only; tills have no account number): the business number, the order code as the
   account number and the exact amount. The C2B confirmation is matched by ``payments.mpesa.c2b``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from core.buttons import ChooseMethod
from core.callbacks import CallbackData
from core.db.repos.orders import OrderRepository
from core.db.tables import Order, Payment, ProviderConfig
from core.messages import Button, Message, keyboard
from core.money import Money
from core.phones import display
from core.shoptime import clock_time
from payments.attempts import open_attempt, open_payment, supersede_open
from payments.chat import Answer, ButtonHandler, ChatContext, ChatStep, Reply, start_online_payment
from payments.mpesa import INFO, messages
from payments.mpesa.buttons import OtherPhone, Paybill, PushAgain, PushStatus, SendPush
from payments.mpesa.pause import earliest_push, last_result_code, seconds_until
from payments.mpesa.phones import MpesaPhone, MpesaPhoneError, mpesa_phone
from payments.mpesa.provider import NAME
from payments.notices import Context
from payments.states import OrderStatus, PaymentStatus

STEP_PHONE = "mpesa.phone"
OrderStep = Callable[[ChatContext, Order], Awaitable[Reply]]
OPEN = (PaymentStatus.CREATED.value, PaymentStatus.PENDING.value)


def _money(order: Order) -> Money:
    return Money(order.total_minor, order.currency)


def _phone_or_none(e164: str | None) -> MpesaPhone | None:
    if not e164:
        return None
    try:
        return mpesa_phone(e164, "KE")
    except MpesaPhoneError:
        return None


async def begin(ctx: ChatContext, order: Order, config: ProviderConfig) -> Reply:
    if not INFO.takes(_money(order)):  # the menu left it out (flows.payment.menu_place); an old button still works
        return Reply([Message(ctx.t("mpesa.unavailable", code=order.code))])
    waiting = await _open_attempt(ctx, order)
    if waiting is not None:
        return _still_open(ctx, order, waiting, typed=False)
    return _propose(ctx, order)


def _still_open(ctx: ChatContext, order: Order, payment: Payment, *, typed: bool) -> Reply:
    """One message per push: the push's own message keeps its status, and turns into its result. Asked again, the
    bot answers in a few words (a toast for a press) and never sends a second "enter your PIN" that would be left
    standing below the receipt."""
    e164 = payment.phone or ctx.customer.phone or order.contact_phone
    words = ctx.t("mpesa.still_open", code=order.code, phone=display(e164) if e164 else "—")
    return Reply([Message(words)], refused=True) if typed else Reply(notice=words, refused=True)


def _propose(ctx: ChatContext, order: Order) -> Reply:
    phone = _phone_or_none(ctx.customer.phone) or _phone_or_none(order.contact_phone)
    ctx.go(STEP_PHONE, order_id=order.id)
    lead = ctx.t("mpesa.test_mode") + "\n" if ctx.tenant.test_mode else ""
    other = [Button(ctx.t("mpesa.button.other_method"), data=ChooseMethod(order.id).pack())]
    if phone is None:
        return Reply([Message(lead + ctx.t("mpesa.ask_phone"), keyboard(other))])
    body = ctx.t("mpesa.confirm_phone", amount=_money(order).format(ctx.lang), code=order.code, phone=phone.local)
    return Reply(
        [
            Message(
                lead + body,
                keyboard(
                    [Button(ctx.t("mpesa.button.send_to", phone=phone.local), data=SendPush(order.id).pack())],
                    [Button(ctx.t("mpesa.button.other_number"), data=OtherPhone(order.id).pack())],
                    other,
                ),
            )
        ]
    )


async def on_input(ctx: ChatContext, answer: Answer) -> Reply | None:
    typed = answer.phone or answer.text
    if ctx.conversation.step != STEP_PHONE or typed is None:
        return None
    try:
        phone = mpesa_phone(typed, ctx.tenant.region)
    except MpesaPhoneError as refused:
        shown = typed.strip()[:20]
        return Reply([Message(ctx.t(refused.key, phone=shown, carrier=refused.carrier))], refused=True)
    order = await _order(ctx, int(ctx.recall("order_id", 0)))
    if order is None:
        ctx.go("idle")
        return Reply([Message(ctx.t("error.stale_button"))])
    ctx.customer.phone = phone.phone.e164  # the starter pushes to the customer's phone; they just chose this one
    return await _push(ctx, order, phone, typed=True)


async def _order(ctx: ChatContext, order_id: int) -> Order | None:
    order = await OrderRepository(ctx.session).by_id(ctx.tenant.id, order_id)
    if order is None or order.customer_id != ctx.customer.id:
        return None
    return order


def _not_payable(ctx: ChatContext, order: Order) -> Reply:
    status = ctx.t(f"order.status.{order.status}")
    return Reply([Message(ctx.t("order.not_payable", code=order.code, status=status))])


async def _open_attempt(ctx: ChatContext, order: Order) -> Payment | None:
    return await ctx.session.scalar(
        select(Payment)
        .where(
            Payment.tenant_id == ctx.tenant.id,
            Payment.order_id == order.id,
            Payment.provider == NAME,
            Payment.status.in_(OPEN),
            Payment.callback_token.is_not(None),
        )
        .order_by(Payment.id.desc())
        .limit(1)
    )


async def _push(ctx: ChatContext, order: Order, phone: MpesaPhone, *, typed: bool = False) -> Reply:
    if order.status != OrderStatus.AWAITING_PAYMENT:
        ctx.go("idle")
        return _not_payable(ctx, order)
    waiting = await _open_attempt(ctx, order)
    if waiting is not None:
        ctx.go("idle")
        return _still_open(ctx, order, waiting, typed=typed)
    earliest = await earliest_push(ctx.session, ctx.tenant.id, phone.phone.e164)
    now = ctx.clock.now()
    if earliest is not None and now < earliest:  # Daraja would refuse it: say how long, and to which phone
        seconds, at = seconds_until(earliest, now), clock_time(earliest, ctx.tenant, ctx.lang)
        retry = keyboard([Button(ctx.t("mpesa.button.try_again"), data=PushAgain(order.id).pack())])
        wait = ctx.t("mpesa.wait_before_retry", phone=display(phone.phone.e164), seconds=seconds, time=at)
        return Reply([Message(wait, retry)], refused=True)
    amount = _money(order).format(ctx.lang)
    status = keyboard([Button(ctx.t("mpesa.button.status"), data=PushStatus(order.id).pack())])
    shown = display(phone.phone.e164)
    sending = Message(ctx.t("jobs.mpesa.sending", phone=shown, amount=amount, code=order.code), status)
    payment = await start_online_payment(ctx, order, NAME, sending)
    ctx.go("idle")
    if payment is None:  # a push is open (perhaps started by a press a moment ago): where it stands
        current = await open_attempt(ctx.session, order)
        if current is not None and current.provider == NAME:
            return _still_open(ctx, order, current, typed=typed)
        return Reply([Message(ctx.t("jobs.attempt_open", code=order.code))])
    payment.phone = phone.phone.e164  # Daraja's pause is per phone: the next push to it waits for this one's
    return Reply(start_payment=payment.id)


async def _status(ctx: ChatContext, order: Order, payment: Payment, *, edit: bool) -> Message:
    """Where the order's latest M-Pesa attempt stands, with the buttons that fit: the same words as the push's own
    message (it edits that message when its "Check status" is pressed), never "enter your PIN" once it has ended."""
    status = PaymentStatus(payment.status)
    amount, code = _money(order).format(ctx.lang), order.code
    refresh = keyboard([Button(ctx.t("mpesa.button.status"), data=PushStatus(order.id).pack())])
    e164 = payment.phone or ctx.customer.phone
    shown = display(e164) if e164 else "—"
    if status in (PaymentStatus.PAID, PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED):
        return Message(ctx.t("mpesa.status.paid_order", code=code, amount=amount), edit=edit)
    if status is PaymentStatus.NEEDS_REVIEW:
        return Message(ctx.t("mpesa.status.review"), edit=edit)
    if status not in (PaymentStatus.CREATED, PaymentStatus.PENDING):  # ended without money
        if order.status != OrderStatus.AWAITING_PAYMENT:
            return Message(ctx.t("mpesa.status.other", status=ctx.t(f"order.status.{order.status}")), edit=edit)
        notice = Context(ctx.tenant, order, payment, ctx.customer)
        code_of_result = await last_result_code(ctx.session, payment.id)
        ended = await messages.ended_message(ctx.session, notice, payment.status, code_of_result, ctx.clock.now())
        return Message(ended.text, ended.buttons, edit=edit)
    if payment.callback_token is None:  # a Paybill attempt: the instructions again
        business = await messages.paybill_number(ctx.session, ctx.tenant.id, ctx.tenant.test_mode) or "—"
        return messages.paybill_instructions(ctx.lang, business, code, _money(order))
    if status is PaymentStatus.CREATED:
        return Message(ctx.t("jobs.mpesa.sending", phone=shown, amount=amount, code=code), refresh, edit=edit)
    line = ctx.t("mpesa.status.unconfirmed") if payment.provider_ref is None else ctx.t("mpesa.status.waiting")
    return Message(ctx.t("mpesa.check_phone", phone=shown, amount=amount, code=code, status=line), refresh, edit=edit)


BUTTONS: dict[type[CallbackData], ButtonHandler] = {}


def _needs_order(kind: type[CallbackData]) -> Callable[[OrderStep], OrderStep]:
    """Declares the step that answers ``kind`` (an M-Pesa button about an order), given the customer's own order of
    that id (the flow binds :data:`BUTTONS` to the customer's routes)."""

    def bind(step: OrderStep) -> OrderStep:
        async def checked(ctx: ChatContext, button: Any) -> Reply:
            order = await _order(ctx, button.order_id)
            if order is None:
                return Reply(notice=ctx.t("error.stale_button"))
            return await step(ctx, order)

        if kind in BUTTONS:
            raise TypeError(f"{kind.__name__} has a step already")
        BUTTONS[kind] = checked
        return step

    return bind


@_needs_order(SendPush)
async def _send(ctx: ChatContext, order: Order) -> Reply:
    phone = _phone_or_none(ctx.customer.phone) or _phone_or_none(order.contact_phone)
    if phone is None:
        return _ask_phone(ctx, order)
    ctx.customer.phone = phone.phone.e164
    return await _push(ctx, order, phone)


def _ask_phone(ctx: ChatContext, order: Order) -> Reply:
    ctx.go(STEP_PHONE, order_id=order.id)
    return Reply([Message(ctx.t("mpesa.ask_phone"))])


@_needs_order(OtherPhone)
async def _other_phone(ctx: ChatContext, order: Order) -> Reply:
    if order.status != OrderStatus.AWAITING_PAYMENT:
        return _not_payable(ctx, order)
    return _ask_phone(ctx, order)


@_needs_order(PushAgain)
async def _retry(ctx: ChatContext, order: Order) -> Reply:
    if order.status != OrderStatus.AWAITING_PAYMENT:
        return _not_payable(ctx, order)
    phone = _phone_or_none(ctx.customer.phone)
    if phone is None:
        return _ask_phone(ctx, order)
    return await _push(ctx, order, phone)


@_needs_order(PushStatus)
async def _show_status(ctx: ChatContext, order: Order) -> Reply:
    latest = await ctx.session.scalar(
        select(Payment)
        .where(Payment.tenant_id == ctx.tenant.id, Payment.order_id == order.id, Payment.provider == NAME)
        .order_by(Payment.id.desc())
        .limit(1)
    )
    if latest is None:
        return _not_payable(ctx, order) if order.status != OrderStatus.AWAITING_PAYMENT else _propose(ctx, order)
    return Reply([await _status(ctx, order, latest, edit=True)])


@_needs_order(Paybill)
async def _paybill(ctx: ChatContext, order: Order) -> Reply:
    if order.status != OrderStatus.AWAITING_PAYMENT:
        return _not_payable(ctx, order)
    business = await messages.paybill_number(ctx.session, ctx.tenant.id, ctx.tenant.test_mode)
    if business is None:
        other = keyboard([Button(ctx.t("mpesa.button.other_method"), data=ChooseMethod(order.id).pack())])
        return Reply([Message(ctx.t("mpesa.paybill_unavailable"), other)])
    if not INFO.takes(_money(order)):
        return Reply([Message(ctx.t("mpesa.unavailable", code=order.code))])
    # An open M-Pesa attempt (a push, or an earlier Paybill wait) is what a Paybill payment will be matched to;
    # another method's open attempt (a Paystack link) is superseded: the customer chose to pay by Paybill.
    current = await open_attempt(ctx.session, order)
    if (current is None or current.provider != NAME) and await supersede_open(ctx.session, order, ctx.clock) is None:
        # An attempt to wait on: it expires like any other, and a payment arriving later is still matched and paid.
        # None: a concurrent start opened one, which the payment will be matched to instead.
        now = ctx.clock.now()
        await open_payment(
            ctx.session,
            order,
            NAME,
            PaymentStatus.PENDING,
            now,
            expires_at=now + timedelta(minutes=ctx.tenant.payment_timeout_minutes),
        )
    ctx.go("idle")
    message = messages.paybill_instructions(ctx.lang, business, order.code, _money(order))
    status = keyboard([Button(ctx.t("mpesa.button.status"), data=PushStatus(order.id).pack())])
    return Reply([Message(message.text, status)])


STEP = ChatStep(begin=begin, questions=frozenset({STEP_PHONE}), on_input=on_input, buttons=BUTTONS)
