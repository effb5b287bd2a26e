"""The reconciler: asks providers about payments that stay open, and expires those whose time is up.

Providers do not always call back (a sandbox often does not; a hosted page sends nothing for an abandoned link), so
every open online payment is queried on the provider's own schedule. Answers go through ``apply_event`` exactly like
callbacks, with the same event keys, so a query and a callback reporting the same fact apply once. Refunds the
shop asked a provider for are sent from here too (``payments.refund_sender``), and followed while on their way
(``payments.refund_checks``), through the same path as the providers' webhooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy import select, update

from core.clock import Clock
from core.db.engine import Database
from core.db.repos.tenants import TenantRepository
from core.db.tables import Payment
from payments.base import Outcome, ProviderError, ProviderEvent
from payments.refund_checks import RefundChecks
from payments.refund_sender import RefundSender
from payments.registry import ProviderRegistry
from payments.service import apply_event
from payments.states import PaymentStatus

log = logging.getLogger(__name__)

# Manual payments wait for a person; only attempts with a provider behind them are queried.
QUERIED = (PaymentStatus.PENDING,)
EXPIRING = (PaymentStatus.CREATED, PaymentStatus.PENDING)


class Reconciler:
    def __init__(
        self, database: Database, registry: ProviderRegistry, clock: Clock, *, interval: float = 5.0, batch: int = 50
    ) -> None:
        self.database = database
        self.registry = registry
        self.clock = clock
        self.interval = interval
        self.batch = batch
        self.refunds = RefundSender(database, registry, clock)  # refunds asked for in the chat, sent from here
        self.refund_checks = RefundChecks(database, registry, clock)  # and followed up, in case a webhook is lost

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # a bad pass must not end the worker; the next pass tries again
                log.exception("reconciliation pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)

    async def run_once(self) -> int:
        """One pass: query what is due, expire what is overdue, send requested refunds and fetch refunds still on
        their way. Returns how many payments and refunds were looked at."""
        due = await self._due()
        for payment_id in due:
            await self._check(payment_id)
        looked_at = len(due) + await self._expire_overdue()
        return looked_at + await self.refunds.submit_due() + await self.refund_checks.check_due()

    async def _due(self) -> list[int]:
        now = self.clock.now()
        async with self.database.uow() as uow:
            rows = await uow.session.scalars(
                select(Payment.id)
                .where(
                    Payment.status.in_(list(QUERIED)), Payment.next_check_at.is_not(None), Payment.next_check_at <= now
                )
                .order_by(Payment.next_check_at)
                .limit(self.batch)
            )
            return list(rows)

    async def _check(self, payment_id: int) -> None:
        async with self.database.uow() as uow:
            payment = await uow.session.get(Payment, payment_id)
            if payment is None or payment.status not in QUERIED:
                return
            tenant = await TenantRepository(uow.session).by_id(payment.tenant_id)
            assert tenant is not None
            provider = await self.registry.for_tenant(uow.session, tenant, payment.provider)
            reference, provider_ref, checks = payment.reference, payment.provider_ref, payment.checks
        if provider is None:
            await self._schedule(payment_id, checks, None)
            return
        try:
            event = await provider.query(reference, provider_ref)
        except ProviderError as error:
            log.info("payment %s: query not answered (%s), will ask again", payment_id, error.code)
            event = None
        async with self.database.uow() as uow:
            if event is not None and event.outcome is not Outcome.PENDING:
                await apply_event(uow.session, tenant.id, event, self.clock)
            await uow.commit()
        await self._schedule(payment_id, checks + 1, provider.next_check(checks + 1))

    async def _schedule(self, payment_id: int, checks: int, wait: timedelta | None) -> None:
        next_at = self.clock.now() + wait if wait is not None else None
        async with self.database.uow() as uow:
            await uow.session.execute(
                update(Payment)
                .where(Payment.id == payment_id, Payment.status.in_(list(QUERIED)))
                .values(checks=checks, next_check_at=next_at)
            )
            await uow.commit()

    async def _expire_overdue(self) -> int:
        now = self.clock.now()
        async with self.database.uow() as uow:
            overdue = await uow.session.execute(
                select(Payment.tenant_id, Payment.reference, Payment.provider)
                .where(Payment.status.in_(list(EXPIRING)), Payment.expires_at <= now)
                .limit(self.batch)
            )
            targets = [(row.tenant_id, row.reference, row.provider) for row in overdue]
        for tenant_id, reference, provider in targets:
            event = ProviderEvent(
                provider=provider,
                event_key=f"expired:{reference}",
                payment_reference=reference,
                outcome=Outcome.EXPIRED,
            )
            async with self.database.uow() as uow:
                await apply_event(uow.session, tenant_id, event, self.clock)
                await uow.commit()
        return len(targets)
