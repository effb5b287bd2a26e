"""The outbox relay: delivers owed chat messages through a ``Notifier`` and records what happened.

Chats are lanes. Each chat with messages owed gets a lane of its own (a task), and lanes never wait for each other:

1. the dispatcher claims the first due row of up to ``batch`` chats that no relay holds, in one short unit of work,
   and commits the claim (a lease: ``claimed_until``). It claims again whenever it is woken (new rows committed, a
   lane ended), when a row this relay gave back or put off falls due (a timer set for that moment: a row that pacing
   held back goes at its time, not at the next poll), and every ``poll_interval`` (rows written by other processes,
   leases that ran out), without waiting for any lane to finish. A writer that owes messages may
   claim for it in its own unit of work instead (``claim_within``: the applier of provider events), so its rows
   wait for no commit but their own;
2. a lane (``core.relay_lanes``) sends its chat's rows one after the other, in order, outside any transaction; when
   its row is recorded it claims the chat's next due row itself, and ends when the chat has none. Sends are paced
   per chat (about 1/s, 1 per 3 s for groups) and per tenant bot (about 30/s), by ``core.pacing`` (in this process) or
   ``core.redis_pacing`` (shared by the processes of one Redis). A lane whose next send would wait more than
   ``max_hold`` gives its rows back, uncounted, due when pacing allows (and moves the rest of its chat there too), so
   a paced chat holds no lease and no task while it waits;
3. results are recorded by ``core.relay_results``: the sent rows of every lane that finished meanwhile in one unit of
   work, with the claim of each chat's next row.

So a chat paced at one message a second (a merchant's alert chat, a group) delays nobody else: every other chat's rows
are claimed and sent meanwhile by their own lanes. A chat is delivered by one relay at a time: a claim takes a chat's
first claimable row only, and only when no row of that chat is held by a live lease (``outbox.claim_due``); on
PostgreSQL the claim uses ``FOR UPDATE SKIP LOCKED``, so several relays (processes) share the table and a chat's rows
keep their order across them. On SQLite run one relay per process.

Rows written with a ``coalesce`` name (the merchant's "order paid" alerts) are gathered: when a lane reaches one, it
claims every due row of its chat with the same name and delivers them with one send or one edit of the group's message
(``core.coalesce``).

A row whose message ``replaces`` an earlier row of its chat is resolved by its claim (``core.outbox_replacing``).

A send starts only while the lease still covers ``send_timeout`` and a safety margin, and a send that outlives
``send_timeout`` is abandoned (retried, counted, like a transient error). So while a lease holds no other relay can
claim the row, and no relay sends it once the lease may be gone. A relay that dies between claim and send loses
nothing: the row is due again when its lease runs out. A relay that is stopped gives back the rows it has not begun to
send. Delivery is at least once (``core.relay_results``). Direct replies share this relay's ``Pacing``
(``bot.replies``) and hand the replies they cannot send in time to the outbox.

Logs carry row ids, tenant ids, chat ids and error classes; never message text, and never a bot token.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox
from core.channels import ChannelSender, Routed
from core.clock import Clock
from core.db.engine import Database
from core.dead_letters import MerchantChats, merchant_chats
from core.notify import (
    Notifier,
    NotifierError,
    PermanentError,
    RetryAfter,
    TransientError,
    Undeliverable,
    scrub,
)
from core.outbox import Claimed
from core.pacing import Pacer, Pacing, PacingLimits
from core.relay_lanes import Chat, Lane, Lanes, Sleep
from core.relay_results import Fallback, Outcome, RelayStats, Results, no_fallback

# The Notifier port lives in core.notify; it is re-exported here for the modules that import it from the relay.
__all__ = [
    "Notifier",
    "NotifierError",
    "OutboxRelay",
    "Outcome",
    "PermanentError",
    "RelayStats",
    "RetryAfter",
    "TransientError",
    "Undeliverable",
    "scrub",
]

logger = logging.getLogger(__name__)
timeline = logging.getLogger("dukabot.timeline")  # the latency bench's (``core.relay_lanes``)

# At most this many paced chats are left out of a claim by name (the rest are claimed and given back, as before).
_MAX_SKIPPED = 200
# The dispatcher wakes this much after a row falls due, so that the row's time has surely come by its clock.
_DUE_MARGIN = 0.005


class OutboxRelay(Lanes):
    """Claims due outbox rows, sends them through ``notifier`` and records the results. See the module docstring.

    ``sleep`` is how the relay waits for pacing (``asyncio.sleep`` by default); tests pass one that moves a fake clock.
    ``rng`` supplies the back-off jitter. ``merchant_chats`` says where merchant alerts go. ``pacing`` builds the pacing
    from the ``per_*`` limits: ``Pacer`` keeps it in this process, ``core.redis_pacing.RedisPacer`` shares it through
    Redis with the relays of other processes. ``pacer``, when given, is used as it is instead (its own limits apply):
    the composition root builds one and shares it with the direct replies, so a bot's sends are paced together.
    ``channels``: the senders of channels other than the chat, by name (rows owed on them: ``core.channels``);
    ``on_undeliverable``: what else a row that became UNDELIVERABLE owes (a receipt by SMS: ``Fallback``).
    ``max_lanes`` bounds how many chats this relay delivers at once; ``coalesce_window`` is how long a group of
    coalesced rows stays open to more (``core.coalesce``).
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
        max_lanes: int = 500,
        coalesce_window: float = 60.0,
        pause_bot_on_rate_limit: bool = True,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
        merchant_chats: MerchantChats = merchant_chats,
        pacing: Callable[[PacingLimits], Pacing] = Pacer,
        pacer: Pacing | None = None,
        channels: Mapping[str, ChannelSender] | None = None,
        on_undeliverable: Fallback = no_fallback,
    ) -> None:
        if batch < 1 or max_attempts < 1 or concurrency < 1 or max_lanes < 1:
            raise ValueError("batch, max_attempts, concurrency and max_lanes must be at least 1")
        if lease <= send_timeout:
            raise ValueError("the lease must outlast a send: lease > send_timeout")
        self._db = database
        self._notifier: Notifier = Routed(notifier, channels) if channels else notifier
        self._clock = clock
        self.batch = batch
        self.max_lanes = max_lanes
        self.lease = timedelta(seconds=lease)
        self.send_timeout = send_timeout
        # A send starts only if the lease still covers the send's timeout and this margin.
        self._lease_margin = timedelta(seconds=send_timeout + max(1.0, (lease - send_timeout) * 0.1))
        self.max_hold = timedelta(seconds=max_hold)
        self.coalesce_window = timedelta(seconds=coalesce_window)
        self.poll_interval = poll_interval
        self._sleep: Sleep = sleep or asyncio.sleep
        self._wake = asyncio.Event()
        self._sooner = asyncio.Event()  # a row falls due sooner than the dispatcher's alarm
        self._stopping = asyncio.Event()
        self._lanes: dict[Chat, Lane] = {}
        self._paced: dict[Chat, datetime] = {}  # chats this relay gave rows back for, until when
        self._due: list[datetime] = []  # a heap: when rows this relay gave back or put off fall due again
        self._looked_at: datetime | None = None  # when the dispatcher last looked for due rows
        self._claiming = 0  # lanes that claims under way may start
        # The last claim took as many chats as it had room for (or had none): more may be due, so a lane that ends
        # wakes the dispatcher; otherwise every row due is in a lane, or its commit wakes the dispatcher.
        self._full = False
        self._running = False
        self.pacer = pacer or pacing(
            PacingLimits(
                per_chat_interval=per_chat_interval, per_group_interval=per_group_interval, per_bot_rate=per_bot_rate
            )
        )
        self.stats = RelayStats()
        self._results = Results(
            database,
            clock,
            self.pacer,
            self.stats,
            max_attempts=max_attempts,
            max_permanent_attempts=max_permanent_attempts,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            pause_bot_on_rate_limit=pause_bot_on_rate_limit,
            concurrency=concurrency,
            rng=rng or random.Random(),
            merchant_chats=merchant_chats,
            wake=self.wake,
            due_at=self._due_at,
            on_undeliverable=on_undeliverable,
        )

    @property
    def max_attempts(self) -> int:
        return self._results.max_attempts

    @property
    def max_permanent_attempts(self) -> int:
        return self._results.max_permanent_attempts

    def backoff(self, failures: int) -> float:
        """Seconds before the next try after ``failures`` counted failures: exponential, capped, with equal jitter."""
        return self._results.backoff(failures)

    # ------------------------------------------------------------------------------------------- loop

    def wake(self) -> None:
        """Ask the running loop to claim now (call it right after committing new outbox rows)."""
        self._wake.set()

    def _due_at(self, at: datetime) -> None:
        """A row this relay gave back or put off is due again at ``at``: the dispatcher looks then."""
        if not self._due or at < self._due[0]:
            self._sooner.set()  # a dispatcher asleep sets its alarm again
        heapq.heappush(self._due, at)

    def _idle_seconds(self) -> float:
        """How long the dispatcher may sleep: until the next row it knows of falls due, at most ``poll_interval``.
        A time its last look already covered is forgotten; one that passed since is looked for at once."""
        looked = self._looked_at
        while self._due and looked is not None and self._due[0] <= looked:
            heapq.heappop(self._due)
        if not self._due or self._room() <= 0:  # every lane busy: the first to end wakes the dispatcher
            return self.poll_interval
        until = (self._due[0] - self._clock.now()).total_seconds() + _DUE_MARGIN
        return min(self.poll_interval, max(0.0, until))

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set: claim for idle chats, then wait for ``wake()``, ``stop``, the next row this
        relay put off falling due, or ``poll_interval`` seconds; lanes deliver meanwhile. On ``stop``, lanes give
        back what they have not begun to send, and the loop returns once they have."""
        logger.info("outbox relay started")
        self._stopping.clear()
        self._running = True
        watcher = asyncio.ensure_future(self._watch(stop))
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    claimed, room = await self._dispatch()
                except Exception as exc:  # keep the loop alive through a database outage
                    self.stats.errors += 1
                    logger.error("outbox relay pass failed: %s", type(exc).__name__)
                    claimed, room = 0, 0
                if stop.is_set():
                    break
                # A full claim is followed by another at once; with every lane busy, the first to end wakes the loop.
                if claimed < room or room == 0:
                    await self._idle(stop)
        finally:
            self._running = False
            self._stopping.set()
            watcher.cancel()
            await self._join_lanes()
        logger.info("outbox relay stopped")

    async def _watch(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._stopping.set()

    async def _idle(self, stop: asyncio.Event) -> None:
        """Wait for ``wake()``, ``stop``, or the next row this relay knows of to fall due (``_idle_seconds``)."""
        while True:
            self._sooner.clear()
            waiters = {
                asyncio.ensure_future(stop.wait()),
                asyncio.ensure_future(self._wake.wait()),
                asyncio.ensure_future(self._sooner.wait()),
            }
            try:
                await asyncio.wait(waiters, timeout=self._idle_seconds(), return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
                await asyncio.gather(*waiters, return_exceptions=True)
            if not self._sooner.is_set() or stop.is_set() or self._wake.is_set():
                return

    async def run_once(self) -> int:
        """One pass, for tests and tools: claim for idle chats, let every lane deliver until its chat has nothing
        due, record every result. Returns how many rows were claimed."""
        before = self.stats.claimed
        await self._dispatch()
        await self._join_lanes()
        return self.stats.claimed - before

    async def _join_lanes(self) -> None:
        while self._lanes:
            tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for result in results:
                if isinstance(result, asyncio.CancelledError):
                    raise result

    async def _dispatch(self) -> tuple[int, int]:
        """Claim the first row of idle chats, as many as lanes are free (at most ``batch``), and start their lanes.
        Returns how many rows were claimed and how many could have been."""
        room = self._room()
        if room <= 0:
            self._full = True
            return 0, 0
        if not await self._anything_due():
            return 0, room
        self._claiming += room
        try:
            async with self._results.units, self._db.uow() as uow:
                rows = await self._claim_idle(uow.session, room)
                await uow.commit()
        finally:
            self._claiming -= room
        self._start(rows)
        self._full = len(rows) >= room
        return len(rows), room

    async def _anything_due(self) -> bool:
        """Whether a claim would find a row, read without SQLite's write lock: most looks (the poll, a wake for rows
        that a writer claimed itself) find nothing, and a write transaction that finds nothing still queues every
        other writer behind it, the applier of payments among them."""
        now = self._looked_at = self._clock.now()
        skip = [chat for chat, until in self._paced.items() if until > now][:_MAX_SKIPPED]
        async with self._db.uow(read_only=True) as uow:
            return await outbox.any_due(uow.session, now, skip=skip)

    async def claim_within(self, session: AsyncSession) -> Callable[[bool], None]:
        """Claim for idle chats in the caller's unit of work, which has just written outbox rows, and return what
        to call once that unit of work ended, with whether it committed: it starts their lanes. So a writer that owes
        messages (the applier of provider events) hands them over with its own commit, and they wait for no claim
        of their own. Nothing is claimed while the relay is not running (the returned callable wakes it)."""
        room = self._room() if self._running else 0
        if room <= 0:
            return lambda _committed: self.wake()
        self._claiming += room
        try:
            rows = await self._claim_idle(session, room)
        except BaseException:
            self._claiming -= room
            raise

        def ended(committed: bool) -> None:
            self._claiming -= room
            if committed:
                self._start(rows)
            if not committed or len(rows) >= room:  # there may be more
                self._full = True
                self.wake()

        return ended

    def _room(self) -> int:
        return min(self.batch, self.max_lanes - len(self._lanes) - self._claiming)

    async def _claim_idle(self, session: AsyncSession, room: int) -> list[Claimed]:
        claim_time = self._clock.now()
        for chat in [chat for chat, until in self._paced.items() if until <= claim_time]:
            del self._paced[chat]
        paced = list(self._paced)[:_MAX_SKIPPED]
        rows = await outbox.claim_due(session, claim_time, room, self.lease, skip=paced)
        return await outbox.resolve_replacing(session, rows, claim_time)

    def _start(self, rows: list[Claimed]) -> None:
        self.stats.claimed += len(rows)
        if rows:
            self.pacer.prune(self._clock.now())
            if timeline.isEnabledFor(logging.DEBUG):
                claimed = time.monotonic()
                for row in rows:
                    timeline.debug("claim %s %.6f %d", row.chat_id, claimed, len(rows))
        for row in rows:
            self._hand_to_lane(row)

    def _hand_to_lane(self, row: Claimed) -> None:
        lane = self._lanes.get(row.chat)
        if lane is not None:  # its lane recorded its last row and is about to look for more: it takes this one
            lane.rows.append(row)
            return
        lane = self._lanes[row.chat] = Lane(row.chat, deque([row]))
        lane.task = asyncio.create_task(self._run_lane(lane), name=f"outbox-lane-{row.tenant_id}-{row.chat_id}")
