"""Stripe's routes: ``POST /pay/stripe/{tenant}`` (the signed webhook events) and ``GET /pay/stripe/{tenant}/return``
(the page Stripe's Checkout sends the customer's browser to, after paying or cancelling).

The webhook: 404 for a shop that does not take Stripe, 401 for a missing, bad or stale signature, 400 for a signed
body that cannot be read, all with nothing written; else the event's facts in one unit of work and 200, a
redelivery included (its key makes it a duplicate), so Stripe stops sending it. The return page never marks
anything paid: it says to go back to the chat, where the receipt arrives once Stripe's event is in."""

from __future__ import annotations

import html
import logging

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.repos.orders import PaymentRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from core.merchant_alerts import alert_merchant
from core.messages import Message
from core.texts import text
from payments import refunds
from payments.base import InvalidCallback, RefundResult
from payments.inbound import InboundContext, InboundRequest, InboundResponse, InboundRoute
from payments.return_page import PAGE_HEADERS, ReturnAction, ReturnVisit, hosted_return
from payments.service import apply_event
from payments.states import PaymentStatus
from payments.stripe import INFO
from payments.stripe.provider import StripeProvider
from payments.stripe.wire import Event, account_ready, named_tenant

log = logging.getLogger(__name__)
MAX_WEBHOOK_BYTES = 64 * 1024


async def webhook(context: InboundContext, request: InboundRequest) -> InboundResponse:
    return await _handle(context, request, request.path_params["tenant"])


async def platform_webhook(context: InboundContext, request: InboundRequest) -> InboundResponse:
    """The Connect platform's one endpoint, for every shop onboarded through it: the shop is the one the event's
    object names in its metadata (sessions, payments and accounts are made with it), and its secrets check the
    signature before anything is read further."""
    slug = named_tenant(request.body)
    if slug is None:
        return InboundResponse(404, json={"error": "no shop named"}, outcome="unknown_shop")
    return await _handle(context, request, slug)


async def _handle(context: InboundContext, request: InboundRequest, slug: str) -> InboundResponse:
    async with context.database.uow() as uow:
        tenant = await TenantRepository(uow.session).by_slug(slug)
        provider = await context.registry.for_tenant(uow.session, tenant, INFO.name) if tenant else None
        if tenant is None or not isinstance(provider, StripeProvider):
            return InboundResponse(404, json={"error": "unknown shop"}, outcome="unknown_shop")
        try:
            event = provider.read_webhook(request.callback())
            payment_event = provider.session_event(event)
            reports = provider.refund_reports(event)
        except InvalidCallback as error:
            log.warning("stripe webhook for %s refused: %s", slug, error.reason)
            return InboundResponse(error.status, json={"error": error.reason}, outcome="refused")
        outcomes = [await _refund(uow.session, tenant, provider, report, context.clock) for report in reports]
        if event.type == "account.updated":
            outcomes.append(await _account(uow.session, tenant, provider, event, context.clock))
        if payment_event is not None:
            applied = await apply_event(uow.session, tenant.id, payment_event, context.clock)
            outcomes.append(applied.result.value)
        await uow.commit()
    outcome = outcomes[0] if outcomes else "ignored"
    return InboundResponse(json={"received": True}, changed=any(o != "duplicate" for o in outcomes), outcome=outcome)


async def _refund(
    session: AsyncSession, tenant: Tenant, provider: StripeProvider, result: RefundResult, clock: Clock
) -> str:
    """A refund's report, applied as its answer and its fetch are (``payments.refunds.apply_refund_result``)."""
    payment = await PaymentRepository(session).by_reference(result.payment_reference or "")
    if payment is None or payment.tenant_id != tenant.id:
        fresh = await refunds.record_fact(
            session, INFO.name, tenant.id, None, result.event_key, "refund", "unmatched", dict(result.raw), clock.now()
        )
        return "unmatched" if fresh else "duplicate"
    applied = await refunds.apply_refund_result(
        session, tenant, payment, result, clock, first_check=provider.refund_next_check(0)
    )
    return "duplicate" if applied.duplicate else "applied" if applied.moved else "recorded"


async def _account(session: AsyncSession, tenant: Tenant, provider: StripeProvider, event: Event, clock: Clock) -> str:
    """The shop's Express account can take payments: the merchant is told once (the message's key is the account's)."""
    ready = account_ready(event.object)
    if ready is None or ready[0] != provider.connected_account or not ready[1]:
        return "ignored"

    def alert(language: str) -> Message:
        return Message(text("stripe.connect.ready", language))

    await alert_merchant(session, tenant, f"stripe.connect.ready:{ready[0]}", alert, clock.now())
    return "applied"


def render_connect_return(shop: str, state: str, bot_username: str | None, language: str) -> str:
    """The merchant's page after Stripe's Express onboarding (done, or its link expired), and the way back."""
    title = html.escape(text(f"stripe.return.title.{state}", language))
    body = html.escape(text(f"stripe.return.body.{state}", language, shop=shop))
    link = ""
    if bot_username:
        back = html.escape(text("stripe.return.connect_back", language, shop=shop))
        link = f'<p><a href="https://t.me/{html.escape(bot_username)}">{back}</a></p>'
    return (
        f'<!doctype html><html lang="{html.escape(language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title></head><body><h1>{title}</h1><p>{body}</p>{link}</body></html>"
    )


async def _on_return(context: InboundContext, visit: ReturnVisit) -> ReturnAction:
    # Back through the cancel_url: the session is still open (the customer may pay again), so say "not made".
    still_open = visit.payment.status in (PaymentStatus.PENDING, PaymentStatus.CREATED)
    return ReturnAction(state="cancelled" if visit.query.get("state") == "cancel" and still_open else None)


async def return_page(context: InboundContext, request: InboundRequest) -> InboundResponse:
    """The customer back from Checkout (``?state=success|cancel&ref=<our reference>``): the shared page, saying
    what the payment's state is (never what the address claims); or the merchant back from onboarding."""
    state = request.query.get("state", "")
    if state not in ("connect_done", "connect_refresh"):
        return await hosted_return(context, request, provider=INFO, reference_params=("ref",), on_return=_on_return)
    async with context.database.uow() as uow:
        tenant = await TenantRepository(uow.session).by_slug(request.path_params["tenant"])
    if tenant is None:
        return InboundResponse(404, text="unknown shop")
    page = render_connect_return(tenant.name, state, tenant.bot_username, "en")
    return InboundResponse(html=page, headers=PAGE_HEADERS)


ROUTES = (
    InboundRoute("POST", "/pay/stripe/{tenant}", "webhook", webhook, max_body_bytes=MAX_WEBHOOK_BYTES),
    InboundRoute("GET", "/pay/stripe/{tenant}/return", "return_page", return_page),
    InboundRoute(
        "POST", "/pay/stripe/platform/events", "platform_webhook", platform_webhook, max_body_bytes=MAX_WEBHOOK_BYTES
    ),
)
