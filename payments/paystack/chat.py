"""Paying online with Paystack in the chat: Paystack's chat step (:class:`payments.chat.ChatStep`), driven by
``flows.payment``.

"Pay online" checks the amount against Paystack's limits (a clear message and another method when it does not fit),
asks for an email first when the shop wants real addresses (otherwise the provider uses a stable synthetic one), and
opens a new attempt (superseding an earlier open link) with its start job; the job worker calls Paystack after the
commit, and the checkout link takes the place of "preparing your link…" as a URL button. Asking again replaces the
earlier link (``paystack.why.replaced``): the customer did not choose another way to pay.
"""

from __future__ import annotations

import re

from core.buttons import ChooseMethod
from core.db.repos.orders import OrderRepository
from core.db.tables import Order, ProviderConfig
from core.messages import Button, Message, keyboard
from core.money import Money
from payments.attempts import is_push, open_attempt
from payments.chat import Answer, ChatContext, ChatStep, Reply, start_online_payment
from payments.paystack import INFO
from payments.paystack.limits import AmountNotAllowed, check_amount
from payments.paystack.options import asks_email
from payments.states import OrderStatus

EMAIL_STEP = "paystack.email"
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


async def begin(ctx: ChatContext, order: Order, config: ProviderConfig) -> Reply:
    amount = Money(order.total_minor, order.currency)
    try:
        check_amount(amount)
    except AmountNotAllowed as refused:
        limit = refused.limit.format(ctx.lang) if refused.limit is not None else ""
        body = ctx.t(
            f"paystack.{refused.code}",
            code=order.code,
            amount=amount.format(ctx.lang),
            limit=limit,
            currency=order.currency,
        )
        other = Button(ctx.t("paystack.button_other_method"), data=ChooseMethod(order.id).pack())
        return Reply([Message(body, keyboard([other]))])
    if asks_email(config.options or {}) and not ctx.customer.email:
        ctx.go(EMAIL_STEP, order_id=order.id)
        return Reply([Message(ctx.t("paystack.ask_email"))])
    return await _start(ctx, order)


async def _start(ctx: ChatContext, order: Order) -> Reply:
    current = await open_attempt(ctx.session, order)
    if current is not None and is_push(current):  # its prompt may be on the phone: paying twice is one tap away
        return Reply([Message(ctx.t("jobs.push_open", code=order.code))], refused=True)
    amount = Money(order.total_minor, order.currency).format(ctx.lang)
    sending = Message(ctx.t("jobs.paystack.sending", amount=amount, code=order.code))
    payment = await start_online_payment(ctx, order, INFO.name, sending)
    if payment is None:  # a concurrent start opened one a moment ago
        return Reply([Message(ctx.t("jobs.attempt_open", code=order.code))], refused=True)
    return Reply(start_payment=payment.id)


async def on_input(ctx: ChatContext, answer: Answer) -> Reply | None:
    if ctx.conversation.step != EMAIL_STEP or answer.text is None:
        return None
    typed = answer.text.strip()
    if not _EMAIL.match(typed) or len(typed) > 200:
        return Reply([Message(ctx.t("paystack.bad_email"))], refused=True)
    order = await OrderRepository(ctx.session).by_id(ctx.tenant.id, int(ctx.recall("order_id", 0)))
    ctx.go("idle")
    if order is None or order.customer_id != ctx.customer.id:
        return Reply([Message(ctx.t("error.stale_button"))])
    ctx.customer.email = typed
    if order.status != OrderStatus.AWAITING_PAYMENT:
        return Reply([Message(ctx.t("paystack.email_order_gone", code=order.code))])
    return await _start(ctx, order)


STEP = ChatStep(begin=begin, questions=frozenset({EMAIL_STEP}), on_input=on_input)
