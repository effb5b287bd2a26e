"""Paying with Flutterwave in the chat: its chat step (:class:`payments.chat.ChatStep`), driven by ``flows.payment``.

It asks nothing: an amount Flutterwave does not take is explained with a way back to the other methods; otherwise it
opens the attempt and its start job, and the hosted link takes the place of "preparing your link…" once Flutterwave
answered. Asking again replaces the earlier link (``flutterwave.why.replaced``)."""

from __future__ import annotations

from core.buttons import ChooseMethod
from core.db.tables import Order, ProviderConfig
from core.messages import Button, Message, keyboard
from core.money import Money
from payments.attempts import is_push, open_attempt
from payments.chat import ChatContext, ChatStep, Reply, start_online_payment
from payments.flutterwave import INFO


async def begin(ctx: ChatContext, order: Order, config: ProviderConfig) -> Reply:
    amount = Money(order.total_minor, order.currency)
    refusal = INFO.refusal(amount)
    if refusal is not None:  # the menu offered it: say why it cannot take this amount, and offer the others
        limits = INFO.limits(amount.currency)
        low = Money(limits.minimum_minor, amount.currency).format(ctx.lang) if limits else ""
        high = Money(limits.maximum_minor, amount.currency).format(ctx.lang) if limits else ""
        body = ctx.t(
            f"flutterwave.refused.{refusal}", code=order.code, amount=amount.format(ctx.lang), low=low, high=high
        )
        other = Button(ctx.t("flutterwave.button_other_method"), data=ChooseMethod(order.id).pack())
        return Reply([Message(body, keyboard([other]))])
    current = await open_attempt(ctx.session, order)
    if current is not None and is_push(current):  # its prompt may be on the phone: paying twice is one tap away
        return Reply([Message(ctx.t("jobs.push_open", code=order.code))], refused=True)
    sending = Message(ctx.t("jobs.flutterwave.sending", amount=amount.format(ctx.lang), code=order.code))
    payment = await start_online_payment(ctx, order, INFO.name, sending)
    if payment is None:  # a concurrent start opened one a moment ago
        return Reply([Message(ctx.t("jobs.attempt_open", code=order.code))], refused=True)
    return Reply(start_payment=payment.id)


STEP = ChatStep(begin=begin)
