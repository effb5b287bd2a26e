"""The merchant told when a fiscal document is still owed after the shop's window (``alert_after_hours`` of its
settings): one alert per document, through the outbox, while the job keeps trying."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Final

from sqlalchemy import select

from core.clock import Clock
from core.db.engine import Database
from core.db.tables import FiscalDevice, Order, PaymentJob, Tenant
from core.merchant_alerts import Render, alert_merchant
from core.messages import Message
from core.texts import register_catalog, text
from fiscal.registry import ENTRIES
from payments.fiscal_hook import job_kind
from payments.jobs import JobStatus

log = logging.getLogger(__name__)
register_catalog("fiscal.locales")

DEFAULT_HOURS: Final = 24


class FiscalOverdue:
    """A worker (``payments.base.Worker``) of the server process."""

    name = "fiscal-overdue"

    def __init__(self, database: Database, clock: Clock, *, interval: float = 300.0) -> None:
        self.database = database
        self.clock = clock
        self.interval = interval

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # a database outage must not end the worker
                log.exception("overdue fiscal documents could not be checked")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)

    async def run_once(self) -> int:
        """Owe an alert for each overdue document (the outbox keeps one per document); how many are overdue."""
        now = self.clock.now()
        owed = 0
        async with self.database.uow() as uow:
            session = uow.session
            shops = (await session.execute(select(FiscalDevice, Tenant).join(Tenant).where(FiscalDevice.enabled))).all()
            for device, tenant in shops:
                entry = ENTRIES.get(device.authority)
                if entry is None:
                    continue
                hours = int(str((device.options or {}).get("alert_after_hours") or DEFAULT_HOURS))
                late = (
                    await session.scalars(
                        select(PaymentJob).where(
                            PaymentJob.tenant_id == tenant.id,
                            PaymentJob.kind == job_kind(device.authority),
                            PaymentJob.status.in_([JobStatus.PENDING.value, JobStatus.RUNNING.value]),
                            PaymentJob.created_at <= now - timedelta(hours=hours),
                        )
                    )
                ).all()
                for job in late:
                    order = await session.get(Order, int(job.payload.get("order_id", 0)))
                    values = {
                        "authority": entry.label,
                        "code": order.code if order is not None else "?",
                        "hours": hours,
                        "error": (job.last_error or "-")[:200],
                    }
                    await alert_merchant(session, tenant, f"fiscal-late:{job.id}", _late(values), now)
                    owed += 1
            await uow.commit()
        return owed


def _late(values: dict[str, object]) -> Render:
    def alert(language: str) -> Message:
        return Message(text("fiscal.late", language, **values))

    return alert
