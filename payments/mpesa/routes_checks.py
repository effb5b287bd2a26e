"""Transaction Status for C2B receipts (shops with initiator credentials, see :mod:`payments.mpesa.c2b_check`):
holding a confirmation (the job worker asks Daraja, :mod:`payments.mpesa.c2b_asker`), and Daraja's answers at
``POST /pay/c2b/result/{token}`` and ``/pay/c2b/timeout/{token}``. The token is random and per receipt: only Daraja
was given it. An unknown token gets 404, a body that does not parse 400 (Daraja's refusal body), and nothing
changes."""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from payments.base import InvalidCallback
from payments.inbound import InboundContext, InboundRequest, InboundResponse
from payments.mpesa import c2b_check
from payments.mpesa.provider import NAME, check_source
from payments.mpesa.settings import MpesaSettings
from payments.mpesa.status import parse_result
from payments.mpesa.tables import C2BReceipt
from payments.mpesa.wire import C2BPayment, stk_callback_ack
from payments.service import EventResult

log = logging.getLogger(__name__)
TOKEN = re.compile(r"^[0-9a-f]{40}$")
REFUSED: dict[str, Any] = {"ResultCode": 1, "ResultDesc": "Rejected"}


def refused(status: int, outcome: str | None) -> InboundResponse:
    """Daraja's refusal body; ``outcome`` None when the refusal is not counted."""
    return InboundResponse(status, json=REFUSED, outcome=outcome)


async def tenant_settings(context: InboundContext, session: AsyncSession, tenant: Tenant) -> MpesaSettings | None:
    """The tenant's M-Pesa settings as stored, read even when M-Pesa was switched off (money paid still counts);
    None when it was never set. Decrypted once per change of the shop's settings (:mod:`payments.registry`)."""
    stored = await context.registry.stored_config(session, tenant, NAME)
    return None if stored is None else MpesaSettings.from_config(stored)


async def hold(context: InboundContext, tenant: Tenant, payment: C2BPayment) -> str:
    """Hold the confirmation and owe the job that asks Transaction Status about it (one commit): Daraja's
    confirmation is answered without waiting for Daraja. The metrics label of what happened."""
    async with context.database.uow() as uow:
        token = await c2b_check.hold(uow.session, tenant, payment, context.clock)
        if token is None:
            return EventResult.DUPLICATE.value  # rolled back: nothing stays behind
        await uow.commit()
    context.wake_jobs()
    return "waiting"


async def _waiting(
    context: InboundContext, request: InboundRequest
) -> tuple[C2BReceipt, Tenant, MpesaSettings] | InboundResponse:
    token = request.path_params["token"]
    if not TOKEN.match(token):
        return refused(404, None)
    async with context.database.uow() as uow:
        receipt = await c2b_check.by_token(uow.session, token)
        tenant = None if receipt is None else await TenantRepository(uow.session).by_id(receipt.tenant_id)
        settings = None if tenant is None else await tenant_settings(context, uow.session, tenant)
    if receipt is None or tenant is None or settings is None:
        log.warning("transaction status result with an unknown token refused")
        return refused(404, None)
    try:
        check_source(settings, request.callback({"token": token}))
    except InvalidCallback as error:
        log.warning("transaction status result for %s refused: %s", tenant.slug, error.reason)
        return refused(error.status, None)
    return receipt, tenant, settings


async def result(context: InboundContext, request: InboundRequest) -> InboundResponse:
    found = await _waiting(context, request)
    if isinstance(found, InboundResponse):
        return found
    receipt, tenant, settings = found
    try:
        answer = parse_result(request.body)
    except InvalidCallback as error:
        log.warning("transaction status result for %s refused: %s", tenant.slug, error.reason)
        return refused(error.status, None)
    async with context.database.uow() as uow:
        applied = await c2b_check.settle(uow.session, tenant, receipt, answer, settings.shortcode, context.clock)
        if applied is None or applied.result is not EventResult.DUPLICATE:
            await uow.commit()
    outcome = "c2b_refused_receipt" if applied is None else f"c2b_{applied.result.value}"
    return InboundResponse(json=stk_callback_ack(), changed=True, outcome=outcome)


async def timeout(context: InboundContext, request: InboundRequest) -> InboundResponse:
    found = await _waiting(context, request)
    if isinstance(found, InboundResponse):
        return found
    receipt, tenant, _ = found
    async with context.database.uow() as uow:
        await c2b_check.not_asked(uow.session, tenant, receipt, "the check timed out at M-Pesa", context.clock.now())
        await uow.commit()
    return InboundResponse(json=stk_callback_ack(), changed=True, outcome="c2b_check_timeout")
