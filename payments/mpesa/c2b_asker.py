"""Asking Daraja's Transaction Status about a held C2B receipt: a payment job (``mpesa.c2b_check``), never a call
made while Daraja's confirmation request waits for its answer.

:func:`payments.mpesa.c2b_check.hold` owes the job in the transaction that claims the receipt, so the confirmation
is answered at once and the job survives a crash. One job per receipt (its dedupe key), claimed by one worker at a
time: one Transaction Status request in flight per receipt. Each run of the job, while the receipt still waits:

* asks Daraja, then comes back after ``WAITS[n]`` to see whether the answer came (Daraja does not resend a lost
  result callback, so a receipt still waiting then is asked again);
* a request that failed is retried on the same schedule when trying later may help (a timeout, a 5xx: Transaction
  Status is a query, it moves no money, so a request that may have reached Daraja is safe to send again, and so is
  one whose earlier run died mid-call); a refusal that will not change (no credentials, M-Pesa switched off) gives
  up at once;
* after ``len(WAITS)`` tries the job gives up and tells the merchant, and the receipt keeps waiting: a late answer,
  or ``dukabot provider recheck-c2b``, still settles it.

A receipt settled meanwhile (its answer came) ends the job without asking.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.engine import Database
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from payments import jobs
from payments.base import ProviderError
from payments.mpesa import c2b_check
from payments.mpesa.provider import NAME, MpesaProvider
from payments.mpesa.tables import C2BReceipt
from payments.registry import ProviderRegistry

log = logging.getLogger(__name__)

# How long each try waits before the next (for the answer, or after a failed request); bounded: then it gives up.
WAITS = (timedelta(minutes=2), timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=30))


@dataclass
class ReceiptChecker:
    """The handler of ``mpesa.c2b_check`` jobs."""

    database: Database
    registry: ProviderRegistry
    clock: Clock

    async def run(self, job: jobs.Job) -> None:
        token = str(job.payload.get("check_token", ""))
        async with self.database.uow() as uow:
            found = await self._waiting(uow.session, token)
            if found is None:  # settled meanwhile (or gone): nothing left to ask
                await jobs.finish(uow.session, job.id, self.clock.now())
                await uow.commit()
                return
            receipt, tenant = found
            if job.attempts > len(WAITS):  # asked as often as we ask: no answer came
                now = self.clock.now()
                await c2b_check.unanswered(uow.session, tenant, receipt, len(WAITS), now)
                await jobs.give_up(uow.session, job.id, "no answer from M-Pesa", now)
                await uow.commit()
                return
            provider = await self.registry.for_tenant(uow.session, tenant, NAME)
            number = receipt.receipt
        # The provider call runs outside any transaction.
        try:
            if not isinstance(provider, MpesaProvider):
                raise ProviderError("M-Pesa is switched off for this shop", code="provider.not_configured")
            await provider.check_receipt(number, token)
        except ProviderError as error:
            await self._failed(job, token, error)
            return
        await self._come_back(job, "asked")

    async def abandon(self, job: jobs.Job, error: BaseException) -> None:
        """Something unexpected: stop asking, and tell the merchant the receipt could not be checked."""
        await self._give_up(job, str(job.payload.get("check_token", "")), f"unexpected error ({type(error).__name__})")

    async def _failed(self, job: jobs.Job, token: str, error: ProviderError) -> None:
        code = error.code or "error"
        if error.retryable and job.attempts < len(WAITS):
            log.info("transaction status for a c2b receipt not asked (%s): trying again later", code)
            await self._come_back(job, code)
            return
        log.warning("transaction status for a c2b receipt not asked (%s): giving up", code)
        await self._give_up(job, token, f"M-Pesa did not take the request ({code})")

    async def _come_back(self, job: jobs.Job, note: str) -> None:
        async with self.database.uow() as uow:
            now = self.clock.now()
            await jobs.retry_later(uow.session, job.id, now + WAITS[min(job.attempts, len(WAITS)) - 1], note, now)
            await uow.commit()

    async def _give_up(self, job: jobs.Job, token: str, why: str) -> None:
        async with self.database.uow() as uow:
            now = self.clock.now()
            found = await self._waiting(uow.session, token)
            if found is not None:
                await c2b_check.not_asked(uow.session, found[1], found[0], why, now)
            await jobs.give_up(uow.session, job.id, why, now)
            await uow.commit()

    async def _waiting(self, session: AsyncSession, token: str) -> tuple[C2BReceipt, Tenant] | None:
        receipt = await c2b_check.by_token(session, token) if token else None
        if receipt is None or receipt.status != c2b_check.WAITING:
            return None
        tenant = await TenantRepository(session).by_id(receipt.tenant_id)
        return None if tenant is None else (receipt, tenant)
