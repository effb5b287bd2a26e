"""Paying with FeexPay in the chat: its chat step (:class:`payments.chat.ChatStep`), driven by ``flows.payment``.

1. The customer chooses FeexPay: an amount FeexPay does not take (not XOF, under its minimum) is explained with a way
   back to the other methods. Otherwise the bot proposes the order's phone, when it is a mobile number of one of
   FeexPay's countries, on the network its prefix says (``networks.py``), with one button per other network of that
   country (a ported number, a Wave wallet) and one to type another number.
2. A press opens the attempt and its start job with the chosen network (``StartRequest.choices``): the customer
   reads "sending…" at once, and FeexPay's answer ("approve on your phone") takes its place.
3. Asking again while a request is open says so: a request on a phone is never replaced (a second one could be
   approved too)."""

from __future__ import annotations

from core.buttons import ChooseMethod
from core.callbacks import CallbackData
from core.db.repos.orders import OrderRepository
from core.db.tables import Order, ProviderConfig
from core.messages import Button, Message, keyboard
from core.money import Money
from core.phones import PhoneError, display, parse_mobile
from payments.attempts import is_push, open_attempt
from payments.chat import Answer, ButtonHandler, ChatContext, ChatStep, Reply, start_online_payment
from payments.feexpay import INFO
from payments.feexpay.buttons import OtherNumber, SendRequest
from payments.feexpay.networks import BY_CODE, COUNTRIES, of_country
from payments.feexpay.provider import network_for
from payments.states import OrderStatus

STEP_PHONE = "feexpay.phone"


def _money(order: Order) -> Money:
    return Money(order.total_minor, order.currency)


def _phone(typed: str | None, region: str) -> str | None:
    """The number in E.164 when it is a mobile of one of FeexPay's countries."""
    if not typed:
        return None
    try:
        phone = parse_mobile(typed, region if region in COUNTRIES else "BJ")
    except PhoneError:
        return None
    return phone.e164 if phone.region in COUNTRIES else None


def _refused(ctx: ChatContext, order: Order) -> Reply | None:
    """Why FeexPay cannot take the order's amount, with a way back to the other methods; None when it can."""
    amount = _money(order)
    refusal = INFO.refusal(amount)
    if refusal is None:
        return None
    limits = INFO.limits(amount.currency)
    low = Money(limits.minimum_minor, amount.currency).format(ctx.lang) if limits else ""
    high = Money(limits.maximum_minor, amount.currency).format(ctx.lang) if limits else ""
    body = ctx.t(f"feexpay.refused.{refusal}", code=order.code, amount=amount.format(ctx.lang), low=low, high=high)
    other = Button(ctx.t("feexpay.button.other_method"), data=ChooseMethod(order.id).pack())
    return Reply([Message(body, keyboard([other]))])


def _known_phone(ctx: ChatContext, order: Order) -> str | None:
    return _phone(ctx.customer.phone, ctx.tenant.region) or _phone(order.contact_phone, ctx.tenant.region)


async def begin(ctx: ChatContext, order: Order, config: ProviderConfig) -> Reply:
    return _refused(ctx, order) or await _propose(ctx, order, _known_phone(ctx, order))


async def _still_open(ctx: ChatContext, order: Order) -> Reply | None:
    current = await open_attempt(ctx.session, order)
    if current is not None and is_push(current):  # its prompt may be on the phone: paying twice is one tap away
        return Reply(notice=ctx.t("jobs.push_open", code=order.code), refused=True)
    return None


