"""The page a customer lands on back from a provider's hosted checkout: what became of the payment, in the
customer's language, and the way back to the chat. It changes nothing but one thing: a payment still pending is
checked now rather than at its next scheduled check (its provider may already know). A provider's route calls
:func:`hosted_return` with the query parameters that may carry our reference (the first present wins). Its words are
the catalog's ``return.title.<state>``, ``.body.<state>``, ``.back``, ``.back_plain`` and ``.test`` (with the
provider's name as ``{provider}``); a provider may say one its own way as ``<provider>.return.<same>``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import update

from core.db.repos.customers import CustomerRepository
from core.db.repos.orders import OrderRepository, PaymentRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Payment, Tenant
from core.money import Money
from core.texts import has, text
from payments.inbound import InboundContext, InboundRequest, InboundResponse
from payments.info import ProviderInfo
from payments.states import PaymentStatus

_ICONS = {
    "paid": "✅",
    "confirming": "⏳",
    "failed": "❌",
    "review": "🔎",
    "refunded": "↩️",
    "cancelled": "↩️",
    "unknown": "❔",
}
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


@dataclass(frozen=True, slots=True)
class ReturnVisit:
    """A customer back on the return page of a payment the shop and provider know."""

    tenant: Tenant
    payment: Payment  # as read when the page was asked for
    query: Mapping[str, str]  # what the provider added to the return address


@dataclass(frozen=True, slots=True)
class ReturnAction:
    """What a provider's :data:`ReturnHook` did: ``state`` shows instead of the payment's own (PayPal's
    "cancelled"), ``changed`` says the payment moved (it is read again before the page is drawn)."""

    state: str | None = None
    changed: bool = False


# Runs outside any transaction, so it may call the provider (PayPal captures an approved order here).
ReturnHook = Callable[[InboundContext, ReturnVisit], Awaitable[ReturnAction]]


@dataclass(slots=True)
class _Page:
    tenant: Tenant
    payment: Payment | None = None  # only a payment of this shop and provider
    state: str = "unknown"
    language: str = "en"
    code: str = ""
    amount: str = ""


async def hosted_return(
    context: InboundContext,
    request: InboundRequest,
    *,
    provider: ProviderInfo,
    reference_params: tuple[str, ...],
    on_return: ReturnHook | None = None,
) -> InboundResponse:
    """The return page of ``provider``'s payment named by the first of ``?<reference_params>=`` given; 404 for a
    shop or payment it does not know (a reference of another shop or provider is not known here). ``on_return``
    is the provider's own step for a known payment, before the page is drawn."""
    reference = next((request.query[name] for name in reference_params if request.query.get(name)), "")[:64]
    page = await _read(context, request.path_params["tenant"], reference, provider.name)
    if page is None:
        return InboundResponse(404, text="unknown shop")
    action = ReturnAction()
    if on_return is not None and page.payment is not None:
        action = await on_return(context, ReturnVisit(page.tenant, page.payment, request.query))
        if action.changed:
            page = await _read(context, page.tenant.slug, reference, provider.name) or page
    state = action.state or page.state
    tenant, language = page.tenant, page.language
    values = {"shop": tenant.name, "code": page.code, "amount": page.amount}
    values["provider"] = text(provider.display_key, language)

    def words(part: str) -> str:
        own = f"{provider.name}.return.{part}"
        return text(own if has(own) else f"return.{part}", language, **values)

    bot_url = f"https://t.me/{tenant.bot_username}" if tenant.bot_username else None
    html = (
        _templates()
        .get_template("hosted_return.html")
        .render(
            language=language,
            state=state,
            icon=_ICONS.get(state, _ICONS["unknown"]),
            title=words(f"title.{state}"),
            body=words(f"body.{state}"),
            shop=tenant.name,
            bot_url=bot_url,
            back=words("back" if bot_url else "back_plain"),
            test=tenant.test_mode or (page.payment is not None and page.payment.is_test),
            test_banner=words("test"),
        )
    )
    status = 404 if state == "unknown" else 200
    return InboundResponse(status, html=html, headers=PAGE_HEADERS, changed=action.changed)


async def _read(context: InboundContext, slug: str, reference: str, provider: str) -> _Page | None:
    """The shop ``slug`` and its payment ``reference`` of ``provider``, with the order and the customer's language;
    a pending payment is brought forward in the reconciler's queue. None when there is no such shop."""
    async with context.database.uow() as uow:
        tenant = await TenantRepository(uow.session).by_slug(slug)
        if tenant is None:
            return None
        payment = await PaymentRepository(uow.session).by_reference(reference) if reference else None
        if payment is None or payment.tenant_id != tenant.id or payment.provider != provider:
            return _Page(tenant)
        order = await OrderRepository(uow.session).by_id(tenant.id, payment.order_id)
        customer = await CustomerRepository(uow.session).by_id(tenant.id, order.customer_id) if order else None
        page = _Page(
            tenant,
            payment,
            state=_STATES.get(PaymentStatus(payment.status), "unknown"),
            language=customer.language if customer else "en",
            code=order.code if order else "",
            amount=Money(payment.amount_minor, payment.currency).format(),
        )
        if payment.status == PaymentStatus.PENDING:
            now = context.clock.now()
            await uow.session.execute(
                update(Payment)
                .where(
                    Payment.id == payment.id,
                    Payment.status == PaymentStatus.PENDING.value,
                    # a check already due stays where it is
                    Payment.next_check_at.is_(None) | (Payment.next_check_at > now),
                )
                .values(next_check_at=now)
                .execution_options(synchronize_session=False)
            )
            await uow.commit()
        return page
