"""LinkPay in the chat: "Pay by link" opens an attempt and its start job; the link replaces "preparing…" once
LinkPay answered. It asks nothing first. Its own button (:class:`LinkStatus`, on the started message) says where the
order's payment stands."""

from __future__ import annotations

from core.buttons import ChooseMethod
from core.db.repos.orders import OrderRepository, PaymentRepository
from core.db.tables import Order, ProviderConfig
from core.messages import Button, Message, keyboard
from core.money import Money
from payments.chat import ChatContext, ChatStep, Reply, start_online_payment
from tests.contract.linkpay import INFO
from tests.contract.linkpay.buttons import LinkStatus


async def begin(ctx: ChatContext, order: Order, config: ProviderConfig) -> Reply:
    amount = Money(order.total_minor, order.currency)
    if not INFO.takes(amount):  # the menu offers it for any amount in its currency: say why not here
        other = Button(ctx.t("linkpay.button_other_method"), data=ChooseMethod(order.id).pack())
        return Reply([Message(ctx.t("linkpay.not_taken", code=order.code, amount=amount.format()), keyboard([other]))])
    sending = Message(ctx.t("jobs.linkpay.sending", amount=amount.format(), code=order.code))
    payment = await start_online_payment(ctx, order, INFO.name, sending)
    if payment is None:  # an open attempt the order keeps, or one a concurrent start opened a moment ago
        return Reply([Message(ctx.t("jobs.attempt_open", code=order.code))], refused=True)
    return Reply(start_payment=payment.id)


async def status(ctx: ChatContext, button: LinkStatus) -> Reply:
    order = await OrderRepository(ctx.session).by_id(ctx.tenant.id, button.order_id)
    if order is None or order.customer_id != ctx.customer.id:
        return Reply(notice=ctx.t("error.stale_button"))
    payment = await PaymentRepository(ctx.session).latest_for_order(ctx.tenant.id, order.id)
    state = payment.status if payment is not None and payment.provider == INFO.name else "none"
    return Reply([Message(ctx.t("linkpay.status", code=order.code, status=state))])


STEP = ChatStep(begin=begin, buttons={LinkStatus: status})