async def _propose(ctx: ChatContext, order: Order, e164: str | None) -> Reply:
    waiting = await _still_open(ctx, order)
    if waiting is not None:
        return Reply([Message(waiting.notice or "")], refused=True)
    lead = ctx.t("feexpay.test_mode") + "\n" if ctx.tenant.test_mode else ""
    other = [Button(ctx.t("feexpay.button.other_method"), data=ChooseMethod(order.id).pack())]
    if e164 is None:
        ctx.go(STEP_PHONE, order_id=order.id)
        return Reply([Message(lead + ctx.t("feexpay.ask_phone"), keyboard(other))])
    ctx.go("idle")
    guessed = network_for(e164, None)
    region = parse_mobile(e164, "BJ").region
    shown = display(e164)
    rows: list[list[Button]] = []
    if guessed is not None:
        label = ctx.t("feexpay.button.send_to", phone=shown, network=guessed.label)
        rows.append([Button(label, data=SendRequest(order.id, guessed.code).pack())])
    for network in of_country(region):
        if network is not guessed:
            label = ctx.t("feexpay.button.send_on", network=network.label)
            rows.append([Button(label, data=SendRequest(order.id, network.code).pack())])
    rows.append([Button(ctx.t("feexpay.button.other_number"), data=OtherNumber(order.id).pack())])
    rows.append(other)
    amount = _money(order).format(ctx.lang)
    if guessed is None:
        body = ctx.t("feexpay.choose_network", amount=amount, code=order.code, phone=shown)
    else:
        body = ctx.t("feexpay.confirm_phone", amount=amount, code=order.code, phone=shown, network=guessed.label)
    ctx.customer.phone = e164  # the start sends the request to the customer's phone: this one
    return Reply([Message(lead + body, keyboard(*rows))])


async def on_input(ctx: ChatContext, answer: Answer) -> Reply | None:
    typed = answer.phone or answer.text
    if ctx.conversation.step != STEP_PHONE or typed is None:
        return None
    e164 = _phone(typed, ctx.tenant.region)
    if e164 is None:
        return Reply([Message(ctx.t("feexpay.phone_invalid", phone=typed.strip()[:20]))], refused=True)
    order = await _order(ctx, int(ctx.recall("order_id", 0)))
    if order is None:
        ctx.go("idle")
        return Reply([Message(ctx.t("error.stale_button"))])
    if order.status != OrderStatus.AWAITING_PAYMENT:
        ctx.go("idle")
        return _not_payable(ctx, order)
    return await _propose(ctx, order, e164)


async def _order(ctx: ChatContext, order_id: int) -> Order | None:
    order = await OrderRepository(ctx.session).by_id(ctx.tenant.id, order_id)
    if order is None or order.customer_id != ctx.customer.id:
        return None
    return order


def _not_payable(ctx: ChatContext, order: Order) -> Reply:
    status = ctx.t(f"order.status.{order.status}")
    return Reply([Message(ctx.t("order.not_payable", code=order.code, status=status))])


async def _send(ctx: ChatContext, button: SendRequest) -> Reply:
    order = await _order(ctx, button.order_id)
    network = BY_CODE.get(button.network)
    if order is None or network is None:
        return Reply(notice=ctx.t("error.stale_button"))
    if order.status != OrderStatus.AWAITING_PAYMENT:
        return _not_payable(ctx, order)
    refused = _refused(ctx, order)
    if refused is not None:
        return refused
    waiting = await _still_open(ctx, order)
    if waiting is not None:
        return waiting
    e164 = _known_phone(ctx, order)
    if e164 is None or network_for(e164, network.code) is not network:  # the number changed since the buttons
        return await _propose(ctx, order, e164)
    shown = display(e164)
    amount = _money(order).format(ctx.lang)
    sending = Message(ctx.t("jobs.feexpay.sending", phone=shown, network=network.label, amount=amount, code=order.code))
    payment = await start_online_payment(ctx, order, INFO.name, sending, choices={"network": network.code})
    if payment is None:  # a concurrent press opened one a moment ago
        return Reply(notice=ctx.t("jobs.push_open", code=order.code), refused=True)
    payment.phone = e164
    ctx.customer.phone = e164
    return Reply(start_payment=payment.id)


async def _other_number(ctx: ChatContext, button: OtherNumber) -> Reply:
    order = await _order(ctx, button.order_id)
    if order is None:
        return Reply(notice=ctx.t("error.stale_button"))
    if order.status != OrderStatus.AWAITING_PAYMENT:
        return _not_payable(ctx, order)
    ctx.go(STEP_PHONE, order_id=order.id)
    return Reply([Message(ctx.t("feexpay.ask_phone"))])


BUTTONS: dict[type[CallbackData], ButtonHandler] = {SendRequest: _send, OtherNumber: _other_number}


STEP = ChatStep(begin=begin, questions=frozenset({STEP_PHONE}), on_input=on_input, buttons=BUTTONS)
