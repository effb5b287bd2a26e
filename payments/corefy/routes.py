"""Corefy's routes: ``POST /pay/corefy/{tenant}`` (its callbacks) and ``GET /pay/corefy/{tenant}/return`` (the
customer's browser after the hosted payment page: ``?reference=…``, as the invoice's return URL carries it).

Callback answers: 404 for a shop that does not take Corefy and 401 for a missing or wrong ``X-Signature`` (nothing
read, nothing written); 400 for a body that cannot be read; 503 when the API could not be asked (Corefy delivers
again); 200 for everything else, a redelivery included (the event's key makes it a duplicate). An invoice's callback
is applied as the API tells the invoice now, never as the callback does: a late "processing" after "processed"
finds it processed, a duplicate. A refund's callback is likewise applied as the refund's fetch tells it. The return
page says where the payment stands and sends the customer back to the chat; it marks nothing paid (it only brings
the reconciler's next look forward)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping

from sqlalchemy import select

from core.clock import Clock
from core.db.engine import Database
from core.db.repos.orders import PaymentRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Payment, Refund, Tenant
from payments import refunds
from payments.base import InvalidCallback, ProviderError, ProviderEvent
from payments.corefy import INFO
from payments.corefy.provider import NAME, CorefyProvider, invoice_event, refund_next_check, refund_result
from payments.corefy.wire import INVOICE_TYPE, REFUND_TYPE, CallbackBody, parse_invoice, parse_refund, refund_id_of
from payments.inbound import InboundContext, InboundRequest, InboundResponse, InboundRoute
from payments.return_page import hosted_return
from payments.service import EventResult, apply_event

log = logging.getLogger(__name__)
MAX_CALLBACK_BYTES = 64 * 1024


def _answer(status: int, outcome: str, *, changed: bool = False) -> InboundResponse:
    return InboundResponse(status, json={"status": outcome}, changed=changed, outcome=outcome)


async def callback(context: InboundContext, request: InboundRequest) -> InboundResponse:
    slug = request.path_params["tenant"]
    async with context.database.uow() as uow:
        tenant = await TenantRepository(uow.session).by_slug(slug)
        provider = await context.registry.for_tenant(uow.session, tenant, NAME) if tenant is not None else None
    if tenant is None or not isinstance(provider, CorefyProvider):
        return _answer(404, "unknown_shop")
    try:
        told = provider.read_callback(request.callback())
    except InvalidCallback as error:
        log.warning("corefy callback for %s refused: %s", slug, error.reason)
        return _answer(error.status, "refused" if error.status == 401 else "malformed")
    try:
        if told.type == INVOICE_TYPE:
            return await _invoice(context.database, context.clock, tenant, provider, told)
        if told.type in (REFUND_TYPE, "refund"):
            return await _refund(context.database, context.clock, tenant, provider, told)
    except InvalidCallback as error:
        log.warning("corefy callback for %s unreadable: %s", slug, error.reason)
        return _answer(400, "malformed")
    except ProviderError as error:
        log.warning("corefy API for %s not answered (%s): Corefy delivers again", slug, error.code)
        return _answer(503, "api_unavailable")
    return await _unhandled(context.database, context.clock, tenant, told)


async def _ours(database: Database, tenant: Tenant, reference: str) -> Payment | None:
    async with database.uow() as uow:
        payment = await PaymentRepository(uow.session).by_reference(reference)
    return payment if payment is not None and payment.tenant_id == tenant.id else None


async def _invoice(
    database: Database, clock: Clock, tenant: Tenant, provider: CorefyProvider, told: CallbackBody
) -> InboundResponse:
    invoice = parse_invoice(told.data, "callback data")
    event: ProviderEvent | None
    if await _ours(database, tenant, invoice.reference_id) is None:
        event = invoice_event(invoice)  # not ours: recorded as unmatched, never fetched, never paid
    else:
        event = await provider.confirm(invoice)  # raises ProviderError when the API cannot be asked
    if event is None:
        return _answer(200, "pending")  # still open at Corefy: its next word, or the reconciler, settles it
    async with database.uow() as uow:
        applied = await apply_event(uow.session, tenant.id, event, clock)
        await uow.commit()
    return _answer(200, applied.result.value, changed=applied.result is not EventResult.DUPLICATE)


async def _refund(
    database: Database, clock: Clock, tenant: Tenant, provider: CorefyProvider, told: CallbackBody
) -> InboundResponse:
    """A refund's callback names our refund by its ``reference_id``: that refund's payment is fetched again for its
    currency, and the refund itself, so the callback alone moves nothing either."""
    attributes = told.data.get("attributes")
    said = attributes if isinstance(attributes, Mapping) else {}
    reference = said.get("reference_id")
    ours = refund_id_of(reference if isinstance(reference, str) else None)
    async with database.uow() as uow:
        row = (
            await uow.session.scalar(select(Refund).where(Refund.id == ours, Refund.tenant_id == tenant.id))
            if ours is not None
            else None
        )
        payment = await uow.session.get(Payment, row.payment_id) if row is not None else None
    if row is None or payment is None:
        currency = str(said.get("currency") or "KES").upper()  # KES only when it names none: it is not ours anyway
        unknown = refund_result(parse_refund(told.data, currency, "callback data"), None)
        async with database.uow() as uow:
            fresh = await refunds.record_fact(
                uow.session,
                NAME,
                tenant.id,
                None,
                unknown.event_key,
                "refund",
                "unmatched",
                dict(told.raw),
                clock.now(),
            )
            await uow.commit()
        return _answer(200, "unmatched" if fresh else "duplicate")
    result = await provider.refund_status(str(told.data.get("id") or ""), payment.reference)
    if result is None:
        return _answer(200, "pending")  # Corefy does not know it yet: its fetch settles it later
    async with database.uow() as uow:
        payment = await PaymentRepository(uow.session).by_reference(payment.reference)
        assert payment is not None
        applied = await refunds.apply_refund_result(
            uow.session, tenant, payment, result, clock, first_check=refund_next_check(0)
        )
        await uow.commit()
    if applied.duplicate:
        return _answer(200, "duplicate")
    return _answer(200, "applied" if applied.moved else "recorded", changed=True)


async def _unhandled(database: Database, clock: Clock, tenant: Tenant, told: CallbackBody) -> InboundResponse:
    ident = told.data.get("id")
    if not isinstance(ident, str | int) or isinstance(ident, bool):
        ident = "sha256-" + hashlib.sha256(json.dumps(told.raw, sort_keys=True, default=str).encode()).hexdigest()[:24]
    async with database.uow() as uow:
        fresh = await refunds.record_fact(
            uow.session,
            NAME,
            tenant.id,
            None,
            f"{told.type[:60]}:{ident}",
            "unhandled",
            f"a callback of {told.type[:60]} is not acted on",
            dict(told.raw),
            clock.now(),
        )
        await uow.commit()
    return _answer(200, "recorded" if fresh else "duplicate")


# --- the customer's return from the hosted payment page -----------------------------------------------------------


async def return_page(context: InboundContext, request: InboundRequest) -> InboundResponse:
    return await hosted_return(context, request, provider=INFO, reference_params=("reference",))


ROUTES = (
    InboundRoute("POST", "/pay/corefy/{tenant}", "callback", callback, max_body_bytes=MAX_CALLBACK_BYTES),
    InboundRoute("GET", "/pay/corefy/{tenant}/return", "return_page", return_page),
)
