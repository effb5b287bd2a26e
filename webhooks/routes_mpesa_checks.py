"""Transaction Status for C2B receipts (shops with initiator credentials, see :mod:`payments.mpesa.c2b_check`):
holding a confirmation (the job worker asks Daraja, :mod:`payments.mpesa.c2b_asker`), and Daraja's answers at
``POST /pay/c2b/result/{token}`` and ``/pay/c2b/timeout/{token}``. The token is random and per receipt: only Daraja
was given it. An unknown token gets 404, a body that does not parse 400 (Daraja's refusal body), and nothing
changes."""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp import web

from core.db.repos.tenants import TenantRepository
from core.db.tables import C2BReceipt, ProviderConfig, Tenant
from core.vault import Vault
from payments.base import Callback, InvalidCallback
from payments.mpesa import c2b_check
from payments.mpesa.provider import NAME, check_source
from payments.mpesa.settings import MpesaSettings
from payments.mpesa.status import parse_result
from payments.mpesa.wire import C2BPayment, stk_callback_ack
from payments.service import EventResult
from webhooks.keys import RUNTIME
from webhooks.runtime import Runtime

log = logging.getLogger(__name__)
_TOKEN = re.compile(r"^[0-9a-f]{40}$")
REFUSED: dict[str, Any] = {"ResultCode": 1, "ResultDesc": "Rejected"}


def tenant_settings(tenant: Tenant, config: ProviderConfig, vault: Vault) -> MpesaSettings:
    """The tenant's M-Pesa settings as stored, read even when M-Pesa was switched off (money paid still counts)."""
    secrets = vault.decrypt_json(config.secrets_enc) if config.secrets_enc else {}
    return MpesaSettings.read(secrets, dict(config.options or {}), test_mode=tenant.test_mode)


async def hold(runtime: Runtime, tenant: Tenant, payment: C2BPayment) -> str:
    """Hold the confirmation and owe the job that asks Transaction Status about it (one commit): Daraja's
    confirmation is answered without waiting for Daraja. The metrics label of what happened."""
    async with runtime.database.uow() as uow:
        token = await c2b_check.hold(uow.session, tenant, payment, runtime.clock)
        if token is None:
            return EventResult.DUPLICATE.value  # rolled back: nothing stays behind
        await uow.commit()
    runtime.jobs.wake()
    return "waiting"


async def _waiting(
    runtime: Runtime, request: web.Request, body: bytes
) -> tuple[C2BReceipt, Tenant, MpesaSettings] | web.Response:
    token = request.match_info["token"]
    if not _TOKEN.match(token):
        return web.json_response(REFUSED, status=404)
    async with runtime.database.uow() as uow:
        receipt = await c2b_check.by_token(uow.session, token)
        tenant = None if receipt is None else await TenantRepository(uow.session).by_id(receipt.tenant_id)
        config = None if tenant is None else await TenantRepository(uow.session).provider_config(tenant.id, NAME)
    if receipt is None or tenant is None or config is None:
        log.warning("transaction status result with an unknown token refused")
        return web.json_response(REFUSED, status=404)
    settings = tenant_settings(tenant, config, runtime.vault)
    try:
        check_source(settings, Callback(body, dict(request.headers), {"token": token}, request.remote))
    except InvalidCallback as refused:
        log.warning("transaction status result for %s refused: %s", tenant.slug, refused.reason)
        return web.json_response(REFUSED, status=refused.status)
    return receipt, tenant, settings


async def result(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    body = await request.read()
    found = await _waiting(runtime, request, body)
    if isinstance(found, web.Response):
        return found
    receipt, tenant, settings = found
    try:
        answer = parse_result(body)
    except InvalidCallback as refused:
        log.warning("transaction status result for %s refused: %s", tenant.slug, refused.reason)
        return web.json_response(REFUSED, status=refused.status)
    async with runtime.database.uow() as uow:
        applied = await c2b_check.settle(uow.session, tenant, receipt, answer, settings.shortcode, runtime.clock)
        if applied is None or applied.result is not EventResult.DUPLICATE:
            await uow.commit()
    runtime.relay.wake()
    outcome = "c2b_refused_receipt" if applied is None else f"c2b_{applied.result.value}"
    runtime.metrics.callbacks.labels(NAME, outcome).inc()
    return web.json_response(stk_callback_ack())


async def timeout(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    body = await request.read()
    found = await _waiting(runtime, request, body)
    if isinstance(found, web.Response):
        return found
    receipt, tenant, _ = found
    async with runtime.database.uow() as uow:
        await c2b_check.not_asked(uow.session, tenant, receipt, "the check timed out at M-Pesa", runtime.clock.now())
        await uow.commit()
    runtime.relay.wake()
    runtime.metrics.callbacks.labels(NAME, "c2b_check_timeout").inc()
    return web.json_response(stk_callback_ack())
