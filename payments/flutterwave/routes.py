"""Flutterwave's routes: ``POST /pay/flutterwave/{tenant}`` (its webhooks) and ``GET /pay/flutterwave/{tenant}/return``
(the customer's browser after the checkout: ``?status=successful|cancelled|failed&tx_ref=…&transaction_id=…``).

Webhook answers: 404 for a shop that does not take Flutterwave and 401 for a missing or wrong ``verif-hash`` (nothing
read, nothing written); 400 for a body that cannot be read; 503 when verify could not be asked (Flutterwave delivers
again); 200 for everything else, a redelivery included (the event's key makes it a duplicate). A ``charge.completed``
is applied as verify tells it, never as the webhook does. The return page says where the payment stands and sends
the customer back to the chat; it marks nothing paid (it only brings the reconciler's next verify forward)."""

from __future__ import annotations

import hashlib
import json
import logging

from core.clock import Clock
from core.db.engine import Database
from core.db.repos.orders import PaymentRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Payment, Tenant
from payments import refunds
from payments.base import InvalidCallback, ProviderError, ProviderEvent
from payments.flutterwave import INFO
from payments.flutterwave.provider import (
    NAME,
    FlutterwaveProvider,
    refund_next_check,
    refund_result,
    transaction_event,
)
from payments.flutterwave.wire import CHARGE_COMPLETED, Webhook, parse_refund, parse_transaction
from payments.inbound import InboundContext, InboundRequest, InboundResponse, InboundRoute
from payments.return_page import hosted_return
from payments.service import EventResult, apply_event

log = logging.getLogger(__name__)
MAX_WEBHOOK_BYTES = 64 * 1024


def _answer(status: int, outcome: str, *, changed: bool = False) -> InboundResponse:
    return InboundResponse(status, json={"status": outcome}, changed=changed, outcome=outcome)


async def webhook(context: InboundContext, request: InboundRequest) -> InboundResponse:
    slug = request.path_params["tenant"]
    async with context.database.uow() as uow:
        tenant = await TenantRepository(uow.session).by_slug(slug)
        provider = await context.registry.for_tenant(uow.session, tenant, NAME) if tenant is not None else None
    if tenant is None or not isinstance(provider, FlutterwaveProvider):
        return _answer(404, "unknown_shop")
    try:
        hook = provider.read_webhook(request.callback())
    except InvalidCallback as error:
        log.warning("flutterwave webhook for %s refused: %s", slug, error.reason)
        return _answer(error.status, "refused" if error.status == 401 else "malformed")
    try:
        if hook.event == CHARGE_COMPLETED:
            return await _charge(context.database, context.clock, tenant, provider, hook)
        if hook.event.startswith("refund"):
            return await _refund(context.database, context.clock, tenant, provider, hook)
    except InvalidCallback as error:
        log.warning("flutterwave webhook for %s unreadable: %s", slug, error.reason)
        return _answer(400, "malformed")
    except ProviderError as error:
        log.warning("flutterwave verify for %s not answered (%s): Flutterwave delivers again", slug, error.code)
        return _answer(503, "verify_unavailable")
    return await _unhandled(context.database, context.clock, tenant, hook)


async def _ours(database: Database, tenant: Tenant, reference: str) -> Payment | None:
    async with database.uow() as uow:
        payment = await PaymentRepository(uow.session).by_reference(reference)
    return payment if payment is not None and payment.tenant_id == tenant.id else None


async def _charge(
    database: Database, clock: Clock, tenant: Tenant, provider: FlutterwaveProvider, hook: Webhook
) -> InboundResponse:
    told = parse_transaction(hook.data, "webhook data")
    event: ProviderEvent | None
    if await _ours(database, tenant, told.tx_ref) is None:
        event = transaction_event(told)  # not ours: recorded as unmatched, never verified, never paid
    else:
        event = await provider.confirm(told)  # raises ProviderError when verify cannot be asked
    if event is None:
        return _answer(200, "pending")  # still open at Flutterwave: its next word, or the reconciler, settles it
    async with database.uow() as uow:
        applied = await apply_event(uow.session, tenant.id, event, clock)
        await uow.commit()
    return _answer(200, applied.result.value, changed=applied.result is not EventResult.DUPLICATE)


async def _refund(
    database: Database, clock: Clock, tenant: Tenant, provider: FlutterwaveProvider, hook: Webhook
) -> InboundResponse:
    """A refund's webhook (its shape is unconfirmed: SOURCES.md). It names the transaction by id only: verify tells
    which payment it is and in which currency, so the webhook alone moves nothing either."""
    txn_id = str(hook.data.get("tx_id") or hook.data.get("transaction_id") or "")
    txn = await provider.verify(txn_id)
    result = refund_result(parse_refund(hook.data, txn.amount.currency, "webhook data"), txn.tx_ref, txn.id)
    async with database.uow() as uow:
        payment = await PaymentRepository(uow.session).by_reference(txn.tx_ref)
        if payment is None or payment.tenant_id != tenant.id:
            fresh = await refunds.record_fact(
                uow.session, NAME, tenant.id, None, result.event_key, "refund", "unmatched", dict(hook.raw), clock.now()
            )
            await uow.commit()
            return _answer(200, "unmatched" if fresh else "duplicate")
        applied = await refunds.apply_refund_result(
            uow.session, tenant, payment, result, clock, first_check=refund_next_check(0)
        )
        await uow.commit()
    if applied.duplicate:
        return _answer(200, "duplicate")
    return _answer(200, "applied" if applied.moved else "recorded", changed=True)


async def _unhandled(database: Database, clock: Clock, tenant: Tenant, hook: Webhook) -> InboundResponse:
    ident = hook.data.get("id")
    if not isinstance(ident, str | int) or isinstance(ident, bool):
        ident = "sha256-" + hashlib.sha256(json.dumps(hook.raw, sort_keys=True, default=str).encode()).hexdigest()[:24]
    async with database.uow() as uow:
        fresh = await refunds.record_fact(
            uow.session,
            NAME,
            tenant.id,
            None,
            f"{hook.event[:60]}:{ident}",
            "unhandled",
            f"event {hook.event[:60]} is not acted on",
            dict(hook.raw),
            clock.now(),
        )
        await uow.commit()
    return _answer(200, "recorded" if fresh else "duplicate")


# --- the customer's return from the checkout ----------------------------------------------------------------------


async def return_page(context: InboundContext, request: InboundRequest) -> InboundResponse:
    return await hosted_return(context, request, provider=INFO, reference_params=("tx_ref",))


ROUTES = (
    InboundRoute("POST", "/pay/flutterwave/{tenant}", "webhook", webhook, max_body_bytes=MAX_WEBHOOK_BYTES),
    InboundRoute("GET", "/pay/flutterwave/{tenant}/return", "return_page", return_page),
)
