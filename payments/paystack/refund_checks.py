"""Reconciling Paystack refunds: asking Paystack about refunds still on their way, in case a webhook is lost.

A refund's later steps (processing, processed, failed) reach us only by webhook. When one is lost, or the shop's
webhook URL is wrong, the refund would stay pending forever and the customer would never hear of it. So on each pass
the reconciler fetches (GET /refund/{id}) every refund that is due, on a schedule that backs off from minutes to hours
(``provider.refund_next_check``), and hands Paystack's answer to ``refunds.apply_refund_facts``, the function the
webhook uses: a poll and a webhook reporting the same step change the refund once and send one message, whichever
comes first. A failed refund reaches the merchant as an alert there, and refunds nothing.

``REFUND_HORIZON`` after the merchant asked, the refund is fetched one last time; if it is still not finished, the
merchant is told once (they can see more on Paystack's dashboard than we can) and the reconciler stops asking.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock, utc
from core.db.engine import Database
from core.db.repos.tenants import TenantRepository
from core.db.tables import Payment, Refund, Tenant
from core.messages import Message
from core.money import Money
from core.texts import text
from payments import notices
from payments.base import InvalidCallback, ProviderError
from payments.paystack.facts import refund_facts
from payments.paystack.provider import NAME, REFUND_HORIZON, PaystackProvider, refund_next_check
from payments.paystack.refunds import POLLED, apply_refund_facts
from payments.paystack.wire import Refund as PaystackRefund
from payments.registry import ProviderRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Look:
    """One check's first half: what we knew of the refund, and Paystack's answer (None when there was none)."""

    refund_id: int
    tenant_id: int
    checks: int  # done before this one
    asked_at: datetime  # when the merchant asked for the refund: the horizon counts from here
    answer: PaystackRefund | None


class RefundChecks:
    """Fetches due Paystack refunds. Run by the reconciler on each pass."""

    def __init__(self, database: Database, registry: ProviderRegistry, clock: Clock, *, batch: int = 20) -> None:
        self.database = database
        self.registry = registry
        self.clock = clock
        self.batch = batch

    async def check_due(self) -> int:
        """Fetch every refund whose next check has come; returns how many were looked at."""
        async with self.database.uow() as uow:
            due = list(
                await uow.session.scalars(
                    select(Refund.id)
                    .where(
                        Refund.provider == NAME,
                        Refund.status.in_(list(POLLED)),
                        Refund.next_check_at.is_not(None),
                        Refund.next_check_at <= self.clock.now(),
                    )
                    .order_by(Refund.next_check_at)
                    .limit(self.batch)
                )
            )
        for refund_id in due:
            look = await self.look(refund_id)
            if look is not None:
                await self.record(look)
        return len(due)

    async def look(self, refund_id: int) -> Look | None:
        """Fetch the refund from Paystack, outside any transaction (a slow Paystack holds no lock). None when the
        refund no longer needs asking about (a webhook settled it meanwhile)."""
        async with self.database.uow() as uow:
            row = await uow.session.get(Refund, refund_id)
            if row is None or row.status not in POLLED or row.next_check_at is None:
                return None
            tenant = await TenantRepository(uow.session).by_id(row.tenant_id)
            assert tenant is not None
            provider = await self.registry.for_tenant(uow.session, tenant, NAME)
            ident = row.provider_refund_id
            look = Look(refund_id, tenant.id, row.checks, utc(row.created_at), None)
        if not isinstance(provider, PaystackProvider) or not ident or not ident.isdigit():
            # No Paystack for the shop any more, or only a refund_reference to go by (a dashboard refund known from
            # an id-less webhook): nothing to fetch. The schedule runs on, and the horizon still comes.
            return look
        try:
            answer = await provider.fetch_refund(ident)
        except ProviderError as error:
            log.info("refund %s: Paystack's state not fetched (%s); will ask again", refund_id, error.code)
            return look
        return replace(look, answer=answer)

    async def record(self, look: Look) -> None:
        """Apply Paystack's answer the way its webhook is applied, then schedule the next look, or, at the horizon,
        tell the merchant that the refund is still not finished. One transaction."""
        async with self.database.uow() as uow:
            now = self.clock.now()
            tenant = await TenantRepository(uow.session).by_id(look.tenant_id)
            assert tenant is not None
            if look.answer is not None:
                await self._apply(uow.session, tenant, look.refund_id, look.answer)
            horizon = look.asked_at + REFUND_HORIZON
            over = now >= horizon
            next_at = None if over else min(now + refund_next_check(look.checks + 1), horizon)
            # Conditional on the refund still being on its way: a settled refund (by this answer, or by a webhook
            # meanwhile) is neither scheduled again nor reported as unfinished.
            result = await uow.session.execute(
                update(Refund)
                .where(Refund.id == look.refund_id, Refund.status.in_(list(POLLED)))
                .values(checks=look.checks + 1, next_check_at=next_at)
                .execution_options(synchronize_session="fetch")
            )
            if not getattr(result, "rowcount", 0):
                await uow.session.execute(
                    update(Refund)
                    .where(Refund.id == look.refund_id)
                    .values(checks=look.checks + 1, next_check_at=None)
                    .execution_options(synchronize_session="fetch")
                )
            elif over:
                await self._unresolved(uow.session, tenant, look.refund_id, now)
            await uow.commit()

    async def _apply(self, session: AsyncSession, tenant: Tenant, refund_id: int, answer: PaystackRefund) -> None:
        row = await session.get(Refund, refund_id)
        assert row is not None
        payment = await session.get(Payment, row.payment_id)
        assert payment is not None
        try:
            facts = refund_facts(answer, payment_reference=payment.reference)
        except InvalidCallback as error:  # an unknown currency, say: kept out, like an unreadable webhook
            log.warning("refund %s: Paystack's answer not understood (%s)", refund_id, error.reason)
            return
        # The answer must be about this refund, or it could settle another one: same refund id, same transaction
        # (by reference, and by id when the answer carries one), same amount.
        other_txn = answer.transaction_id is not None and str(answer.transaction_id) != payment.provider_txn_id
        checks = (
            ("refund id", answer.id is not None and str(answer.id) != row.provider_refund_id),
            (
                "transaction",
                facts.reference != payment.reference or (other_txn and payment.provider_txn_id is not None),
            ),
            ("amount", facts.amount != Money(row.amount_minor, row.currency)),
        )
        differs = [what for what, wrong in checks if wrong]
        if differs:
            log.warning("refund %s: Paystack's answer differs in %s; ignored", refund_id, ", ".join(differs))
            return
        await apply_refund_facts(session, tenant, payment, facts, self.clock)

    async def _unresolved(self, session: AsyncSession, tenant: Tenant, refund_id: int, now: datetime) -> None:
        row = await session.get(Refund, refund_id)
        payment = await session.get(Payment, row.payment_id) if row is not None else None
        assert row is not None and payment is not None
        ctx = await notices.context_for(session, payment)
        body = text(
            "refund.merchant.unresolved",
            code=ctx.order.code,
            amount=Money(row.amount_minor, row.currency).format(),
            days=REFUND_HORIZON.days,
            status=row.status,
        )
        # Keyed by the refund: told once, however often this runs.
        await notices.to_merchant(session, tenant, f"refund:{row.id}:unresolved", Message(body), now)
