"""Paying with Stripe in the chat: the button opens an attempt and its start job; the Checkout link takes the place
of "preparing your link…" once Stripe answered. It asks nothing first (Stripe's page asks for the card and, when
it needs one, the email). Asking again replaces the open link (``stripe.why.replaced``)."""

from __future__ import annotations

from core.buttons import ChooseMethod
from core.db.tables import Order, ProviderConfig
from core.messages import Button, Message, keyboard
from core.money import Money
from payments.chat import ChatContext, ChatStep, Reply, start_online_payment
from payments.stripe import INFO


async def begin(ctx: ChatContext, order: Order, config: ProviderConfig) -> Reply:
    amount = Money(order.total_minor, order.currency)
    if not INFO.takes(amount):  # the menu may offer it: say why not here, with a way back
        other = Button(ctx.t("stripe.button_other_method"), data=ChooseMethod(order.id).pack())
        return Reply(
            [Message(ctx.t("stripe.not_taken", code=order.code, amount=amount.format(ctx.lang)), keyboard([other]))]
        )
    sending = Message(ctx.t("jobs.stripe.sending", amount=amount.format(ctx.lang), code=order.code))
    payment = await start_online_payment(ctx, order, INFO.name, sending)
    if payment is None:  # an open attempt the order keeps, or one a concurrent start opened a moment ago
        return Reply([Message(ctx.t("jobs.attempt_open", code=order.code))], refused=True)
    return Reply(start_payment=payment.id)


STEP = ChatStep(begin=begin)
