"""What the outbox relay makes of a send: the outcome of one try (``send_once``) and the row's new state (``Results``).

=====================  ==========================================================================================
sent                   SENT, with the Telegram message id the notifier returned
``RetryAfter`` (429)   back to due at now + retry_after, the try is not counted; the chat and the bot pause until then
``TransientError``     network, timeout, 5xx: counted, exponential back-off with jitter, DEAD after ``max_attempts``
``PermanentError``     another 400: counted and retried, DEAD after ``max_permanent_attempts`` (at most max_attempts)
``Undeliverable``      403 (bot blocked), chat not found or deactivated: UNDELIVERABLE, never retried
=====================  ==========================================================================================

UNDELIVERABLE and DEAD rows are reported to the merchant through the outbox (``core.dead_letters``) in the same unit
of work as the row's final state. An UNDELIVERABLE row is also handed, in that unit of work, to the relay's
``on_undeliverable`` (``Fallback``): a customer's receipt may then be owed on another channel (``core.channels``).
The rows sent by lanes that finished meanwhile are recorded together, in one unit of work that also claims each
chat's next row; other results each in a short unit of work of their own, at most
``concurrency`` at a time.

Delivery is at least once: a relay that dies after Telegram accepted a message but before SENT was committed
leaves a row whose outcome is unknown (``Claimed.unknown``: claimed again after its lease ran out with no result
recorded; a send that timed out is noted so too). Telegram has no idempotency key, so such a row is delivered so that
a second copy is harmless: a row that replaces a sent row edits that message again (an edit is idempotent: "not
modified" counts as sent), and anything else, including a refused edit, goes out marked as a repeat
(``outbox.as_repeat``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core import coalesce, outbox
from core.clock import Clock
from core.db.engine import Database
from core.dead_letters import MerchantChats, alert_merchant
from core.messages import Message
from core.notify import Notifier, PermanentError, RetryAfter, TransientError, Undeliverable, scrub
from core.outbox import Claimed, OutboxStatus
from core.pacing import Pacing

logger = logging.getLogger("core.relay")

# What else a row that became UNDELIVERABLE owes, written in the unit of work that marks it: how many rows it wrote.
Fallback = Callable[[AsyncSession, Claimed, datetime], Awaitable[int]]


async def no_fallback(_session: AsyncSession, _row: Claimed, _now: datetime) -> int:
    return 0


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


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str  # "sent" | "retry_after" | "transient" | "permanent" | "undeliverable"
    reason: str = ""
    retry_after: float = 0.0
    message_id: int | None = None  # "sent": the Telegram message that shows the row
    unknown: bool = False  # the send may have reached the chat all the same (no answer in time)


async def send_once(
    notifier: Notifier,
    row: Claimed,
    message: Message,
    *,
    edit_message_id: int | None,
    unknown: bool,
    within: float,
) -> Outcome:
    """One try at delivering ``message`` for ``row``'s chat. ``unknown``: it may be in the chat already, so it is
    edited in place again, or its new copy is marked as a repeat."""
    repeat: dict[str, Message] = {}
    if unknown:
        if edit_message_id is None:
            message = outbox.as_repeat(message)
        else:
            repeat["anew"] = outbox.as_repeat(message)
    try:
        async with asyncio.timeout(within):
            message_id = await notifier.send(
                row.tenant_id, row.chat_id, message, edit_message_id=edit_message_id, **repeat
            )
    except RetryAfter as exc:
        return Outcome("retry_after", scrub(exc.reason), exc.seconds)
    except Undeliverable as exc:
        return Outcome("undeliverable", scrub(exc.reason) or "undeliverable")
    except PermanentError as exc:
        return Outcome("permanent", scrub(exc.reason) or "bad request")
    except TransientError as exc:
        reason = scrub(exc.reason) or "transient error"
        # A request that timed out may have been carried out: Telegram does not say.
        return Outcome("transient", reason, unknown="timeout" in reason.lower() or "timed out" in reason)
    except TimeoutError:
        return Outcome("transient", f"no answer within {within:g}s", unknown=True)
    except Exception as exc:  # a notifier bug or a failing bot lookup: retried, bounded like a transient error
        return Outcome("transient", f"unexpected {type(exc).__name__}")
    return Outcome("sent", message_id=message_id)


@dataclass(eq=False, slots=True)
class _Sent:
    rows: Sequence[Claimed]
    message_id: int | None
    then_claim: timedelta | None
    done: asyncio.Future[list[Claimed] | None]


@dataclass(eq=False, slots=True)
class _Gather:
    row: Claimed
    lease: timedelta
    window: timedelta
    done: asyncio.Future[tuple[list[Claimed], coalesce.Gathered]]


class Results:
    """Records outcomes on outbox rows (see the module docstring)."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        pacer: Pacing,
        stats: RelayStats,
        *,
        max_attempts: int,
        max_permanent_attempts: int,
        backoff_base: float,
        backoff_cap: float,
        pause_bot_on_rate_limit: bool,
        concurrency: int,
        rng: random.Random,
        merchant_chats: MerchantChats,
        wake: Callable[[], None],
        due_at: Callable[[datetime], None] = lambda _at: None,
        on_undeliverable: Fallback = no_fallback,
    ) -> None:
        self._db = database
        self._clock = clock
        self._pacer = pacer
        self.stats = stats
        self.max_attempts = max_attempts
        self.max_permanent_attempts = max(1, min(max_attempts, max_permanent_attempts))
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.pause_bot_on_rate_limit = pause_bot_on_rate_limit
        self.units = asyncio.Semaphore(concurrency)  # units of work at once
        self._rng = rng
        self._merchant_chats = merchant_chats
        self._wake = wake
        self._due_at = due_at  # tells the dispatcher when a row put off here falls due again
        self._on_undeliverable = on_undeliverable
        self._sent: list[_Sent] = []  # sent rows waiting to be recorded together (``_flush_sent``)
        self._gathers: list[_Gather] = []  # coalesced groups waiting to be claimed with them
        self._flushing: asyncio.Future[None] | None = None

    def backoff(self, failures: int) -> float:
        """Seconds before the next try after ``failures`` counted failures: exponential, capped, with equal jitter."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** min(failures - 1, 32))
        return ceiling / 2 + self._rng.random() * ceiling / 2

    async def record(
        self, rows: Sequence[Claimed], outcome: Outcome, *, then_claim: timedelta | None = None
    ) -> list[Claimed] | None:
        """The outcome of one send that delivered ``rows`` (one row, or a coalesced group of one chat).

        With ``then_claim`` (a lease), a row that was sent is recorded in the same unit of work as the claim of its
        chat's next due row, which is returned (an empty list: none is due); None when nothing was claimed."""
        if outcome.kind == "sent":
            done: asyncio.Future[list[Claimed] | None] = asyncio.get_running_loop().create_future()
            self._sent.append(_Sent(rows, outcome.message_id, then_claim, done))
            self._flush()
            return await done
        if outcome.kind == "retry_after":
            await self._rate_limited(rows, outcome)
            return None
        for row in rows:
            if outcome.kind == "undeliverable":
                await self.finish(row, OutboxStatus.UNDELIVERABLE, outcome.reason)
            else:
                await self._failed(row, outcome)
        return None

    async def gather(
        self, row: Claimed, lease: timedelta, window: timedelta
    ) -> tuple[list[Claimed], coalesce.Gathered]:
        """``row`` (with a ``coalesce`` name) with every other due row of its chat and name, claimed, and how to show
        them together (``coalesce.claim_group``), in the next unit of work that records sent rows: a merchant's
        alerts, gathered about once a second per shop, take no commit of their own."""
        done: asyncio.Future[tuple[list[Claimed], coalesce.Gathered]] = asyncio.get_running_loop().create_future()
        self._gathers.append(_Gather(row, lease, window, done))
        self._flush()
        return await done

    def _flush(self) -> None:
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.ensure_future(self._flush_sent())

    async def _flush_sent(self) -> None:
        """Record every sent row waiting, and gather the groups asked for, in one unit of work, and again while more
        came meanwhile: lanes sending side by side share one commit (on SQLite every write queues behind the others),
        and none waits longer than one commit for its turn."""
        await asyncio.sleep(0)  # the lanes whose sends ended in this same moment join this commit
        while self._sent or self._gathers:
            batch, self._sent = self._sent, []
            gathers, self._gathers = self._gathers, []
            try:
                now = self._clock.now()
                async with self.units, self._db.uow() as uow:
                    await outbox.mark_all_sent(
                        uow.session, [(row.id, sent.message_id) for sent in batch for row in sent.rows], now
                    )
                    following = await self._claim_next(uow.session, batch, now)
                    groups = [
                        await coalesce.claim_group(uow.session, ask.row, now, ask.lease, ask.window) for ask in gathers
                    ]
                    await uow.commit()
            except Exception as exc:
                for sent in batch:
                    if not sent.done.done():
                        sent.done.set_exception(exc)
                for ask in gathers:
                    if not ask.done.done():
                        ask.done.set_exception(exc)
                continue
            for ask, group in zip(gathers, groups, strict=True):
                self.stats.claimed += len(group[0]) - 1
                if not ask.done.done():
                    ask.done.set_result(group)
            for sent, claimed in zip(batch, following, strict=True):
                self.stats.sent += len(sent.rows)
                self.stats.claimed += len(claimed or ())
                for row in sent.rows:
                    logger.debug("outbox row %s sent to chat %s (tenant %s)", row.id, row.chat_id, row.tenant_id)
                if not sent.done.done():
                    sent.done.set_result(claimed)

    @staticmethod
    async def _claim_next(session: AsyncSession, batch: Sequence[_Sent], now: datetime) -> list[list[Claimed] | None]:
        """For each sent of ``batch`` that asks for it, its chat's next due row, claimed: every chat's in one
        statement (per lease asked for: one, in practice)."""
        wanted: dict[timedelta, list[tuple[int, int]]] = {}
        for sent in batch:
            if sent.then_claim is not None:
                wanted.setdefault(sent.then_claim, []).append(sent.rows[0].chat)
        claimed: dict[tuple[int, int], Claimed] = {}
        for lease, chats in wanted.items():
            rows = await outbox.claim_due(session, now, len(chats), lease, chats=chats)
            claimed.update((row.chat, row) for row in await outbox.resolve_replacing(session, rows, now))
        following: list[list[Claimed] | None] = []
        for sent in batch:
            if sent.then_claim is None:
                following.append(None)
            else:
                row = claimed.pop(sent.rows[0].chat, None)
                following.append([row] if row is not None else [])
        return following

    async def _rate_limited(self, rows: Sequence[Claimed], outcome: Outcome) -> None:
        first = rows[0]
        now = self._clock.now()
        until = now + timedelta(seconds=outcome.retry_after)
        await self._pacer.pause(
            first.tenant_id, first.chat_id, now=now, until=until, whole_bot=self.pause_bot_on_rate_limit
        )
        async with self.units, self._db.uow() as uow:
            for row in rows:
                reason = outbox.noted(outcome.reason, unknown=row.unknown)
                await outbox.mark_retry(uow.session, row.id, until, reason, count=False)
            await uow.commit()
        self._due_at(until)
        self.stats.rate_limited += len(rows)
        logger.warning(
            "outbox row %s: rate limited in chat %s (tenant %s), retry in %gs",
            first.id,
            first.chat_id,
            first.tenant_id,
            outcome.retry_after,
        )

    async def _failed(self, row: Claimed, outcome: Outcome) -> None:
        limit = self.max_permanent_attempts if outcome.kind == "permanent" else self.max_attempts
        failures = row.attempts + 1
        if failures >= limit:
            await self.finish(row, OutboxStatus.DEAD, outcome.reason)
            return
        delay = self.backoff(failures)
        retry_at = self._clock.now() + timedelta(seconds=delay)
        async with self.units, self._db.uow() as uow:
            reason = outbox.noted(outcome.reason, unknown=row.unknown or outcome.unknown)
            await outbox.mark_retry(uow.session, row.id, retry_at, reason, count=True)
            await uow.commit()
        self._due_at(retry_at)
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

    async def finish(self, row: Claimed, status: OutboxStatus, reason: str) -> None:
        """A final state for the row and, in the same unit of work, the merchant's alert about it."""
        async with self.units, self._db.uow() as uow:
            await outbox.mark_final(uow.session, row.id, status, reason)
            alerted = await alert_merchant(
                uow.session, row, status, reason, chats_of=self._merchant_chats, now=self._clock.now()
            )
            owed = 0
            if status is OutboxStatus.UNDELIVERABLE:
                owed = await self._on_undeliverable(uow.session, row, self._clock.now())
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
        if alerted or owed:
            self._wake()

    async def give_back(self, rows: Sequence[Claimed], until: datetime) -> None:
        """Give claimed rows back, uncounted, due again at ``until``; every free row of their chat due before then
        waits until then too, so the chat keeps its order and is not claimed again meanwhile."""
        if not rows:
            return
        async with self.units, self._db.uow() as uow:
            await outbox.give_back(uow.session, [row.id for row in rows], until)
            moved = await outbox.hold_chat(uow.session, rows[0].chat, self._clock.now(), until)
            await uow.commit()
        self._due_at(until)
        self.stats.deferred += len(rows) + moved
        logger.debug("outbox rows %s to chat %s deferred by pacing", [row.id for row in rows], rows[0].chat_id)
