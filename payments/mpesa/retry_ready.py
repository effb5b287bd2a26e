"""Offering "Try again" when Daraja's pause is over: the handler of ``mpesa.retry_ready`` jobs.

After a push ends (a wrong PIN, a cancelled prompt), Daraja refuses another push to that phone for about a minute.
The message that says the attempt ended tells the customer how long, without a "Try again" button that would only be
refused; this job, due when the pause ends, edits that same message into its full form, button included. Nothing is
offered when the order no longer waits for this attempt (paid meanwhile, another attempt or method chosen).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from sqlalchemy import select

from core.clock import Clock
from core.db.engine import Database
from core.db.tables import Payment
from payments import jobs, notices
from payments.mpesa import messages
from payments.states import OrderStatus

log = logging.getLogger(__name__)


@dataclass
class RetryReady:
    database: Database
    clock: Clock

    async def run(self, job: jobs.Job) -> None:
        assert job.payment_id is not None
        status = str(job.payload.get("status", ""))
        code = job.payload.get("reason_code")
        async with self.database.uow() as uow:
            session = uow.session
            payment = await session.get(Payment, job.payment_id)
            assert payment is not None
            latest = await session.scalar(
                select(Payment.id)
                .where(Payment.tenant_id == payment.tenant_id, Payment.order_id == payment.order_id)
                .order_by(Payment.id.desc())
                .limit(1)
            )
            ctx = await notices.context_for(session, payment)
            if latest == payment.id and payment.status == status and ctx.order.status == OrderStatus.AWAITING_PAYMENT:
                now = self.clock.now()
                reason_code = str(code) if code is not None else None
                message = await messages.ended_message(session, ctx, status, reason_code, now)
                ended = messages.ended_key(payment.id, status)
                message = dataclasses.replace(message, replaces=ended)
                await notices.to_customer(session, ctx, f"{ended}:retry-ready", message, now)
            await jobs.finish(session, job.id, self.clock.now())
            await uow.commit()

    async def abandon(self, job: jobs.Job, error: BaseException) -> None:
        """The customer keeps the message without the button; "Other ways to pay" and a typed retry still work."""
        log.warning("payment %s: could not offer a retry (%s)", job.payment_id, type(error).__name__)
        async with self.database.uow() as uow:
            await jobs.give_up(uow.session, job.id, type(error).__name__, self.clock.now())
            await uow.commit()
