"""Provider events recorded on arrival and applied off the request.

A route hands :meth:`Ingest.record` what it received with its check (its token, signature or source, and that the
event fits the payment it names): the check runs in the recording transaction and gives the tenant's events, or the
route's refusal. ``record`` returns once the events are committed to ``inbound_events``; only then is the provider
answered. Arrivals that come while a commit is running wait for the next one and share it (their checks, reads
only, run in it too), so a burst costs one transaction per batch, not one or two per callback. An event this
tenant already applied (``payment_events``) or already recorded is recognised by the unique keys and is not recorded
again: a duplicate commits nothing and wakes nothing.

What this process knows without the database (:mod:`payments.ingest_policy`): the keys of events it saw committed
(recorded, found recorded or applied, or applied by it), added only after the transaction ended well, so a key found
there is a true "already have it" and skips the read and the insert; and what a route's full check found about a
request (the payment a token names), so that a route can answer a redelivery with no database trip at all
(:meth:`known`, :meth:`recall`, :meth:`remember`; the phone-push callback route uses them). Both are bounded
(``KEPT`` entries).

The applier (:meth:`Ingest.run`, started and stopped with the app) is woken by every new record and applies what is
recorded in id order, when :class:`~payments.ingest_policy.ApplyPolicy` says: while arrivals wait to be recorded it
yields to them (with a guaranteed share of the time), while callbacks come it applies one event per transaction,
and otherwise a batch: ``apply_event`` for each, the rows deleted, one commit, then the relay is woken when
messages are owed. A batch that fails is applied again one event per transaction, so one bad event
holds up nobody else; it keeps its row (tried again on the next look, up to ``MAX_ATTEMPTS``) with its error. What a
crash leaves recorded but not applied is applied when the applier starts again; applying twice is harmless, since
``apply_event`` is idempotent on the event's key.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox
from core.clock import Clock, utc
from core.db.engine import Database
from core.db.tables import InboundEvent, PaymentEvent
from core.money import Money
from payments.base import Outcome, ProviderEvent, ReviewWord
from payments.ingest_policy import KEPT, ApplyPolicy, CheckedBefore, EventKey, Recent
from payments.service import apply_event

log = logging.getLogger(__name__)
# Each event's way through recording and applying, for the latency bench (``python -m bench latency --timeline``):
# silent unless a handler asks for its debug lines.
timeline = logging.getLogger("dukabot.timeline")

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Checked:
    """What a route's check found in a request: events of ``tenant_id`` that may be recorded."""

    tenant_id: int
    events: Sequence[ProviderEvent]


# A route's check of one request, run inside the recording transaction: the events, or the route's refusal.
Check = Callable[[AsyncSession], Awaitable["Checked | R"]]

MAX_ATTEMPTS = 5  # an event that failed this often waits for an operator (logged at each failure)


def to_json(event: ProviderEvent) -> dict[str, Any]:
    return {
        "provider": event.provider,
        "event_key": event.event_key,
        "payment_reference": event.payment_reference,
        "outcome": event.outcome.value,
        "amount": [event.amount.minor, event.amount.currency] if event.amount is not None else None,
        "provider_txn_id": event.provider_txn_id,
        "reason": event.reason,
        "reason_code": event.reason_code,
        "reason_key": event.reason_key,
        "occurred_at": event.occurred_at.isoformat() if event.occurred_at is not None else None,
        "raw": dict(event.raw),
        "provider_ref": event.provider_ref,
        "review": event.review,
        "review_words": [
            {
                "key": word.key,
                "values": dict(word.values),
                "amounts": {name: [money.minor, money.currency] for name, money in word.amounts.items()},
            }
            for word in event.review_words
        ],
        "channel": event.channel,
        "amount_is_attempts": event.amount_is_attempts,
    }


def from_json(data: dict[str, Any]) -> ProviderEvent:
    amount = data.get("amount")
    occurred = data.get("occurred_at")
    return ProviderEvent(
        provider=data["provider"],
        event_key=data["event_key"],
        payment_reference=data["payment_reference"],
        outcome=Outcome(data["outcome"]),
        amount=Money(int(amount[0]), str(amount[1])) if amount else None,
        provider_txn_id=data.get("provider_txn_id"),
        reason=data.get("reason"),
        reason_code=data.get("reason_code"),
        reason_key=data.get("reason_key"),
        occurred_at=utc(datetime.fromisoformat(occurred)) if occurred else None,
        raw=data.get("raw") or {},
        provider_ref=data.get("provider_ref"),
        review=data.get("review"),
        review_words=tuple(
            ReviewWord(
                word["key"],
                word.get("values") or {},
                {
                    name: Money(int(minor), str(currency))
                    for name, (minor, currency) in (word.get("amounts") or {}).items()
                },
            )
            for word in data.get("review_words") or ()
        ),
        channel=data.get("channel"),
        amount_is_attempts=bool(data.get("amount_is_attempts")),
    )


