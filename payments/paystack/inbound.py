"""What Paystack sends us, handled without any web framework: signed webhooks, and the customer's return.

Webhook answers: 401 for a missing, forged or stale signature and 404 for a shop that does not take Paystack (nothing
changed either way); 400 for a signed body that cannot be read; 503 when Verify could not be asked (Paystack delivers
again later, for up to 72 hours); 200 for everything else, duplicates and events we do not act on included (those
are recorded). Every event is idempotent on its key within the tenant, so a redelivery changes nothing and sends
nothing, and another tenant's Paystack account reporting the same reference or event id blocks nothing here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from core.clock import Clock
from core.db.engine import Database
from core.db.repos.orders import PaymentRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Payment, PaymentEvent, Tenant
from payments.base import Callback, InvalidCallback, ProviderError
from payments.paystack import refunds
from payments.paystack.facts import unknown_event_key, webhook_facts
from payments.paystack.provider import NAME, PaystackProvider
from payments.paystack.wire import ChargeEvent, RefundEvent, UnknownEvent
from payments.registry import ProviderRegistry
from payments.service import EventResult, apply_event

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    outcome: str  # for metrics and logs: applied, duplicate, recorded, refused, ...
    changed: bool = False  # something was committed that may owe messages (wake the relay)


async def handle_webhook(
    database: Database, registry: ProviderRegistry, clock: Clock, slug: str, request: Callback
) -> Answer:
    async with database.uow() as uow:
        tenant = await TenantRepository(uow.session).by_slug(slug)
        provider = await registry.for_tenant(uow.session, tenant, NAME) if tenant is not None else None
    if tenant is None or not isinstance(provider, PaystackProvider):
        return Answer(404, "unknown_shop")
    try:
        event = provider.read_webhook(request)
    except InvalidCallback as error:
        log.warning("paystack webhook for %s refused: %s", slug, error.reason)
        return Answer(error.status, "refused" if error.status == 401 else "malformed")
    if isinstance(event, ChargeEvent):
        return await _charge(database, clock, tenant, provider, event)
    if isinstance(event, RefundEvent):
        return await _refund(database, clock, tenant, event)
    return await _unknown(database, clock, tenant, event)


async def _seen(database: Database, tenant: Tenant, key: str) -> bool:
    """Whether this tenant recorded the event: another tenant's account may report the same reference."""
    async with database.uow() as uow:
        found = await uow.session.scalar(
            select(PaymentEvent.id).where(
                PaymentEvent.tenant_id == tenant.id, PaymentEvent.provider == NAME, PaymentEvent.event_key == key
            )
        )
    return found is not None


async def _payment(database: Database, tenant: Tenant, reference: str) -> Payment | None:
    async with database.uow() as uow:
        payment = await PaymentRepository(uow.session).by_reference(reference)
    return payment if payment is not None and payment.tenant_id == tenant.id else None


async def _charge(
    database: Database, clock: Clock, tenant: Tenant, provider: PaystackProvider, event: ChargeEvent
) -> Answer:
    try:
        facts = webhook_facts(event)
    except InvalidCallback:
        return Answer(400, "malformed")
    assert facts is not None
    if await _seen(database, tenant, facts.event_key):
        return Answer(200, "duplicate")  # a redelivery: no second Verify
    if await _payment(database, tenant, facts.reference) is None:
        provider_event = provider.event(facts)  # not ours: recorded as unmatched, never verified
    else:
        try:
            provider_event = await provider.confirm(facts)
        except ProviderError as error:
            log.warning(
                "paystack verify of %s not answered (%s): Paystack will deliver again", facts.reference, error.code
            )
            return Answer(503, "verify_unavailable")
    async with database.uow() as uow:
        applied = await apply_event(uow.session, tenant.id, provider_event, clock)
        await uow.commit()
    return Answer(200, applied.result.value, changed=applied.result is not EventResult.DUPLICATE)


async def _refund(database: Database, clock: Clock, tenant: Tenant, event: RefundEvent) -> Answer:
    try:
        facts = webhook_facts(event)
    except InvalidCallback:
        return Answer(400, "malformed")
    assert facts is not None
    async with database.uow() as uow:
        payment = await PaymentRepository(uow.session).by_reference(facts.reference)
        if payment is None or payment.tenant_id != tenant.id:
            fresh = await refunds.record_fact(
                uow.session, tenant.id, None, facts.event_key, "refund", "unmatched", dict(event.raw), clock.now()
            )
            await uow.commit()
            return Answer(200, "unmatched" if fresh else "duplicate")
        applied = await refunds.apply_refund_facts(uow.session, tenant, payment, facts, clock)
        await uow.commit()
    if applied.duplicate:
        return Answer(200, "duplicate")
    return Answer(200, "applied" if applied.moved else "recorded", changed=True)


async def _unknown(database: Database, clock: Clock, tenant: Tenant, event: UnknownEvent) -> Answer:
    async with database.uow() as uow:
        fresh = await refunds.record_fact(
            uow.session,
            tenant.id,
            None,
            unknown_event_key(event),
            "unhandled",
            f"event {event.event[:60]} is not acted on",
            dict(event.raw),
            clock.now(),
        )
        await uow.commit()
    return Answer(200, "recorded" if fresh else "duplicate")
