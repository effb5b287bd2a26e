"""Paying with PayPal in the chat: PayPal's chat step (:class:`payments.chat.ChatStep`), driven by ``flows.payment``.

It asks nothing: it opens the attempt and its start job, and the approve link takes the place of "preparing…". A
shop selling in a currency PayPal does not take charges the converted amount it set (``charged``): the customer
reads both amounts before and after the start. Asking again replaces the earlier link (``paypal.why.replaced``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.buttons import ChooseMethod
from core.db.tables import Order, ProviderConfig
from core.messages import Button, Message, keyboard
from core.money import Money
from payments.chat import ChatContext, ChatStep, Reply, start_online_payment
from payments.paypal import INFO
from payments.paypal.conversion import charged, conversion_of


async def begin(ctx: ChatContext, order: Order, config: ProviderConfig) -> Reply:
    total = Money(order.total_minor, order.currency)
    options: Mapping[str, Any] = config.options or {}
    charge = charged(options, total)
    amount = charge or total
    if INFO.refusal(amount) is not None:  # an old button, or settings changed since the menu was sent
        other = Button(ctx.t("paypal.button_other_method"), data=ChooseMethod(order.id).pack())
        body = ctx.t("paypal.not_payable", code=order.code, amount=total.format(ctx.lang), currency=order.currency)
        return Reply([Message(body, keyboard([other]))])
    if charge is not None:
        conversion = conversion_of(options)
        rate = conversion.describe(total.currency) if conversion else ""
        words = ctx.t(
            "jobs.paypal.sending_converted",
            amount=charge.format(ctx.lang),
            total=total.format(ctx.lang),
            rate=rate,
            code=order.code,
        )
    else:
        words = ctx.t("jobs.paypal.sending", amount=total.format(ctx.lang), code=order.code)
    payment = await start_online_payment(ctx, order, INFO.name, Message(words), charge=charge)
    if payment is None:  # a concurrent start opened one a moment ago
        return Reply([Message(ctx.t("jobs.attempt_open", code=order.code))], refused=True)
    return Reply(start_payment=payment.id)


STEP = ChatStep(begin=begin, charged=charged)
