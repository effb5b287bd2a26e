"""What PayPal sends us, handled without any web framework: webhooks, and the buyer's return from PayPal.

Webhook answers: 404 for a shop that does not take PayPal; 401 when the transmission headers are missing or PayPal's
verify-webhook-signature does not answer SUCCESS; 400 for a body that cannot be read; 503 when PayPal cannot be asked
(to verify, capture or show the order: it delivers again later); 200 for everything else, duplicates and events we do
not act on included (recorded). An order's event is believed only through PayPal's GET of the order (``settle``),
and is idempotent on the capture's id, so the webhook, the return page and the reconciler report one payment once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from core.clock import Clock
from core.db.engine import Database
from core.db.repos.orders import PaymentRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Payment, Tenant
from payments import refunds
from payments.base import Callback, InvalidCallback, ProviderError, ProviderEvent
from payments.inbound import InboundContext
from payments.paypal.client import PayPalClient
from payments.paypal.provider import NAME, PayPalProvider, refund_next_check, refund_result
from payments.paypal.wire import (
    CAPTURE_EVENTS,
    ORDER_EVENTS,
    REFUND_EVENTS,
    WebhookEvent,
    order_id_of,
    parse_refund,
    reference_of,
)
from payments.registry import ProviderRegistry
from payments.return_page import ReturnAction, ReturnVisit
from payments.service import EventResult, apply_event
from payments.states import PaymentStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    outcome: str  # for metrics and logs: applied, duplicate, recorded, refused, ...
    changed: bool = False


async def _shop(database: Database, registry: ProviderRegistry, slug: str) -> tuple[Tenant, PayPalProvider] | None:
    async with database.uow() as uow:
        tenant = await TenantRepository(uow.session).by_slug(slug)
        provider = await registry.for_tenant(uow.session, tenant, NAME) if tenant is not None else None
    if tenant is None or not isinstance(provider, PayPalProvider):
        return None
    return tenant, provider


async def handle_webhook(
    database: Database, registry: ProviderRegistry, clock: Clock, slug: str, request: Callback
) -> Answer:
    found = await _shop(database, registry, slug)
    if found is None:
        return Answer(404, "unknown_shop")
    tenant, provider = found
    try:
        event, fields = provider.read_webhook(request)
    except InvalidCallback as error:
        log.warning("paypal webhook for %s refused: %s", slug, error.reason)
        return Answer(error.status, "refused" if error.status == 401 else "malformed")
    try:
        account = await provider.verify(event, fields)
    except ProviderError as error:
        log.warning("paypal webhook for %s: verification not answered (%s)", slug, error.code)
        return Answer(503, "verify_unavailable")
    if account is None:
        log.warning("paypal webhook for %s: PayPal did not verify its signature", slug)
        return Answer(401, "refused")
    try:
        if event.event_type in ORDER_EVENTS or event.event_type in CAPTURE_EVENTS:
            return await _order_event(database, clock, tenant, provider, account.client, event)
        if event.event_type in REFUND_EVENTS:
            return await _refund_event(database, clock, tenant, account.client, event)
    except ProviderError as error:
        log.warning("paypal webhook %s for %s: PayPal not answered (%s)", event.id, slug, error.code)
        return Answer(503, "provider_unavailable")
    return await _record(database, clock, tenant, None, f"webhook:{event.id}", "unhandled", event)


async def _record(
    database: Database,
    clock: Clock,
    tenant: Tenant,
    payment_id: int | None,
    key: str,
    outcome: str,
    event: WebhookEvent,
) -> Answer:
    async with database.uow() as uow:
        fresh = await refunds.record_fact(
            uow.session,
            NAME,
            tenant.id,
            payment_id,
            key,
            outcome,
            f"event {event.event_type[:60]} moves nothing",
            dict(event.raw),
            clock.now(),
        )
        await uow.commit()
    return Answer(200, "recorded" if fresh else "duplicate")


async def _payment_of(database: Database, tenant: Tenant, reference: str | None, order_id: str) -> Payment | None:
    """The shop's PayPal payment the webhook names: by our reference (a start whose answer was lost has no order id
    yet), else by the order id kept at the start."""
    where = Payment.reference == reference if reference else Payment.provider_ref == order_id
    async with database.uow() as uow:
        return await uow.session.scalar(
            select(Payment).where(Payment.tenant_id == tenant.id, Payment.provider == NAME, where)
        )


async def apply(database: Database, clock: Clock, tenant: Tenant, event: ProviderEvent) -> Answer:
    async with database.uow() as uow:
        applied = await apply_event(uow.session, tenant.id, event, clock)
        await uow.commit()
    return Answer(200, applied.result.value, changed=applied.result is not EventResult.DUPLICATE)


async def _order_event(
    database: Database,
    clock: Clock,
    tenant: Tenant,
    provider: PayPalProvider,
    client: PayPalClient,
    event: WebhookEvent,
) -> Answer:
    order_id = order_id_of(event)
    payment = await _payment_of(database, tenant, reference_of(event), order_id) if order_id else None
    if order_id is None or payment is None:  # not an order of this shop's: kept, never captured
        return await _record(database, clock, tenant, None, f"webhook:{event.id}", "unmatched", event)
    settled = await provider.settle(order_id, payment.reference, client)
    if settled is None:  # nothing decided yet (a capture still pending): PayPal tells again when it is
        return await _record(database, clock, tenant, payment.id, f"webhook:{event.id}", "recorded", event)
    return await apply(database, clock, tenant, settled)


async def _refund_event(
    database: Database, clock: Clock, tenant: Tenant, client: PayPalClient, event: WebhookEvent
) -> Answer:
    try:
        told = parse_refund(event.resource, "webhook.resource")
    except InvalidCallback:
        return await _record(database, clock, tenant, None, f"webhook:{event.id}", "unhandled", event)
    fetched = await client.show_refund(told.id)  # the refund as PayPal holds it, not as the delivery says
    async with database.uow() as uow:
        payment = None
        if fetched.reference:
            payment = await PaymentRepository(uow.session).by_reference(fetched.reference)
        if payment is None and fetched.capture_id:
            payment = await uow.session.scalar(
                select(Payment).where(
                    Payment.tenant_id == tenant.id,
                    Payment.provider == NAME,
                    Payment.provider_txn_id == fetched.capture_id,
                )
            )
        if payment is None or payment.tenant_id != tenant.id:
            fresh = await refunds.record_fact(
                uow.session,
                NAME,
                tenant.id,
                None,
                f"refund:{fetched.id}",
                "refund",
                "unmatched",
                dict(event.raw),
                clock.now(),
            )
            await uow.commit()
            return Answer(200, "unmatched" if fresh else "duplicate")
        result = refund_result(fetched, payment.reference, None)
        applied = await refunds.apply_refund_result(
            uow.session, tenant, payment, result, clock, first_check=refund_next_check(0)
        )
        await uow.commit()
    if applied.duplicate:
        return Answer(200, "duplicate")
    return Answer(200, "applied" if applied.moved else "recorded", changed=True)


# --- the buyer's return from PayPal -------------------------------------------------------------------------


async def on_return(context: InboundContext, visit: ReturnVisit) -> ReturnAction:
    """Back from an approval (PayPal adds ``token``, its order id), the order is captured and settled here as the
    webhook would, so the chat has its receipt by the time the buyer is there; back from a cancel
    (``cancelled=1``), nothing changes: the attempt stays open until it expires or the customer pays again."""
    payment = visit.payment
    if visit.query.get("cancelled") == "1":
        still_open = payment.status in (PaymentStatus.PENDING, PaymentStatus.CREATED)
        return ReturnAction(state="cancelled" if still_open else None)
    order_id = (visit.query.get("token") or "")[:64]
    if payment.status != PaymentStatus.PENDING or not payment.provider_ref or payment.provider_ref != order_id:
        return ReturnAction()
    found = await _shop(context.database, context.registry, visit.tenant.slug)
    if found is None:
        return ReturnAction()
    try:
        settled = await found[1].settle(order_id, payment.reference)
    except ProviderError as error:
        log.warning("paypal return for %s: PayPal not answered (%s)", payment.reference, error.code)
        return ReturnAction()
    if settled is None:
        return ReturnAction()
    return ReturnAction(changed=(await apply(context.database, context.clock, visit.tenant, settled)).changed)
