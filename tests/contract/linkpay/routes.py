"""LinkPay's one route: ``POST /pay/linkpay/{tenant}``, its signed webhooks (a link paid or declined, a refund done
or failed).

401 for a missing or bad signature and 404 for a shop that does not take LinkPay (nothing is read, nothing
changes); 400 for a signed body that cannot be read; 200 for the rest, a redelivery included (the event's key makes
it a duplicate), so LinkPay stops sending it."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.repos.orders import PaymentRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from payments import refunds
from payments.base import InvalidCallback, RefundResult
from payments.inbound import InboundContext, InboundRequest, InboundResponse, InboundRoute
from payments.service import apply_event
from tests.contract.linkpay import INFO
from tests.contract.linkpay.provider import LinkPayProvider

log = logging.getLogger(__name__)


async def webhook(context: InboundContext, request: InboundRequest) -> InboundResponse:
    slug = request.path_params["tenant"]
    async with context.database.uow() as uow:
        tenant = await TenantRepository(uow.session).by_slug(slug)
        provider = await context.registry.for_tenant(uow.session, tenant, INFO.name) if tenant else None
        if tenant is None or not isinstance(provider, LinkPayProvider):
            return InboundResponse(404, json={"error": "unknown shop"}, outcome="unknown_shop")
        try:
            found = provider.read_webhook(request.callback())
        except InvalidCallback as error:
            log.warning("linkpay webhook for %s refused: %s", slug, error.reason)
            return InboundResponse(error.status, json={"error": error.reason}, outcome="refused")
        if isinstance(found, RefundResult):
            outcome = await _refund(uow.session, tenant, provider, found, context.clock)
        else:
            events = provider.parse_callback(request.callback())
            results = [await apply_event(uow.session, tenant.id, event, context.clock) for event in events]
            outcome = results[0].result.value if results else "recorded"
        await uow.commit()
    return InboundResponse(json={"ok": True}, changed=outcome != "duplicate", outcome=outcome)


async def _refund(
    session: AsyncSession, tenant: Tenant, provider: LinkPayProvider, result: RefundResult, clock: Clock
) -> str:
    """A refund's report, applied as its answer and its fetch are (``payments.refunds.apply_refund_result``)."""
    payment = await PaymentRepository(session).by_reference(result.payment_reference or "")
    if payment is None or payment.tenant_id != tenant.id:
        raw = dict(result.raw)
        fresh = await refunds.record_fact(
            session, INFO.name, tenant.id, None, result.event_key, "refund", "unmatched", raw, clock.now()
        )
        return "unmatched" if fresh else "duplicate"
    applied = await refunds.apply_refund_result(
        session, tenant, payment, result, clock, first_check=provider.refund_next_check(0)
    )
    return "duplicate" if applied.duplicate else "applied" if applied.moved else "recorded"


ROUTES = (InboundRoute("POST", "/pay/linkpay/{tenant}", "webhook", webhook, max_body_bytes=16 * 1024),)
