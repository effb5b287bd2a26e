"""LinkPay's one route: ``POST /pay/linkpay/{tenant}``, its signed webhooks.

401 for a missing or bad signature and 404 for a shop that does not take LinkPay (nothing is read, nothing
changes); 400 for a signed body that cannot be read; 200 for the rest, a redelivery included (the event's key makes
it a duplicate), so LinkPay stops sending it."""

from __future__ import annotations

import logging

from core.db.repos.tenants import TenantRepository
from payments.base import InvalidCallback
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
            events = provider.parse_callback(request.callback())
        except InvalidCallback as error:
            log.warning("linkpay webhook for %s refused: %s", slug, error.reason)
            return InboundResponse(error.status, json={"error": error.reason}, outcome="refused")
        results = [await apply_event(uow.session, tenant.id, event, context.clock) for event in events]
        await uow.commit()
    outcome = results[0].result.value if results else "recorded"
    return InboundResponse(json={"ok": True}, changed=bool(results), outcome=outcome)


ROUTES = (InboundRoute("POST", "/pay/linkpay/{tenant}", "webhook", webhook, max_body_bytes=16 * 1024),)
