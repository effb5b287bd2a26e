"""Sending ``requested`` refunds to their providers: run by the reconciler on each pass, outside any transaction
(the merchant's ``/refund`` only wrote the row). Each provider is asked through the contract
(:meth:`payments.base.RefundingProvider.refund`); its answer goes through :func:`payments.refunds.apply_refund_result`
like any later report of the refund."""

from __future__ import annotations

import logging
from typing import cast

from sqlalchemy import select, update

from core.clock import Clock
from core.db.engine import Database
from core.db.repos.orders import PaymentRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Payment, Refund
from core.merchant_alerts import alert_merchant
from core.messages import Message
from core.money import Money
from core.texts import text
from payments import notices, refunds
from payments.base import RATE_LIMITED, ProviderError, RefundingProvider, RefundRequest
from payments.registry import ProviderRegistry

log = logging.getLogger(__name__)


def refunding(provider: object) -> RefundingProvider | None:
    """The provider object as a refunder, when it has the contract's refund calls."""
    calls = ("refund", "refund_status", "refund_next_check")
    if not all(callable(getattr(provider, call, None)) for call in calls):
        return None
    return cast(RefundingProvider, provider)


class RefundSender:
    """Sends ``requested`` refunds to their providers."""

    def __init__(self, database: Database, registry: ProviderRegistry, clock: Clock, *, batch: int = 20) -> None:
        self.database = database
        self.registry = registry
        self.clock = clock
        self.batch = batch

    async def submit_due(self) -> int:
        async with self.database.uow() as uow:
            due = list(
                await uow.session.scalars(
                    select(Refund.id)
                    .where(Refund.provider.in_(refunds.refunders()), Refund.status == refunds.REQUESTED)
                    .order_by(Refund.id)
                    .limit(self.batch)
                )
            )
        for refund_id in due:
            await self.submit(refund_id)
        return len(due)

    async def submit(self, refund_id: int) -> None:
        async with self.database.uow() as uow:
            if not await refunds.move(uow.session, refund_id, refunds.SUBMITTING, self.clock.now()):
                return  # another worker took it, or it moved on
            row = await uow.session.get(Refund, refund_id)
            assert row is not None
            payment = await uow.session.get(Payment, row.payment_id)
            tenant = await TenantRepository(uow.session).by_id(row.tenant_id)
            assert payment is not None and tenant is not None
            provider = refunding(await self.registry.for_tenant(uow.session, tenant, row.provider))
            request = RefundRequest(
                refund_id=refund_id,
                payment_reference=payment.reference,
                provider_txn_id=payment.provider_txn_id,
                amount=Money(row.amount_minor, row.currency),
                note=f"Refund {refund_id} from the shop's chat",
            )
            name = row.provider
            await uow.commit()
        if provider is None:
            await self._failed(refund_id, text(f"{name}.refund.not_configured"))
            return
        try:
            answer = await provider.refund(request)
        except ProviderError as error:
            if error.code == RATE_LIMITED:
                async with self.database.uow() as uow:  # surely not taken: ask again on the next pass
                    await uow.session.execute(
                        update(Refund)
                        .where(Refund.id == refund_id, Refund.status == refunds.SUBMITTING)
                        .values(status=refunds.REQUESTED)
                    )
                    await uow.commit()
            elif error.retryable:
                log.warning("refund %s: %s's answer was lost (%s); not sending it again", refund_id, name, error.code)
                await self._unconfirmed(refund_id)
            else:
                await self._failed(refund_id, str(error))
            return
        async with self.database.uow() as uow:
            payment = await uow.session.get(Payment, row.payment_id)
            assert payment is not None
            await PaymentRepository(uow.session).lock(payment.id)  # before the refund's row: see PaymentRepository.lock
            await uow.session.execute(
                update(Refund)
                .where(Refund.id == refund_id, Refund.provider_refund_id.is_(None))
                .values(provider_refund_id=answer.ident[:64] if answer.ident else None)
            )
            first_check = provider.refund_next_check(0)
            await refunds.apply_refund_result(uow.session, tenant, payment, answer, self.clock, first_check=first_check)
            await uow.commit()

    async def _failed(self, refund_id: int, reason: str) -> None:
        async with self.database.uow() as uow:
            now = self.clock.now()
            row = await uow.session.get(Refund, refund_id)
            assert row is not None
            if await refunds.move(uow.session, refund_id, refunds.FAILED, now, reason=reason[:500]):
                tenant = await TenantRepository(uow.session).by_id(row.tenant_id)
                payment = await uow.session.get(Payment, row.payment_id)
                assert tenant is not None and payment is not None
                await refunds.tell_merchant(uow.session, tenant, payment, row, refunds.FAILED, reason, now)
            await uow.commit()

    async def _unconfirmed(self, refund_id: int) -> None:
        async with self.database.uow() as uow:
            now = self.clock.now()
            row = await uow.session.get(Refund, refund_id)
            assert row is not None
            tenant = await TenantRepository(uow.session).by_id(row.tenant_id)
            payment = await uow.session.get(Payment, row.payment_id)
            assert tenant is not None and payment is not None
            ctx = await notices.context_for(uow.session, payment)
            key, code, amount = (
                f"{row.provider}.refund.merchant.unconfirmed",
                ctx.order.code,
                Money(row.amount_minor, row.currency),
            )

            def alert(language: str) -> Message:
                return Message(text(key, language, code=code, amount=amount.format(language)))

            await alert_merchant(uow.session, tenant, f"refund:{row.id}:unconfirmed", alert, now)
            await uow.commit()
