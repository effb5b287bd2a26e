"""The outbox relay: delivers owed chat messages through a ``Notifier`` and records what happened.

One pass (``run_once``):

1. claim a batch of due rows in one short unit of work and commit the claim (a lease: ``claimed_until``). On PostgreSQL
   the claim uses ``FOR UPDATE SKIP LOCKED``, so several relays share the table; on SQLite run one relay per process;
2. send each row outside any transaction, rows of one chat in order and one after the other, different chats side by
   side. Sends are paced per chat (about 1/s, 1 per 3 s for groups) and per tenant bot (about 30/s), by
   ``core.pacing`` (in this process) or ``core.redis_pacing`` (shared by the processes of one Redis);
3. record each result in its own short unit of work.

What a result does to its row:

=====================  ==========================================================================================
sent                   SENT, with the Telegram message id the notifier returned
``RetryAfter`` (429)   back to due at now + retry_after, the try is not counted; the chat and the bot pause until then
``TransientError``     network, timeout, 5xx: counted, exponential back-off with jitter, DEAD after ``max_attempts``
``PermanentError``     another 400: counted and retried, DEAD after ``max_permanent_attempts`` (at most max_attempts)
``Undeliverable``      403 (bot blocked), chat not found or deactivated: UNDELIVERABLE, never retried
=====================  ==========================================================================================

A row whose message ``replaces`` an earlier row of its chat is resolved right before its send
(``outbox.replacing``): the notifier edits the earlier row's Telegram message when that row was sent (and sends anew
when the edit is refused); an earlier row still owed is superseded and never sent; one held by another relay's lease
is waited for, the replacing row and those after it in its chat given back uncounted. So a replacement never
overtakes the row it replaces, and the chat shows exactly one of them.

UNDELIVERABLE and DEAD rows are reported to the merchant through the outbox, dedupe key
``relay:<kind>:<row id>:to:<chat>``, in the same unit of work as the row's final state; except when the failed row was
itself going to a merchant chat or was itself such a report: an alert about an alert would loop.

A send starts only while the lease still covers ``send_timeout`` and a safety margin, and a send that outlives
``send_timeout`` is abandoned (retried, counted, like a transient error). So while a lease holds no other relay can
claim the row, and no relay sends it once the lease may be gone. A relay that dies between claim and send loses
nothing: the row is due again when its lease runs out. Delivery is at least once: a relay that dies after Telegram
accepted a message but before SENT was committed leaves a row whose outcome is unknown (``Claimed.unknown``: claimed
again after its lease ran out with no result recorded; a send that timed out is noted so too). Telegram has no
idempotency key, so such a row is delivered so that a second copy is harmless: a row that replaces a sent row edits
that message again (an edit is idempotent: "not modified" counts as sent), and anything else, including a refused
edit, goes out marked as a repeat (``outbox.as_repeat``). Direct replies share this relay's ``Pacing``
(``bot.replies``) and hand the replies they cannot send in time to the outbox.

Logs carry row ids, tenant ids, chat ids and error classes; never message text, and never a bot token.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import update

from core import outbox
from core.clock import Clock
from core.db.engine import Database
from core.db.tables import OutboxMessage
from core.dead_letters import MerchantChats, alert_merchant, merchant_chats
from core.messages import Message
from core.notify import (
    Notifier,
    NotifierError,
    PermanentError,
    RetryAfter,
    TransientError,
    Undeliverable,
    scrub,
)
from core.outbox import Claimed, OutboxStatus
from core.pacing import Pacer, Pacing, PacingLimits, hold_chat_after_send

# The Notifier port lives in core.notify; it is re-exported here for the modules that import it from the relay.
__all__ = [
    "Notifier",
    "NotifierError",
    "OutboxRelay",
    "PermanentError",
    "RelayStats",
    "RetryAfter",
    "TransientError",
    "Undeliverable",
    "scrub",
]

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


# --------------------------------------------------------------------------------------------------- statistics


@dataclass(slots=True)
class RelayStats:
    """Counters since the relay started, for a metrics layer to read (``as_dict`` or the attributes)."""

    claimed: int = 0  # rows claimed
    sent: int = 0  # rows delivered
    retried: int = 0  # counted failures put back for later (transient or 400)
    rate_limited: int = 0  # 429s waited out
    undeliverable: int = 0  # rows marked UNDELIVERABLE
    dead: int = 0  # rows given up on
    deferred: int = 0  # rows given back uncounted because pacing or a pause would have held them too long
    alerts: int = 0  # merchant alerts enqueued about undeliverable or dead rows
    errors: int = 0  # the relay's own failures (database), the row stays claimed until its lease ends

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# --------------------------------------------------------------------------------------------------- the relay


@dataclass(frozen=True, slots=True)
class _Outcome:
    kind: str  # "sent" | "retry_after" | "transient" | "permanent" | "undeliverable"
    reason: str = ""
    retry_after: float = 0.0
    message_id: int | None = None  # "sent": the Telegram message that shows the row
    unknown: bool = False  # the send may have reached the chat all the same (no answer in time)


class OutboxRelay:
    """Claims due outbox rows, sends them through ``notifier`` and records the results. See the module docstring.

    ``sleep`` is how the relay waits for pacing (``asyncio.sleep`` by default); tests pass one that moves a fake clock.
    ``rng`` supplies the back-off jitter. ``merchant_chats`` says where merchant alerts go. ``pacing`` builds the pacing
    from the ``per_*`` limits: ``Pacer`` keeps it in this process, ``core.redis_pacing.RedisPacer`` shares it through
    Redis with the relays of other processes. ``pacer``, when given, is used as it is instead (its own limits apply):
    the composition root builds one and shares it with the direct replies, so a bot's sends are paced together.
    """

    def __init__(
        self,
        database: Database,
        notifier: Notifier,
        clock: Clock,
        *,
        batch: int = 50,
        max_attempts: int = 8,
        max_permanent_attempts: int = 3,
        per_chat_interval: float = 1.0,
        per_group_interval: float = 3.0,
        per_bot_rate: float = 30.0,
        lease: float = 60.0,
        send_timeout: float = 20.0,
        max_hold: float = 5.0,
        backoff_base: float = 5.0,
        backoff_cap: float = 1800.0,
        poll_interval: float = 1.0,
        concurrency: int = 4,
        pause_bot_on_rate_limit: bool = True,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
        merchant_chats: MerchantChats = merchant_chats,
        pacing: Callable[[PacingLimits], Pacing] = Pacer,
        pacer: Pacing | None = None,
    ) -> None:
        if batch < 1 or max_attempts < 1 or concurrency < 1:
            raise ValueError("batch, max_attempts and concurrency must be at least 1")
        if lease <= send_timeout:
            raise ValueError("the lease must outlast a send: lease > send_timeout")
        self._db = database
        self._notifier = notifier
        self._clock = clock
        self.batch = batch
        self.max_attempts = max_attempts
        self.max_permanent_attempts = max(1, min(max_attempts, max_permanent_attempts))
        self.lease = timedelta(seconds=lease)
        self.send_timeout = send_timeout
        # A send starts only if the lease still covers the send's timeout and this margin.
        self._lease_margin = timedelta(seconds=send_timeout + max(1.0, (lease - send_timeout) * 0.1))
        self.max_hold = timedelta(seconds=max_hold)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.poll_interval = poll_interval
        self.pause_bot_on_rate_limit = pause_bot_on_rate_limit
        self._sleep: Sleep = sleep or asyncio.sleep
        self._rng = rng or random.Random()
        self._merchant_chats = merchant_chats
        self._concurrency = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self.pacer = pacer or pacing(
            PacingLimits(
                per_chat_interval=per_chat_interval, per_group_interval=per_group_interval, per_bot_rate=per_bot_rate
            )
        )
        self.stats = RelayStats()

    # ------------------------------------------------------------------------------------------- loop

    def wake(self) -> None:
        """Ask the running loop for a pass now (call it right after committing new outbox rows)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set: a pass, then wait for ``wake()``, ``stop`` or ``poll_interval`` seconds.
        A full batch is followed by another pass at once."""
        logger.info("outbox relay started")
        while not stop.is_set():
            self._wake.clear()
            try:
                claimed = await self.run_once()
            except Exception as exc:  # keep the loop alive through a database outage
                self.stats.errors += 1
                logger.error("outbox relay pass failed: %s", type(exc).__name__)
                claimed = 0
            if stop.is_set():
                break
            if claimed < self.batch:
                await self._idle(stop)
        logger.info("outbox relay stopped")

    async def _idle(self, stop: asyncio.Event) -> None:
        waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())}
        try:
            await asyncio.wait(waiters, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def run_once(self) -> int:
        """One pass: claim a batch, deliver it, record every result. Returns how many rows were claimed."""
        claim_time = self._clock.now()
        async with self._db.uow() as uow:
            rows = await outbox.claim_due(uow.session, claim_time, self.batch, self.lease)
            await uow.commit()
        if not rows:
            return 0
        self.stats.claimed += len(rows)
        lease_end = claim_time + self.lease
        self.pacer.prune(claim_time)

        groups: dict[tuple[int, int], list[Claimed]] = {}
        for row in rows:  # claimed oldest first: each chat's rows keep their order
            groups.setdefault((row.tenant_id, row.chat_id), []).append(row)
        results = await asyncio.gather(
            *(self._deliver_chat(group, lease_end) for group in groups.values()), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                self.stats.errors += 1
                logger.error("outbox relay: delivering a chat's rows failed: %s", type(result).__name__)
        return len(rows)

    # ------------------------------------------------------------------------------------------- one chat

    async def _deliver_chat(self, rows: Sequence[Claimed], lease_end: datetime) -> None:
        """A chat's rows, in order, one after the other. Chats run side by side; only their units of work queue up
        (``concurrency`` at a time), so a chat waiting on its pacing holds nothing back."""
        deferred_to: datetime | None = None
        blocked: str | None = None
        for row in rows:
            try:
                if blocked is not None:  # the chat refused the previous row: do not knock again this pass
                    async with self._concurrency:
                        await self._finish(row, OutboxStatus.UNDELIVERABLE, blocked)
                    continue
                if deferred_to is None:
                    deferred_to = await self._wait_for_slot(row, lease_end)
                if deferred_to is None and row.message.replaces is not None:
                    async with self._concurrency:
                        target = await self._replacing(row)
                    deferred_to = target.wait_until
                    edit_message_id = target.message_id
                else:
                    edit_message_id = None
                if deferred_to is not None:  # keep the chat's order: every later row waits too
                    async with self._concurrency:
                        await self._defer(row, deferred_to)
                    continue
                outcome = await self._send(row, edit_message_id)
                async with self._concurrency:
                    await self._record(row, outcome)  # first: until SENT is committed, a crash repeats the message
                if outcome.kind == "sent":
                    await hold_chat_after_send(self.pacer, row.tenant_id, row.chat_id, self._clock.now())
                if outcome.kind == "undeliverable":
                    blocked = outcome.reason
            except Exception as exc:  # a database failure: the row stays claimed and comes back after the lease
                self.stats.errors += 1
                logger.error(
                    "outbox row %s: recording the result failed (%s); due again after its lease",
                    row.id,
                    type(exc).__name__,
                )

    async def _wait_for_slot(self, row: Claimed, lease_end: datetime) -> datetime | None:
        """Wait until pacing lets this row go and book the slot (None), or say until when to give the row back."""
        while True:
            now = self._clock.now()
            if now + self._lease_margin > lease_end:  # too late in the lease to start a send safely: give it back,
                return max(now, await self.pacer.ready_at(row.tenant_id, row.chat_id, now))  # uncounted
            ready = await self.pacer.try_reserve(row.tenant_id, row.chat_id, now)
            if ready is None:
                return None
            if ready - now > self.max_hold or ready + self._lease_margin > lease_end:
                return ready
            await self._sleep((ready - now).total_seconds())

    async def _replacing(self, row: Claimed) -> outbox.Replacing:
        """Which message a replacing row edits; an earlier row still owed is superseded in the same unit of work."""
        async with self._db.uow() as uow:
            target = await outbox.replacing(uow.session, row, self._clock.now())
            await uow.commit()
        if target.wait_until is not None:
            logger.debug("outbox row %s waits for the row it replaces (chat %s)", row.id, row.chat_id)
        return target

    async def _send(self, row: Claimed, edit_message_id: int | None = None) -> _Outcome:
        message = row.message
        repeat: dict[str, Message] = {}
        if row.unknown:  # it may be in the chat already: edit it in place again, or mark the new copy as a repeat
            if edit_message_id is None:
                message = outbox.as_repeat(message)
            else:
                repeat["anew"] = outbox.as_repeat(message)
        try:
            async with asyncio.timeout(self.send_timeout):
                message_id = await self._notifier.send(
                    row.tenant_id, row.chat_id, message, edit_message_id=edit_message_id, **repeat
                )
        except RetryAfter as exc:
            return _Outcome("retry_after", scrub(exc.reason), exc.seconds)
        except Undeliverable as exc:
            return _Outcome("undeliverable", scrub(exc.reason) or "undeliverable")
        except PermanentError as exc:
            return _Outcome("permanent", scrub(exc.reason) or "bad request")
        except TransientError as exc:
            reason = scrub(exc.reason) or "transient error"
            # A request that timed out may have been carried out: Telegram does not say.
            return _Outcome("transient", reason, unknown="timeout" in reason.lower() or "timed out" in reason)
        except TimeoutError:
            return _Outcome("transient", f"no answer within {self.send_timeout:g}s", unknown=True)
        except Exception as exc:  # a notifier bug or a failing bot lookup: retried, bounded like a transient error
            return _Outcome("transient", f"unexpected {type(exc).__name__}")
        return _Outcome("sent", message_id=message_id)

    # ------------------------------------------------------------------------------------------- results

    async def _record(self, row: Claimed, outcome: _Outcome) -> None:
        if outcome.kind == "sent":
            async with self._db.uow() as uow:
                await outbox.mark_sent(uow.session, row.id, self._clock.now(), outcome.message_id)
                await uow.commit()
            self.stats.sent += 1
            logger.debug("outbox row %s sent to chat %s (tenant %s)", row.id, row.chat_id, row.tenant_id)
        elif outcome.kind == "retry_after":
            now = self._clock.now()
            until = now + timedelta(seconds=outcome.retry_after)
            await self.pacer.pause(
                row.tenant_id, row.chat_id, now=now, until=until, whole_bot=self.pause_bot_on_rate_limit
            )
            async with self._db.uow() as uow:
                reason = outbox.noted(outcome.reason, unknown=row.unknown)
                await outbox.mark_retry(uow.session, row.id, until, reason, count=False)
                await uow.commit()
            self.stats.rate_limited += 1
            logger.warning(
                "outbox row %s: rate limited in chat %s (tenant %s), retry in %gs",
                row.id,
                row.chat_id,
                row.tenant_id,
                outcome.retry_after,
            )
        elif outcome.kind == "undeliverable":
            await self._finish(row, OutboxStatus.UNDELIVERABLE, outcome.reason)
        else:
            limit = self.max_permanent_attempts if outcome.kind == "permanent" else self.max_attempts
            failures = row.attempts + 1
            if failures >= limit:
                await self._finish(row, OutboxStatus.DEAD, outcome.reason)
                return
            delay = self.backoff(failures)
            async with self._db.uow() as uow:
                reason = outbox.noted(outcome.reason, unknown=row.unknown or outcome.unknown)
                await outbox.mark_retry(
                    uow.session, row.id, self._clock.now() + timedelta(seconds=delay), reason, count=True
                )
                await uow.commit()
            self.stats.retried += 1
            logger.warning(
                "outbox row %s to chat %s (tenant %s): %s failure %d/%d (%s), retry in %.1fs",
                row.id,
                row.chat_id,
                row.tenant_id,
                outcome.kind,
                failures,
                limit,
                outcome.reason,
                delay,
            )

    def backoff(self, failures: int) -> float:
        """Seconds before the next try after ``failures`` counted failures: exponential, capped, with equal jitter."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** min(failures - 1, 32))
        return ceiling / 2 + self._rng.random() * ceiling / 2

    async def _finish(self, row: Claimed, status: OutboxStatus, reason: str) -> None:
        """A final state for the row and, in the same unit of work, the merchant's alert about it."""
        async with self._db.uow() as uow:
            await outbox.mark_final(uow.session, row.id, status, reason)
            alerted = await alert_merchant(
                uow.session, row, status, reason, chats_of=self._merchant_chats, now=self._clock.now()
            )
            await uow.commit()
        if status is OutboxStatus.DEAD:
            self.stats.dead += 1
        else:
            self.stats.undeliverable += 1
        self.stats.alerts += alerted
        logger.warning(
            "outbox row %s to chat %s (tenant %s) is %s (%s); %d merchant alert(s) queued",
            row.id,
            row.chat_id,
            row.tenant_id,
            status.value,
            reason,
            alerted,
        )
        if alerted:
            self.wake()

    async def _defer(self, row: Claimed, until: datetime) -> None:
        """Give a claimed row back, uncounted and with its last error kept, due again at ``until``."""
        async with self._db.uow() as uow:
            await uow.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, OutboxMessage.status == OutboxStatus.PENDING.value)
                .values(next_attempt_at=until, claimed_until=None)
            )
            await uow.commit()
        self.stats.deferred += 1
        logger.debug("outbox row %s to chat %s deferred by pacing", row.id, row.chat_id)
