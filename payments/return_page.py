"""The page a customer lands on back from a provider's hosted checkout: what became of the payment, in the
customer's language, and the way back to the chat. It changes nothing but one thing: a payment still pending is
checked now rather than at its next scheduled check (its provider may already know). A provider's route calls
:func:`hosted_return` with the query parameters that may carry our reference (the first present wins); its words
are its own texts, ``<provider>.return.title.<state>``, ``.body.<state>``, ``.back``, ``.back_plain`` and ``.test``."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import update

from core.db.repos.customers import CustomerRepository
from core.db.repos.orders import OrderRepository, PaymentRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Payment
from core.money import Money
from core.texts import text
from payments.inbound import InboundContext, InboundRequest, InboundResponse
from payments.states import PaymentStatus

_ICONS = {"paid": "✅", "confirming": "⏳", "failed": "❌", "review": "🔎", "refunded": "↩️", "unknown": "❔"}
PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}

_STATES = {
    PaymentStatus.PAID: "paid",
    PaymentStatus.PARTIALLY_REFUNDED: "paid",
    PaymentStatus.PENDING: "confirming",
    PaymentStatus.CREATED: "confirming",
    PaymentStatus.FAILED: "failed",
    PaymentStatus.CANCELLED: "failed",
    PaymentStatus.EXPIRED: "failed",
    PaymentStatus.NEEDS_REVIEW: "review",
    PaymentStatus.REFUNDED: "refunded",
}


@cache
def _templates() -> Environment:
    return Environment(loader=PackageLoader("payments", "templates"), autoescape=select_autoescape(default=True))


async def hosted_return(
    context: InboundContext, request: InboundRequest, *, provider: str, reference_params: tuple[str, ...]
) -> InboundResponse:
    """The return page of ``provider``'s payment named by the first of ``?<reference_params>=`` given; 404 for a
    shop or payment it does not know (a reference of another shop or provider is not known here)."""
    reference = next((request.query[name] for name in reference_params if request.query.get(name)), "")[:64]
    async with context.database.uow() as uow:
        tenant = await TenantRepository(uow.session).by_slug(request.path_params["tenant"])
        if tenant is None:
            return InboundResponse(404, text="unknown shop")
        payment = await PaymentRepository(uow.session).by_reference(reference) if reference else None
        values = {"shop": tenant.name, "code": "", "amount": ""}
        language, state = "en", "unknown"
        if payment is not None and payment.tenant_id == tenant.id and payment.provider == provider:
            order = await OrderRepository(uow.session).by_id(tenant.id, payment.order_id)
            customer = await CustomerRepository(uow.session).by_id(tenant.id, order.customer_id) if order else None
            language = customer.language if customer else "en"
            state = _STATES.get(PaymentStatus(payment.status), "unknown")
            values.update(
                code=order.code if order else "", amount=Money(payment.amount_minor, payment.currency).format()
            )
            if payment.status == PaymentStatus.PENDING:
                await uow.session.execute(
                    update(Payment)
                    .where(
                        Payment.id == payment.id,
                        Payment.status == PaymentStatus.PENDING.value,
                        # a check already due sooner stays where it is
                        Payment.next_check_at.is_(None) | (Payment.next_check_at > context.clock.now()),
                    )
                    .values(next_check_at=context.clock.now())
                    .execution_options(synchronize_session=False)
                )
                await uow.commit()
        bot_url = f"https://t.me/{tenant.bot_username}" if tenant.bot_username else None
        test = tenant.test_mode or (payment is not None and payment.is_test)
    html = (
        _templates()
        .get_template("hosted_return.html")
        .render(
            language=language,
            state=state,
            icon=_ICONS[state],
            title=text(f"{provider}.return.title.{state}", language),
            body=text(f"{provider}.return.body.{state}", language, **values),
            shop=values["shop"],
            bot_url=bot_url,
            back=text(f"{provider}.return.back" if bot_url else f"{provider}.return.back_plain", language, **values),
            test=test,
            test_banner=text(f"{provider}.return.test", language),
        )
    )
    return InboundResponse(404 if state == "unknown" else 200, html=html, headers=PAGE_HEADERS)