@dataclass(slots=True)
class _Arrival(Generic[R]):
    check: Check[R]
    answer: asyncio.Future[int | R]  # how many of its events were new, or the check's refusal
    events: list[tuple[EventKey, ProviderEvent]]
    arrived: float = 0.0  # time.monotonic() when it came (the timeline's)


class Ingest:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        on_applied: Callable[[], None] | None = None,
        claim_owed: Callable[[AsyncSession], Awaitable[Callable[[bool], None]]] | None = None,
        batch: int = 8,
        poll_interval: float = 5.0,
        policy: ApplyPolicy | None = None,
        kept: int = KEPT,
    ) -> None:
        self.database = database
        self.clock = clock
        self.on_applied = on_applied or (lambda: None)  # wakes the outbox relay: applied events owe messages
        # Claims the messages a batch owes in the batch's own transaction (``OutboxRelay.claim_within``) and gives
        # what starts their delivery once it is committed (called with whether it was), in place of ``on_applied``.
        self.claim_owed = claim_owed
        # Events applied per transaction. On SQLite that transaction holds the one write lock, and the relay's claims
        # and results queue behind it: a small batch keeps the wait of a receipt short; a commit every few events
        # still spares most of a commit per event.
        self.batch = batch
        self.poll_interval = poll_interval  # a look now and then, for events whose earlier try failed
        self.policy = policy or ApplyPolicy(batch=batch)
        self._arrivals: list[_Arrival[Any]] = []
        self._recorder: asyncio.Task[None] | None = None
        self._recorder_idle = asyncio.Event()  # clear while arrivals wait to be recorded (queued or committing)
        self._recorder_idle.set()
        self._wake = asyncio.Event()
        # Events this process recorded and has not applied: an estimate (not another process's, nor a crash's), set
        # right whenever the applier finds the inbox drained. It steers the policy only.
        self.backlog = 0
        self._recorded = 0  # events recorded by this process, ever (the backlog is set right from it)
        self._applying = False  # the applier runs (only then may recording wait for it)
        self._cut_short = False  # the last batch stopped early for arrivals
        self._committing = 0  # arrivals in the recorder's commit under way
        self._committed_at = 0.0  # time.monotonic() of the applier's last commit (the timeline's)
        self._under_high_water = asyncio.Event()
        self._under_high_water.set()
        self._committed: Recent[EventKey, bool] = Recent(kept)  # event keys known committed (ingest_policy)
        self._checked: Recent[str, CheckedBefore] = Recent(kept)  # what routes' checks found, by the route's key

    # What this process knows without the database (payments.ingest_policy)

    def known(self, key: EventKey) -> bool:
        """Whether the event is known committed (recorded or applied): a redelivery of it changes nothing."""
        return self._committed.get(key) is not None

    def recall(self, request_key: str) -> CheckedBefore | None:
        """What a route's full check found for this request key before (the route's key: a payment's token)."""
        return self._checked.get(request_key)

    def remember(self, request_key: str, found: CheckedBefore) -> None:
        self._checked.put(request_key, found)

    def forget_tenant(self, tenant_id: int | None = None) -> None:
        """A tenant's settings changed (every tenant's when None): what routes' checks found with the old ones goes."""
        self._checked.drop_if(lambda found: tenant_id is None or found.tenant_id == tenant_id)

    @property
    def waiting(self) -> int:
        """Arrivals waiting to be recorded: queued, or in the commit under way."""
        return len(self._arrivals) + self._committing

    @property
    def recording(self) -> bool:
        """Arrivals wait to be recorded (queued, or their commit under way)."""
        return not self._recorder_idle.is_set()

    def _known_committed(self, keys: Sequence[EventKey]) -> None:
        for key in keys:
            self._committed.put(key, True)

    # Recording (on the request)

    async def record(self, check: Check[R]) -> int | R:
        """Run ``check`` and commit the events it gives to the inbox: how many of them were new (0: all seen
        before), or the refusal ``check`` returned. Returns after the commit."""
        arrival: _Arrival[R] = _Arrival(check, asyncio.get_running_loop().create_future(), [], time.monotonic())
        self._arrivals.append(arrival)
        self._recorder_idle.clear()
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_arrivals(), name="ingest-recorder")
        return await arrival.answer

    async def _record_arrivals(self) -> None:
        try:
            await self._record_waiting()
        finally:
            if not self._arrivals:
                self._recorder_idle.set()

    async def _record_waiting(self) -> None:
        while self._arrivals:
            while self._applying and not self.policy.may_record(self.backlog):
                self._under_high_water.clear()  # overload: the applier catches up first (ingest_policy)
                await self._under_high_water.wait()
            batch, self._arrivals = self._arrivals, []
            self._committing = len(batch)
            began = time.monotonic()
            try:
                new = await self._commit(batch)
            except Exception as error:  # each waiting request answers with an error: the provider delivers again
                log.exception("inbound events could not be recorded")
                for arrival in batch:
                    if not arrival.answer.done():
                        arrival.answer.set_exception(error)
                continue
            finally:
                self._committing = 0
            for arrival in batch:
                if not arrival.answer.done():
                    arrival.answer.set_result(sum(1 for key, event in arrival.events if new.get(key) is event))
            if new:
                self.backlog += len(new)
                self._recorded += len(new)
                self.wake()
                if timeline.isEnabledFor(logging.DEBUG):
                    _trace_recorded(batch, new, began)

    async def _commit(self, batch: Sequence[_Arrival[Any]]) -> dict[EventKey, ProviderEvent]:
        """One transaction for the whole batch: each arrival's check, which keys were applied already (one read),
        the others inserted in one statement that skips what is already recorded; a commit only when something is
        new. The events newly recorded, by key. Keys known committed skip the read and the insert."""
        now = self.clock.now()
        seen: list[EventKey] = []  # every key found or written: known committed once this transaction has ended
        async with self.database.uow() as uow:
            session = uow.session
            for arrival in batch:
                try:
                    checked = await arrival.check(session)
                except Exception as error:  # this request's own failure: the others are still recorded
                    arrival.answer.set_exception(error)
                    continue
                if not isinstance(checked, Checked):
                    arrival.answer.set_result(checked)
                    continue
                arrival.events = [
                    ((checked.tenant_id, event.provider, event.event_key), event) for event in checked.events
                ]
            firsts: dict[EventKey, ProviderEvent] = {}
            for arrival in batch:
                for key, event in arrival.events:
                    if not self.known(key):
                        firsts.setdefault(key, event)  # a key twice in one batch: its first
            if not firsts:
                return {}
            seen = list(firsts)
            applied = await session.execute(
                select(PaymentEvent.tenant_id, PaymentEvent.provider, PaymentEvent.event_key).where(
                    tuple_(PaymentEvent.tenant_id, PaymentEvent.provider, PaymentEvent.event_key).in_(list(firsts))
                )
            )
            for tenant_id, provider, event_key in applied:
                firsts.pop((int(tenant_id), str(provider), str(event_key)), None)
            rows = [
                {
                    "tenant_id": key[0],
                    "provider": key[1],
                    "event_key": key[2],
                    "event": to_json(event),
                    "received_at": now,
                    "attempts": 0,
                }
                for key, event in firsts.items()
            ]
            inserted = await _insert_new(session, rows) if rows else set()
            if inserted:
                await uow.commit()
        # Committed (or, when nothing was new, every key was found in a committed row): only now are they known.
        # A transaction that failed raised before this line, and its keys stay unknown.
        self._known_committed(seen)
        return {key: event for key, event in firsts.items() if key in inserted}

    # Applying (off the request)

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Apply what is recorded until ``stop``, when the policy says (``payments.ingest_policy``)."""
        self._applying = True
        try:
            while not stop.is_set():
                pause, limit = self.policy.next_batch(time.monotonic(), self.backlog, self.recording)
                if pause > 0:  # arrivals wait: the recorder goes first, until it is idle or the applier's share is due
                    paused = time.monotonic()
                    await _first_of(stop.wait(), self._recorder_idle.wait(), seconds=pause)
                    if timeline.isEnabledFor(logging.DEBUG):
                        timeline.debug(
                            "pause - %.6f %.3f %.3f %d", paused, pause, time.monotonic() - paused, self.backlog
                        )
                    continue
                self._wake.clear()
                started = time.monotonic()
                try:
                    applied = await self.apply_recorded(limit)
                except Exception:  # a database outage must not end the applier; the next look tries again
                    log.exception("inbound events could not be applied")
                    applied = 0
                if applied:
                    self.policy.applied(started, time.monotonic())
                if applied >= limit or self._cut_short:
                    continue  # more may be waiting
                await _first_of(stop.wait(), self._wake.wait(), seconds=self.poll_interval)
        finally:
            self._applying = False
            self._under_high_water.set()  # nobody waits for an applier that has stopped

    async def apply_recorded(self, limit: int | None = None) -> int:
        """Apply up to ``limit`` (``batch``) recorded events, oldest first, in one transaction (one per event when
        that fails), stopping after the event at hand when the policy says arrivals go first; how many were looked
        at."""
        limit = limit or self.batch
        ids: list[int] = []
        recorded_before = self._recorded
        self._cut_short = False
        looked = time.monotonic()
        try:
            async with self.database.uow() as uow:
                rows = await _claim(uow.session, limit)
                locked = time.monotonic()
                keys: list[EventKey] = []
                for row in rows:
                    if ids and not self.policy.go_on(self.backlog, self.waiting):
                        self._cut_short = True  # the rest stays recorded for the next batch
                        break
                    ids.append(row.id)
                    keys.append((row.tenant_id, row.provider, row.event_key))
                    await apply_event(uow.session, row.tenant_id, from_json(row.event), self.clock)
                if ids:
                    await uow.session.execute(
                        delete(InboundEvent)
                        .where(InboundEvent.id.in_(ids))
                        .execution_options(synchronize_session=False)
                    )
                    owes = outbox.owes_messages(uow.session)
                    handed = await self.claim_owed(uow.session) if owes and self.claim_owed is not None else None
                    committed = False
                    try:
                        await uow.commit()
                        committed = True
                        self._committed_at = time.monotonic()
                    finally:
                        if handed is not None:
                            handed(committed)
                    if owes and handed is None:
                        self.on_applied()
            self._known_committed(keys)
            if keys and timeline.isEnabledFor(logging.DEBUG):
                done = self._committed_at
                for key in keys:
                    timeline.debug("apply %s %.6f %.6f %.6f %d", key[2], looked, locked, done, len(keys))
            drained = len(rows) < limit and not self._cut_short  # the look found all there was, and applied it
            self._applied(len(ids), drained_at=recorded_before if drained else None)
            return len(ids)
        except Exception:
            if len(ids) <= 1:
                if ids:
                    await self._failed(ids[0])
                raise
        log.warning("a batch of %d inbound events failed; applying them one at a time", len(ids))
        for event_id in ids:
            await self._apply_one(event_id)
        return len(ids)

    async def _apply_one(self, event_id: int) -> None:
        try:
            async with self.database.uow() as uow:
                row = await uow.session.get(InboundEvent, event_id)
                if row is None:
                    return  # applied meanwhile (another process)
                await apply_event(uow.session, row.tenant_id, from_json(row.event), self.clock)
                key = (row.tenant_id, row.provider, row.event_key)
                await uow.session.delete(row)
                owes = outbox.owes_messages(uow.session)
                await uow.commit()
            self._known_committed([key])
            self._applied(1)
            if owes:
                self.on_applied()
        except Exception:
            log.exception("inbound event %s could not be applied", event_id)
            await self._failed(event_id)

    def _applied(self, count: int, *, drained_at: int | None = None) -> None:
        """``count`` events applied. ``drained_at``: the look found fewer than it asked for, so all that was recorded
        before it began (this process's ``_recorded`` then) is applied: what is left is at most what came since."""
        if drained_at is not None:
            self.backlog = self._recorded - drained_at
        else:
            self.backlog = max(0, self.backlog - count)
        if self.policy.may_record(self.backlog):
            self._under_high_water.set()

    async def _failed(self, event_id: int) -> None:
        async with self.database.uow() as uow:
            await uow.session.execute(
                update(InboundEvent)
                .where(InboundEvent.id == event_id)
                .values(attempts=InboundEvent.attempts + 1, last_error="apply failed (see the log)")
                .execution_options(synchronize_session=False)
            )
            await uow.commit()


def _trace_recorded(batch: Sequence[_Arrival[Any]], new: dict[EventKey, ProviderEvent], began: float) -> None:
    done = time.monotonic()
    for arrival in batch:
        for key, event in arrival.events:
            if new.get(key) is event:
                timeline.debug("record %s %.6f %.6f %.6f %d", key[2], arrival.arrived, began, done, len(batch))


async def _first_of(*waits: Awaitable[Any], seconds: float) -> None:
    """Wait until the first of ``waits`` is done, or ``seconds``."""
    waiters = {asyncio.ensure_future(wait) for wait in waits}
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _claim(session: AsyncSession, limit: int) -> list[InboundEvent]:
    """The oldest recorded events. On PostgreSQL another process's applier skips the rows this one holds."""
    query = select(InboundEvent).where(InboundEvent.attempts < MAX_ATTEMPTS).order_by(InboundEvent.id).limit(limit)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(await session.scalars(query))


async def _insert_new(session: AsyncSession, rows: list[dict[str, Any]]) -> set[tuple[int, str, str]]:
    table = InboundEvent.__table__
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    module = postgresql if dialect == "postgresql" else sqlite
    statement = (
        module.insert(table)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(table.c.tenant_id, table.c.provider, table.c.event_key)
    )
    return {(int(t), str(p), str(k)) for t, p, k in await session.execute(statement)}
