"""Following refunds on their way, in case a provider's report (a webhook) is lost.

A refund's later steps (processing, processed, failed) reach us by the provider's webhooks. When one is lost, or the
shop's webhook URL is wrong, the refund would stay pending forever and the customer would never hear of it. So on
each pass the reconciler asks the provider (:meth:`payments.base.RefundingProvider.refund_status`) about every
refund that is due, on the provider's schedule (``refund_next_check``), and hands the answer to
:func:`payments.refunds.apply_refund_result`, the function the webhooks use: a check and a webhook reporting the
same step change the refund once and send one message, whichever comes first. A failed refund reaches the merchant
as an alert there, and refunds nothing.

The provider's ``refund_horizon`` after the merchant asked, the refund is asked about one last time; if it is still
not finished, the merchant is told once (they can see more on the provider's dashboard than we can) and the
reconciler stops asking.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock, utc
from core.db.engine import Database
from core.db.repos.tenants import TenantRepository
from core.db.tables import Payment, Refund, Tenant
from core.merchant_alerts import alert_merchant
from core.messages import Message
from core.money import Money
from core.texts import text
from payments import notices, refunds
from payments.base import InvalidCallback, ProviderError, RefundResult
from payments.refund_sender import refunding
from payments.registry import ProviderRegistry

log = logging.getLogger(__name__)

# The schedule of a refund whose provider is no longer set up for the shop (nothing to ask, but its horizon still
# comes, and the merchant hears of it): a look a day, for ten days.
_IDLE_WAIT = timedelta(days=1)
_IDLE_HORIZON = timedelta(days=10)


@dataclass(frozen=True, slots=True)
class Look:
    """One check's first half: what we knew of the refund, the provider's schedule, and its answer (None when there
    was none)."""

    refund_id: int
    tenant_id: int
    checks: int  # done before this one
    asked_at: datetime  # when the merchant asked for the refund: the horizon counts from here
    next_wait: timedelta  # how long until the next look, should this one not settle it
    horizon: timedelta
    answer: RefundResult | None


class RefundChecks:
    """Asks providers about due refunds. Run by the reconciler on each pass."""

    def __init__(self, database: Database, registry: ProviderRegistry, clock: Clock, *, batch: int = 20) -> None:
        self.database = database
        self.registry = registry
        self.clock = clock
        self.batch = batch

    async def check_due(self) -> int:
        """Ask about every refund whose next check has come; returns how many were looked at."""
        async with self.database.uow() as uow:
            due = list(
                await uow.session.scalars(
                    select(Refund.id)
                    .where(
                        Refund.provider.in_(refunds.refunders()),
                        Refund.status.in_(list(refunds.POLLED)),
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
        """Ask the provider, outside any transaction (a slow provider holds no lock). None when the refund no longer
        needs asking about (a webhook settled it meanwhile)."""
        async with self.database.uow() as uow:
            row = await uow.session.get(Refund, refund_id)
            if row is None or row.status not in refunds.POLLED or row.next_check_at is None:
                return None
            tenant = await TenantRepository(uow.session).by_id(row.tenant_id)
            assert tenant is not None
            provider = refunding(await self.registry.for_tenant(uow.session, tenant, row.provider))
            ident, reference = row.provider_refund_id, None
            payment = await uow.session.get(Payment, row.payment_id)
            if payment is not None:
                reference = payment.reference
            checks = row.checks
            look = Look(refund_id, tenant.id, checks, utc(row.created_at), _IDLE_WAIT, _IDLE_HORIZON, None)
        if provider is None:
            # The provider is no longer set up for the shop: nothing to ask. The schedule runs on, and the horizon
            # still comes.
            return look
        look = replace(look, next_wait=provider.refund_next_check(checks + 1), horizon=provider.refund_horizon)
        if not ident or reference is None:
            return look
        try:
            answer = await provider.refund_status(ident, reference)
        except ProviderError as error:
            log.info("refund %s: the provider's state not fetched (%s); will ask again", refund_id, error.code)
            return look
        except InvalidCallback as error:  # an unknown currency, say: kept out, like an unreadable webhook
            log.warning("refund %s: the provider's answer not understood (%s)", refund_id, error.reason)
            return look
        return replace(look, answer=answer)

    async def record(self, look: Look) -> None:
        """Apply the provider's answer the way its webhook is applied, then schedule the next look, or, at the
        horizon, tell the merchant that the refund is still not finished. One transaction."""
        async with self.database.uow() as uow:
            now = self.clock.now()
            tenant = await TenantRepository(uow.session).by_id(look.tenant_id)
            assert tenant is not None
            if look.answer is not None:
                await self._apply(uow.session, tenant, look)
            horizon = look.asked_at + look.horizon
            over = now >= horizon
            next_at = None if over else min(now + look.next_wait, horizon)
            # Conditional on the refund still being on its way: a settled refund (by this answer, or by a webhook
            # meanwhile) is neither scheduled again nor reported as unfinished.
            result = await uow.session.execute(
                update(Refund)
                .where(Refund.id == look.refund_id, Refund.status.in_(list(refunds.POLLED)))
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
                await self._unresolved(uow.session, tenant, look, now)
            await uow.commit()

    async def _apply(self, session: AsyncSession, tenant: Tenant, look: Look) -> None:
        answer = look.answer
        assert answer is not None
        row = await session.get(Refund, look.refund_id)
        assert row is not None
        payment = await session.get(Payment, row.payment_id)
        assert payment is not None
        # The answer must be about this refund, or it could settle another one: same refund id, same payment (by
        # reference, and by the provider's id of it when the answer carries one), same amount.
        other_txn = answer.provider_txn_id is not None and answer.provider_txn_id != payment.provider_txn_id
        reference = answer.payment_reference or payment.reference
        checks = (
            (
                "refund id",
                answer.provider_refund_id is not None and answer.provider_refund_id != row.provider_refund_id,
            ),
            ("transaction", reference != payment.reference or (other_txn and payment.provider_txn_id is not None)),
            ("amount", answer.amount != Money(row.amount_minor, row.currency)),
        )
        differs = [what for what, wrong in checks if wrong]
        if differs:
            log.warning("refund %s: the provider's answer differs in %s; ignored", look.refund_id, ", ".join(differs))
            return
        answer = replace(answer, payment_reference=payment.reference)
        first_check = look.next_wait
        await refunds.apply_refund_result(session, tenant, payment, answer, self.clock, first_check=first_check)

    async def _unresolved(self, session: AsyncSession, tenant: Tenant, look: Look, now: datetime) -> None:
        row = await session.get(Refund, look.refund_id)
        payment = await session.get(Payment, row.payment_id) if row is not None else None
        assert row is not None and payment is not None
        ctx = await notices.context_for(session, payment)
        key, amount = f"{row.provider}.refund.merchant.unresolved", Money(row.amount_minor, row.currency)
        values = {"code": ctx.order.code, "days": look.horizon.days, "status": row.status}

        def alert(language: str) -> Message:
            return Message(text(key, language, amount=amount.format(language), **values))

        # Keyed by the refund: told once, however often this runs.
        await alert_merchant(session, tenant, f"refund:{row.id}:unresolved", alert, now)
