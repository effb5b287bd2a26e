"""Daraja's callbacks: ``POST /pay/stk/{token}`` (STK results) and ``POST /pay/c2b/{tenant}/{token}/confirm`` and
``/validate`` (Paybill payments). No provider name in the paths: Daraja refuses URLs that contain it.

Callbacks are unsigned, so: the STK token is random and per payment (an unknown one gets 404 and changes nothing);
the C2B token is the tenant's own random C2B secret (a tenant without one gets 404); the source-IP allowlist is on for
live tenants (Safaricom's addresses unless the tenant says otherwise); and the amount must match, else the payment is
parked for the merchant. The work is one short transaction (find, ``apply_event``, commit), then the answer Daraja
expects; the relay is woken to send the messages the change owes. A duplicate C2B confirmation is rolled back whole,
so it leaves no row behind.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from aiohttp import web

from core.db.repos.orders import PaymentRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from payments.base import Callback, InvalidCallback
from payments.mpesa import c2b
from payments.mpesa.provider import NAME, MpesaProvider, check_source, parse_stk
from payments.mpesa.settings import MpesaSettings
from payments.mpesa.wire import c2b_confirmation_ack, parse_c2b, stk_callback_ack
from payments.service import EventResult, apply_event
from webhooks import routes_mpesa_checks as c2b_checks
from webhooks.keys import RUNTIME
from webhooks.routes_mpesa_checks import tenant_settings
from webhooks.runtime import Runtime

log = logging.getLogger(__name__)
_TOKEN = re.compile(r"^[0-9a-f]{40}$")
REFUSED: dict[str, Any] = {"ResultCode": 1, "ResultDesc": "Rejected"}


def add_routes(app: web.Application) -> None:
    """Add this provider's callback routes to the application."""
    app.router.add_post("/pay/stk/{token}", stk_callback)
    app.router.add_post("/pay/c2b/{tenant}/{token}/confirm", c2b_confirm)
    app.router.add_post("/pay/c2b/{tenant}/{token}/validate", c2b_validate)
    app.router.add_post("/pay/c2b/result/{token}", c2b_checks.result)
    app.router.add_post("/pay/c2b/timeout/{token}", c2b_checks.timeout)


def _callback(request: web.Request, body: bytes, params: dict[str, str]) -> Callback:
    return Callback(body=body, headers=dict(request.headers), path_params=params, remote_ip=request.remote)


def _refuse(runtime: Runtime, status: int, outcome: str, started: float) -> web.Response:
    runtime.metrics.callbacks.labels(NAME, outcome).inc()
    runtime.metrics.callback_seconds.labels(NAME).observe(time.perf_counter() - started)
    return web.json_response(REFUSED, status=status)


async def stk_callback(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    started = time.perf_counter()
    token = request.match_info["token"]
    body = await request.read()
    if not _TOKEN.match(token):
        return _refuse(runtime, 404, "unknown_token", started)
    async with runtime.database.uow() as uow:
        payment = await PaymentRepository(uow.session).by_callback_token(token)
        if payment is None or payment.provider != NAME:
            log.warning("stk callback with an unknown token refused")
            return _refuse(runtime, 404, "unknown_token", started)
        tenant = await TenantRepository(uow.session).by_id(payment.tenant_id)
        assert tenant is not None
        provider = await runtime.registry.for_tenant(uow.session, tenant, NAME)
        callback = _callback(
            request, body, {"token": token, "reference": payment.reference, "checkout": payment.provider_ref or ""}
        )
        try:
            if isinstance(provider, MpesaProvider):
                events = provider.parse_callback(callback)
            else:  # M-Pesa was switched off after the push: the money still counts
                events = parse_stk(tenant.id, callback)
        except InvalidCallback as refused:
            log.warning("stk callback for payment %s refused: %s", payment.id, refused.reason)
            return _refuse(runtime, refused.status, "invalid", started)
        results = [await apply_event(uow.session, tenant.id, event, runtime.clock) for event in events]
        await uow.commit()
    runtime.relay.wake()
    outcome = results[0].result.value if results else "empty"
    runtime.metrics.callbacks.labels(NAME, f"stk_{outcome}").inc()
    runtime.metrics.callback_seconds.labels(NAME).observe(time.perf_counter() - started)
    return web.json_response(stk_callback_ack())


async def _c2b_tenant(
    runtime: Runtime, request: web.Request, body: bytes
) -> tuple[Tenant, MpesaSettings] | web.Response | None:
    """The tenant a C2B URL belongs to, when its token is right and the caller allowed; None: unknown (404)."""
    slug, token = request.match_info["tenant"], request.match_info["token"]
    if not _TOKEN.match(token):
        return None
    async with runtime.database.uow() as uow:
        tenant = await TenantRepository(uow.session).by_slug(slug)
        config = None if tenant is None else await TenantRepository(uow.session).provider_config(tenant.id, NAME)
    if tenant is None or config is None:
        return None
    settings = tenant_settings(tenant, config, runtime.vault)
    if not c2b.token_matches(token, settings.c2b_secret):
        return None
    try:
        check_source(settings, _callback(request, body, {"tenant": slug}))
    except InvalidCallback as refused:
        log.warning("c2b callback for %s refused: %s", slug, refused.reason)
        return web.json_response(REFUSED, status=refused.status)
    return tenant, settings


async def c2b_confirm(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    started = time.perf_counter()
    body = await request.read()
    found = await _c2b_tenant(runtime, request, body)
    if found is None:
        log.warning("c2b confirmation with an unknown tenant or token refused")
        return _refuse(runtime, 404, "unknown_token", started)
    if isinstance(found, web.Response):
        runtime.metrics.callbacks.labels(NAME, "c2b_refused").inc()
        return found
    tenant, settings = found
    try:
        payment = parse_c2b(body)
    except InvalidCallback as refused:
        log.warning("c2b confirmation for %s refused: %s", tenant.slug, refused.reason)
        return _refuse(runtime, refused.status, "invalid", started)
    if settings.confirms_receipts:
        outcome = await c2b_checks.hold(runtime, tenant, payment)
    else:
        async with runtime.database.uow() as uow:
            applied = await c2b.confirm(uow.session, tenant, payment, runtime.clock)
            if applied.result is not EventResult.DUPLICATE:
                await uow.commit()  # a duplicate is rolled back: no payment opened for it stays behind
        outcome = applied.result.value
    runtime.relay.wake()
    runtime.metrics.callbacks.labels(NAME, f"c2b_{outcome}").inc()
    runtime.metrics.callback_seconds.labels(NAME).observe(time.perf_counter() - started)
    return web.json_response(c2b_confirmation_ack())


async def c2b_validate(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    started = time.perf_counter()
    body = await request.read()
    found = await _c2b_tenant(runtime, request, body)
    if found is None:
        return _refuse(runtime, 404, "unknown_token", started)
    if isinstance(found, web.Response):
        return found
    tenant, settings = found
    try:
        payment = parse_c2b(body)
    except InvalidCallback as refused:
        log.warning("c2b validation for %s refused: %s", tenant.slug, refused.reason)
        return _refuse(runtime, refused.status, "invalid", started)
    async with runtime.database.uow() as uow:
        answer = await c2b.validate(uow.session, tenant, payment, strict=settings.c2b_validation)
    runtime.metrics.callbacks.labels(NAME, "c2b_validation").inc()
    runtime.metrics.callback_seconds.labels(NAME).observe(time.perf_counter() - started)
    return web.json_response(answer)
