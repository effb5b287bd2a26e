"""Paying through a hosted link in the chat: the chat step (:class:`payments.chat.ChatStep`, driven by
``flows.payment``) of a provider whose customer only follows a link to the provider's page.

It asks nothing: an amount the provider does not take is explained (``<provider>.refused.<why>``) with a way back to
the other methods (``<provider>.button_other_method``); otherwise it opens the attempt and its start job, and the link
takes the place of "preparing…" (``jobs.<provider>.sending``) once the provider answered. A push still open on the
customer's phone is not replaced; asking again otherwise replaces the earlier link (``<provider>.why.replaced``)."""

from __future__ import annotations

from core.buttons import ChooseMethod
from core.db.tables import Order, ProviderConfig
from core.messages import Button, Message, keyboard
from core.money import Money
from payments.attempts import is_push, open_attempt
from payments.chat import ChatContext, ChatStep, Reply, start_online_payment
from payments.info import ProviderInfo


def link_step(info: ProviderInfo) -> ChatStep:
    name = info.name

    async def begin(ctx: ChatContext, order: Order, config: ProviderConfig) -> Reply:
        amount = Money(order.total_minor, order.currency)
        refusal = info.refusal(amount)
        if refusal is not None:  # the menu offered it: say why it cannot take this amount, and offer the others
            limits = info.limits(amount.currency)
            low = Money(limits.minimum_minor, amount.currency).format(ctx.lang) if limits else ""
            high = Money(limits.maximum_minor, amount.currency).format(ctx.lang) if limits else ""
            words = {"code": order.code, "amount": amount.format(ctx.lang), "low": low, "high": high}
            body = ctx.t(f"{name}.refused.{refusal}", **words)
            other = Button(ctx.t(f"{name}.button_other_method"), data=ChooseMethod(order.id).pack())
            return Reply([Message(body, keyboard([other]))])
        current = await open_attempt(ctx.session, order)
        if current is not None and is_push(current):  # its prompt may be on the phone: paying twice is one tap away
            return Reply([Message(ctx.t("jobs.push_open", code=order.code))], refused=True)
        sending = Message(ctx.t(f"jobs.{name}.sending", amount=amount.format(ctx.lang), code=order.code))
        payment = await start_online_payment(ctx, order, name, sending)
        if payment is None:  # a concurrent start opened one a moment ago
            return Reply([Message(ctx.t("jobs.attempt_open", code=order.code))], refused=True)
        return Reply(start_payment=payment.id)

    return ChatStep(begin=begin)
