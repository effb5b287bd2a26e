"""Payment jobs: provider work that must not run inside a Telegram update and must survive a crash.

A job is a row of ``payment_jobs`` written in the transaction of the change that owes it (pressing "Pay" opens the
attempt and its ``payment.start`` job together), with a ``kind`` that names its handler and a JSON ``payload``; its
dedupe key (unique per tenant) makes one change owe one job. The ``JobWorker`` claims due rows as the outbox relay
does (a lease in ``claimed_until``; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers share the table; one
worker per process on SQLite), commits the claim, and runs the kind's handler outside any transaction.

A claim marks the row ``running``. A worker that dies mid-call leaves it ``running`` with a lease that runs out; the
next claim hands it to its handler with ``in_doubt`` set: the call may or may not have reached the provider, and the
handler must find out (or wait to be told) rather than call again. Statuses:

==========  =======================================================================================================
pending     due at ``next_attempt_at`` (a new job, or one put back after a failure that was safe to retry)
running     claimed; ``claimed_until`` is the lease
done        the handler finished (whatever the provider answered)
failed      given up: the handler has told whoever was waiting
==========  =======================================================================================================

A handler records its result with ``finish``/``retry_later``/``give_up`` in the unit of work that records what the
result changed, so the job and its effect commit together. An exception that escapes a handler is given to the
handler's ``abandon``, which must end the work in a way the customer hears of.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from asyncio import FIRST_COMPLETED
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.engine import Database
from core.db.insert import insert_if_absent
from core.db.tables import PaymentJob

log = logging.getLogger(__name__)


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


_OWED = "dukabot.jobs.owed"


async def enqueue(
    session: AsyncSession,
    *,
    tenant_id: int,
    kind: str,
    dedupe_key: str,
    now: datetime,
    payload: Mapping[str, Any] | None = None,
    payment_id: int | None = None,
    due: datetime | None = None,
) -> int | None:
    """Owe a job, in the caller's transaction, to run at once or from ``due``. None when a job with this key is
    already owed (or was done)."""
    new_id = await insert_if_absent(
        session,
        PaymentJob.__table__,  # type: ignore[arg-type]
        {
            "tenant_id": tenant_id,
            "kind": kind,
            "dedupe_key": dedupe_key,
            "payment_id": payment_id,
            "payload": dict(payload or {}),
            "status": JobStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": due or now,
            "created_at": now,
            "updated_at": now,
        },
    )
    if new_id is not None:
        session.info[_OWED] = True
    return new_id


def owes_jobs(session: AsyncSession) -> bool:
    """Whether this session's transaction wrote jobs: only then is the worker worth waking after commit."""
    return bool(session.info.get(_OWED))


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    tenant_id: int
    kind: str
    payment_id: int | None
    payload: Mapping[str, Any]
    attempts: int  # claims so far, this one included
    in_doubt: bool  # an earlier claim ran out while its handler was running: it may have called the provider


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        PaymentJob.status.in_([JobStatus.PENDING.value, JobStatus.RUNNING.value]),
        PaymentJob.next_attempt_at <= now,
        or_(PaymentJob.claimed_until.is_(None), PaymentJob.claimed_until <= now),
    )


async def any_due(session: AsyncSession, now: datetime) -> bool:
    """Whether ``claim_due`` would find a job: a read, so a worker that looks now and then takes no write lock to
    find nothing."""
    return (await session.scalar(select(PaymentJob.id).where(*_due(now)).limit(1))) is not None


async def claim_due(session: AsyncSession, now: datetime, limit: int, lease: timedelta) -> list[Job]:
    due = select(PaymentJob).where(*_due(now)).order_by(PaymentJob.next_attempt_at, PaymentJob.id).limit(limit)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claimed = []
    for row in await session.scalars(due):
        in_doubt = row.status == JobStatus.RUNNING.value
        row.status = JobStatus.RUNNING.value
        row.claimed_until = now + lease
        row.attempts += 1
        row.updated_at = now
        claimed.append(Job(row.id, row.tenant_id, row.kind, row.payment_id, dict(row.payload), row.attempts, in_doubt))
    return claimed


