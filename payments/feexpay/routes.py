"""FeexPay's callback: ``POST /pay/feexpay/{tenant}`` (the URL the merchant sets on FeexPay's dashboard).

FeexPay signs nothing and documents no callback body (SOURCES.md), so the callback is a hint: the FeexPay reference
it names is asked of the status endpoint under the shop's key, and only that answer, naming one of the shop's
FeexPay payments, is applied. Answers: 404 for a shop that does not take FeexPay, for a reference FeexPay does not
know under the shop's keys (a made-up callback) and for one that is no payment of the shop's (nothing written);
400 for a body that names no reference; 503 when the status endpoint could not be asked (FeexPay may call again, and
the reconciler asks anyway); 200 for the rest, a duplicate included. A status still pending brings the payment's
next scheduled check forward: the callback wakes a check, it never pays by itself."""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from core.db.repos.orders import PaymentRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Payment
from payments.base import InvalidCallback, ProviderError
from payments.feexpay.provider import NAME, FeexPayProvider, transaction_event
from payments.feexpay.wire import PENDING, hint_reference
from payments.inbound import InboundContext, InboundRequest, InboundResponse, InboundRoute
from payments.service import EventResult, apply_event
from payments.states import PaymentStatus

log = logging.getLogger(__name__)
MAX_CALLBACK_BYTES = 16 * 1024


def _answer(status: int, outcome: str, *, changed: bool = False) -> InboundResponse:
    return InboundResponse(status, json={"status": outcome}, changed=changed, outcome=outcome)


async def callback(context: InboundContext, request: InboundRequest) -> InboundResponse:
    slug = request.path_params["tenant"]
    async with context.database.uow() as uow:
        tenant = await TenantRepository(uow.session).by_slug(slug)
        provider = await context.registry.for_tenant(uow.session, tenant, NAME) if tenant is not None else None
    if tenant is None or not isinstance(provider, FeexPayProvider):
        return _answer(404, "unknown_shop")
    try:
        reference = hint_reference(request.body)
    except InvalidCallback as error:
        log.warning("feexpay callback for %s refused: %s", slug, error.reason)
        return _answer(400, "malformed")
    try:
        txn = await provider.confirm(reference)
    except InvalidCallback as error:
        log.warning("feexpay status for %s unreadable: %s", slug, error.reason)
        return _answer(503, "status_unavailable")
    except ProviderError as error:
        if error.code == "not_found":
            log.warning("feexpay callback for %s names a reference FeexPay does not know", slug)
            return _answer(404, "unknown_reference")
        log.warning("feexpay status for %s not answered (%s)", slug, error.code)
        return _answer(503, "status_unavailable")
    async with context.database.uow() as uow:
        payments = PaymentRepository(uow.session)
        payment = await payments.by_reference(txn.our_reference) if txn.our_reference else None
        if payment is None:  # FeexPay echoed nothing of ours: the payment its start was answered with
            payment = await uow.session.scalar(
                select(Payment).where(
                    Payment.tenant_id == tenant.id, Payment.provider == NAME, Payment.provider_ref == txn.reference
                )
            )
        if payment is None or payment.tenant_id != tenant.id or payment.provider != NAME:
            log.warning("feexpay callback for %s names no FeexPay payment of the shop's", slug)
            return _answer(404, "not_ours")
        if payment.provider_ref not in (None, txn.reference):
            log.warning("feexpay callback for %s: the status names another request of payment %s", slug, payment.id)
            return _answer(404, "not_ours")
        event = transaction_event(txn, payment.reference)
        if event is None or txn.status == PENDING:
            woke = await uow.session.execute(
                update(Payment)
                .where(Payment.id == payment.id, Payment.status == PaymentStatus.PENDING.value)
                .values(next_check_at=context.clock.now())
                .execution_options(synchronize_session=False)
            )
            await uow.commit()
            return _answer(200, "pending" if getattr(woke, "rowcount", 0) else "nothing_to_do")
        applied = await apply_event(uow.session, tenant.id, event, context.clock)
        await uow.commit()
    return _answer(200, applied.result.value, changed=applied.result is not EventResult.DUPLICATE)


ROUTES = (InboundRoute("POST", "/pay/feexpay/{tenant}", "callback", callback, max_body_bytes=MAX_CALLBACK_BYTES),)
