"""Daraja's callbacks: ``POST /pay/stk/{token}`` (STK results) and ``POST /pay/c2b/{tenant}/{token}/confirm`` and
``/validate`` (Paybill payments); Transaction Status answers are in :mod:`payments.mpesa.routes_checks`. No provider
name in the paths: Daraja refuses URLs that contain it.

Callbacks are unsigned, so: the STK token is random and per payment (an unknown one gets 404 and changes nothing);
the C2B token is the tenant's own random C2B secret (a tenant without one gets 404); the source-IP allowlist is on for
live tenants (Safaricom's addresses unless the tenant says otherwise); and the amount must match, else the payment is
parked for the merchant. An STK result that passes those checks is recorded (``payments.ingest``) and answered as
Daraja expects once the record is committed; the server applies it off the request. A redelivery of a result this
process knows is committed is answered with no database trip: the token's payment and the settings that checked it
are kept from the full check (a token is its payment's for good), the same checks run again on them, and the event's
key is looked up in the inbox's memory. A settings change drops what was kept for the tenant when the process hears
of it (:mod:`core.tenant_cache`: at once on PostgreSQL, at its re-check otherwise); until then a duplicate from an
address the change removed from the allowlist is still answered "accepted", which changes nothing.

A C2B confirmation is applied in one short transaction before the answer; a duplicate one is rolled back whole, so it
leaves no row behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core.db.repos.orders import PaymentRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from payments.base import InvalidCallback
from payments.inbound import InboundContext, InboundRequest, InboundResponse, InboundRoute
from payments.ingest import Checked, Ingest
from payments.ingest_policy import CheckedBefore
from payments.mpesa import c2b
from payments.mpesa import routes_checks as checks
from payments.mpesa.provider import NAME, MpesaProvider, check_source, parse_stk
from payments.mpesa.routes_checks import TOKEN, refused, tenant_settings
from payments.mpesa.settings import MpesaSettings
from payments.mpesa.wire import c2b_confirmation_ack, parse_c2b, stk_callback_ack
from payments.service import EventResult, apply_event

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _StkChecked:
    """What a full check of an STK callback found for its token: the settings that verified it and the payment's
    facts the parser needs (a token is its payment's for good)."""

    settings: MpesaSettings
    params: dict[str, str]


def _known_duplicate(inbox: Ingest, token: str, request: InboundRequest) -> InboundResponse | None:
    """The answer to a redelivery this process knows is committed, with no database trip: the token was checked
    before, the request passes the same checks (source, this payment's push), and every event it reports is known
    committed. None: the full check decides."""
    before = inbox.recall(f"{NAME}:stk:{token}")
    if before is None or not isinstance(before.facts, _StkChecked):
        return None
    checked = before.facts
    try:
        callback = request.callback(checked.params)
        check_source(checked.settings, callback)
        events = parse_stk(before.tenant_id, callback)
    except InvalidCallback:
        return None  # the full check refuses it, and logs why
    if not all(inbox.known((before.tenant_id, event.provider, event.event_key)) for event in events):
        return None
    return InboundResponse(json=stk_callback_ack(), outcome="stk_duplicate")


async def stk_callback(context: InboundContext, request: InboundRequest) -> InboundResponse:
    token = request.path_params["token"]
    if not TOKEN.match(token):
        return refused(404, "unknown_token")
    inbox = context.inbox
    if inbox is not None and context.record is not None:
        duplicate = _known_duplicate(inbox, token, request)
        if duplicate is not None:
            return duplicate

    async def check(session: AsyncSession) -> Checked | InboundResponse:
        found = await PaymentRepository(session).with_tenant_by_callback_token(token)
        if found is None or found[0].provider != NAME:
            log.warning("stk callback with an unknown token refused")
            return refused(404, "unknown_token")
        payment, tenant = found
        provider = await context.registry.for_tenant(session, tenant, NAME)
        params = {"token": token, "reference": payment.reference, "checkout": payment.provider_ref or ""}
        callback = request.callback(params)
        try:
            if isinstance(provider, MpesaProvider):
                events = provider.parse_callback(callback)  # the source allowlist, then this payment's push only
            else:  # M-Pesa was switched off after the push: the money still counts
                events = parse_stk(tenant.id, callback)
        except InvalidCallback as error:
            log.warning("stk callback for payment %s refused: %s", payment.id, error.reason)
            return refused(error.status, "invalid")
        if inbox is not None and isinstance(provider, MpesaProvider):
            # Facts read from committed rows, so kept whether or not this recording commits.
            inbox.remember(f"{NAME}:stk:{token}", CheckedBefore(tenant.id, _StkChecked(provider.settings, params)))
        return Checked(tenant.id, events)

    if context.record is not None:  # recorded now, applied off the request (payments.ingest)
        new = await context.record(check)
        if isinstance(new, InboundResponse):
            return new
        return InboundResponse(json=stk_callback_ack(), outcome="stk_recorded" if new else "stk_duplicate")
    async with context.database.uow() as uow:
        checked = await check(uow.session)
        if isinstance(checked, InboundResponse):
            return checked
        results = [await apply_event(uow.session, checked.tenant_id, event, context.clock) for event in checked.events]
        await uow.commit()
    outcome = results[0].result.value if results else "empty"
    changed = any(applied.result is not EventResult.DUPLICATE for applied in results)  # a duplicate owes nothing
    return InboundResponse(json=stk_callback_ack(), changed=changed, outcome=f"stk_{outcome}")


async def _c2b_tenant(
    context: InboundContext, request: InboundRequest, refusal_outcome: str | None
) -> tuple[Tenant, MpesaSettings] | InboundResponse:
    """The tenant a C2B URL belongs to, when its token is right and the caller allowed; else the refusal (404 for
    an unknown shop or token, counted as ``unknown_token``; the allowlist's refusal counted as ``refusal_outcome``)."""
    slug, token = request.path_params["tenant"], request.path_params["token"]
    if not TOKEN.match(token):
        return refused(404, "unknown_token")
    async with context.database.uow() as uow:
        tenant = await TenantRepository(uow.session).by_slug(slug)
        settings = None if tenant is None else await tenant_settings(context, uow.session, tenant)
    if tenant is None or settings is None:
        return refused(404, "unknown_token")
    if not c2b.token_matches(token, settings.c2b_secret):
        return refused(404, "unknown_token")
    try:
        check_source(settings, request.callback({"tenant": slug}))
    except InvalidCallback as error:
        log.warning("c2b callback for %s refused: %s", slug, error.reason)
        return refused(error.status, refusal_outcome)
    return tenant, settings


async def c2b_confirm(context: InboundContext, request: InboundRequest) -> InboundResponse:
    found = await _c2b_tenant(context, request, "c2b_refused")
    if isinstance(found, InboundResponse):
        if found.status == 404:
            log.warning("c2b confirmation with an unknown tenant or token refused")
        return found
    tenant, settings = found
    try:
        payment = parse_c2b(request.body)
    except InvalidCallback as error:
        log.warning("c2b confirmation for %s refused: %s", tenant.slug, error.reason)
        return refused(error.status, "invalid")
    if settings.confirms_receipts:
        outcome = await checks.hold(context, tenant, payment)
    else:
        async with context.database.uow() as uow:
            applied = await c2b.confirm(uow.session, tenant, payment, context.clock)
            if applied.result is not EventResult.DUPLICATE:
                await uow.commit()  # a duplicate is rolled back: no payment opened for it stays behind
        outcome = applied.result.value
    changed = outcome != EventResult.DUPLICATE.value  # a duplicate committed nothing: no relay to wake
    return InboundResponse(json=c2b_confirmation_ack(), changed=changed, outcome=f"c2b_{outcome}")


async def c2b_validate(context: InboundContext, request: InboundRequest) -> InboundResponse:
    found = await _c2b_tenant(context, request, None)
    if isinstance(found, InboundResponse):
        return found
    tenant, settings = found
    try:
        payment = parse_c2b(request.body)
    except InvalidCallback as error:
        log.warning("c2b validation for %s refused: %s", tenant.slug, error.reason)
        return refused(error.status, "invalid")
    async with context.database.uow() as uow:
        answer = await c2b.validate(uow.session, tenant, payment, strict=settings.c2b_validation)
    return InboundResponse(json=answer, outcome="c2b_validation")


ROUTES = (
    InboundRoute("POST", "/pay/stk/{token}", "stk", stk_callback),
    InboundRoute("POST", "/pay/c2b/{tenant}/{token}/confirm", "c2b_confirm", c2b_confirm),
    InboundRoute("POST", "/pay/c2b/{tenant}/{token}/validate", "c2b_validate", c2b_validate),
    InboundRoute("POST", "/pay/c2b/result/{token}", "c2b_result", checks.result),
    InboundRoute("POST", "/pay/c2b/timeout/{token}", "c2b_timeout", checks.timeout),
)