async def _end(session: AsyncSession, job_id: int, now: datetime, **values: Any) -> None:
    await session.execute(
        update(PaymentJob)
        .where(PaymentJob.id == job_id)
        .values(claimed_until=None, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )


async def finish(session: AsyncSession, job_id: int, now: datetime) -> None:
    await _end(session, job_id, now, status=JobStatus.DONE.value)


async def retry_later(session: AsyncSession, job_id: int, at: datetime, error: str, now: datetime) -> None:
    """Only for a failure that cannot have reached the provider (or that the provider refused outright)."""
    await _end(session, job_id, now, status=JobStatus.PENDING.value, next_attempt_at=at, last_error=error[:500])


async def give_up(session: AsyncSession, job_id: int, error: str, now: datetime) -> None:
    await _end(session, job_id, now, status=JobStatus.FAILED.value, last_error=error[:500])


class JobHandler(Protocol):
    async def run(self, job: Job) -> None:
        """Do the job and record its result (``finish``/``retry_later``/``give_up``) with its effect."""
        ...

    async def abandon(self, job: Job, error: BaseException) -> None:
        """``run`` raised: end the work (and the job) so that nobody is left waiting on it."""
        ...


class JobWorker:
    """Claims due jobs and runs their handlers, up to ``concurrency`` at a time, each as soon as a slot is free (one
    slow provider call holds one slot, not the others); started and stopped with the app, woken after a commit that
    owed jobs (``wake``), and looking every ``poll_interval`` seconds for retries and leases that ran out. A look that
    finds nothing only reads (``_claim``)."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        handlers: Mapping[str, JobHandler],
        *,
        concurrency: int = 20,
        lease: float = 120.0,
        poll_interval: float = 1.0,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.handlers = dict(handlers)
        self.concurrency = concurrency
        self.lease = timedelta(seconds=lease)  # longer than any provider call's timeouts, or a call could run twice
        self.poll_interval = poll_interval
        self.on_done = on_done or (lambda: None)  # wakes the outbox relay: a job's result owes the chat a message
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Ask for a look now (after committing new jobs, and to stop)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        running: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            self._wake.clear()
            free = self.concurrency - len(running)
            claimed: list[Job] = []
            if free > 0:
                try:
                    claimed = await self._claim(free)
                except Exception:  # a database outage must not end the worker; the next look tries again
                    log.exception("payment jobs could not be claimed")
            for job in claimed:
                task = asyncio.create_task(self._run(job), name=f"payment-job-{job.id}")
                running.add(task)
                task.add_done_callback(running.discard)
            if claimed and len(claimed) == free:
                continue  # more may be due
            woken = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({woken, *running}, timeout=self.poll_interval, return_when=FIRST_COMPLETED)
            finally:
                woken.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def run_once(self) -> int:
        """Claim what is due (up to ``concurrency``) and run it, side by side, to the end. How many were claimed."""
        jobs = await self._claim(self.concurrency)
        await asyncio.gather(*(self._run(job) for job in jobs))
        return len(jobs)

    async def _claim(self, limit: int) -> list[Job]:
        """Due jobs, claimed. It reads first: most looks (the poll, a job's end) find nothing, and on SQLite a write
        transaction that finds nothing still queues every other writer behind it (the applier of payments, the
        relay)."""
        async with self.database.uow(read_only=True) as look:
            if not await any_due(look.session, self.clock.now()):
                return []
        async with self.database.uow() as uow:
            jobs = await claim_due(uow.session, self.clock.now(), limit, self.lease)
            await uow.commit()
        return jobs

    async def _run(self, job: Job) -> None:
        try:
            await self._handle(job)
        finally:
            self.on_done()

    async def _handle(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        if handler is None:
            log.error("payment job %s: no handler for kind %s", job.id, job.kind)
            async with self.database.uow() as uow:
                await give_up(uow.session, job.id, f"no handler for {job.kind}", self.clock.now())
                await uow.commit()
            return
        try:
            await handler.run(job)
        except Exception as error:
            log.exception("payment job %s (%s) failed unexpectedly", job.id, job.kind)
            try:
                await handler.abandon(job, error)
            except Exception:  # the lease runs out and the job comes back, in doubt
                log.exception("payment job %s (%s) could not be abandoned", job.id, job.kind)
