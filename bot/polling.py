"""Long polling for every tenant, in one process: used when no public URL is set (local runs, the playground).

Each tenant's bot polls in its own supervised task, through the channel (``bot.channel.Channel.poll``, whichever
library carries it): whatever goes wrong for one shop (a 409 because another process
or a webhook uses the bot, the network, Telegram's 5xx, our own bug) is waited out with a capped, jittered
exponential back-off and never touches another shop's polling. Only a 401 ends it: Telegram refused the token, which
no retry mends, so the bot is disabled (recorded on the tenant, shown by `dukabot doctor` and /readyz) until the
operator sets a new token or `dukabot doctor` finds the token working again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from bot.channel import Channel, PollConflict, Received, TokenRefused
from bot.processor import UpdateProcessor
from core.clock import Clock, SystemClock
from core.db.engine import Database
from core.db.tables import Tenant
from core.notify import RetryAfter, TransientError

log = logging.getLogger(__name__)
MAX_UPDATE_TRIES = 3  # an update that fails this often (not for an outage) is skipped, as Telegram drops it
DISABLED_REASON = "Telegram refused the bot token (401 Unauthorized)"

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Backoff:
    """How long to wait after the n-th failure in a row: doubling from ``first`` up to ``cap`` seconds, each wait
    drawn between half and all of that, so that many shops failing together do not retry in step."""

    first: float = 1.0
    cap: float = 60.0

    def delay(self, failures: int, draw: Callable[[], float] = random.random) -> float:
        ceiling = min(self.cap, self.first * 2.0 ** max(failures - 1, 0))
        return ceiling * (0.5 + 0.5 * draw())


def _transient(error: Exception) -> bool:
    """Whether the failure says nothing about the update itself: the database or the network is away."""
    if isinstance(error, OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


@dataclass
class _Lane:
    """One tenant's polling state, kept across restarts of its loop."""

    tenant_id: int
    offset: int | None = None
    failures: int = 0  # failures in a row; reset by the first getUpdates that answers
    webhook_deleted: bool = False
    tries: dict[int, int] = field(default_factory=dict)  # failed tries of the update at the head of the queue


class Poller:
    """One long-polling loop per tenant bot; new (and re-enabled) tenants are picked up every ``rescan`` seconds or
    at ``wake()``. ``sleep`` is how the poller waits between tries (``asyncio.sleep`` by default); tests pass one that
    returns at once and records the delays."""

    def __init__(
        self,
        database: Database,
        channel: Channel,
        processor: UpdateProcessor,
        *,
        clock: Clock | None = None,
        poll_timeout: int = 25,
        rescan: float = 30.0,
        backoff: Backoff | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.database = database
        self.channel = channel
        self.processor = processor
        self.clock: Clock = clock or SystemClock()
        self.poll_timeout = poll_timeout
        self.rescan = rescan
        self.backoff = backoff or Backoff()
        self._sleep: Sleep = sleep or asyncio.sleep
        self._loops: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for new or re-enabled tenants now rather than at the next rescan."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    await self._start_new_tenants(stop)
                except Exception as error:  # the database is away: the running loops go on, the next scan retries
                    log.warning("polling: cannot read the tenants: %s", type(error).__name__)
                self._wake.clear()
                waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
                try:
                    await asyncio.wait(waits, timeout=self.rescan, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for waiting in waits:
                        waiting.cancel()
        finally:
            for task in self._loops.values():
                task.cancel()
            await asyncio.gather(*self._loops.values(), return_exceptions=True)
            self._loops.clear()

    async def _start_new_tenants(self, stop: asyncio.Event) -> None:
        async with self.database.uow(read_only=True) as uow:
            enabled = await uow.session.scalars(
                select(Tenant.id).where(Tenant.bot_disabled_at.is_(None)).order_by(Tenant.id)
            )
            tenant_ids = list(enabled)
        for tenant_id in tenant_ids:
            running = self._loops.get(tenant_id)
            if running is None or running.done():  # done: it was disabled, and has been enabled since
                self._loops[tenant_id] = asyncio.create_task(self._supervise(tenant_id, stop), name=f"poll-{tenant_id}")

    async def _supervise(self, tenant_id: int, stop: asyncio.Event) -> None:
        """Keeps the tenant's loop running until ``stop``, or until Telegram refuses the token."""
        lane = _Lane(tenant_id)
        self.channel.forget(tenant_id)  # a token set since this process cached the bot is read again
        while not stop.is_set():
            try:
                await self._poll(lane, stop)
                return
            except TokenRefused:
                try:
                    if await self.channel.token_changed(tenant_id):
                        log.info("tenant %s: the bot token was replaced; polling with the new one", tenant_id)
                        self.channel.forget(tenant_id)
                        lane = _Lane(tenant_id)
                        continue
                    if await self.channel.disable(tenant_id, DISABLED_REASON, self.clock.now()):
                        log.error("tenant %s: Telegram refused the bot token; the bot is disabled", tenant_id)
                    return
                except Exception as error:  # the database is away: the next getUpdates says 401 again
                    lane.failures += 1
                    self._log_failure(lane, error)
            except RetryAfter as error:  # Telegram says how long: no failure, no guess
                await self._sleep(error.seconds)
                continue
            except Exception as error:
                lane.failures += 1
                self._log_failure(lane, error)
            await self._sleep(self.backoff.delay(lane.failures))

    @staticmethod
    def _log_failure(lane: _Lane, error: Exception) -> None:
        """Tells the first failure of a run, not each retry: a 409 storm is one warning, not a line a minute."""
        if lane.failures > 1:
            log.debug(
                "tenant %s: polling failed again (%s), try %d", lane.tenant_id, type(error).__name__, lane.failures
            )
        elif isinstance(error, PollConflict):
            log.warning("tenant %s: another process or a webhook uses this bot (409); retrying", lane.tenant_id)
        elif isinstance(error, TransientError) or _transient(error):
            log.warning("tenant %s: polling failed (%s); retrying", lane.tenant_id, type(error).__name__)
        else:
            log.exception("tenant %s: polling failed unexpectedly; retrying", lane.tenant_id)

    async def _poll(self, lane: _Lane, stop: asyncio.Event) -> None:
        if not lane.webhook_deleted:
            # getUpdates answers 409 while a webhook is set: polling takes over from any webhook, once. A 409 later
            # on means someone else took the bot since; taking it back at every retry would only fight them.
            await self.channel.take_over_polling(lane.tenant_id)
            lane.webhook_deleted = True
        while not stop.is_set():
            updates = await self.channel.poll(lane.tenant_id, lane.offset, self.poll_timeout)
            if lane.failures:
                log.info("tenant %s: polling again after %d failed tries", lane.tenant_id, lane.failures)
                lane.failures = 0
            for update in updates:
                if not await self._handle(lane, update):
                    break

    async def _handle(self, lane: _Lane, update: Received) -> bool:
        """Processes one update and moves the offset past it; False leaves it (and every later one) unconfirmed, so
        that the next getUpdates hands it over again."""
        try:
            await self.processor.process(lane.tenant_id, update)
        except Exception as error:
            # The update comes back on the next getUpdates and is tried again, after a pause (an immediate retry
            # spins). One that keeps failing the same way would block every later update of this shop for good:
            # like Telegram with a failing webhook, give up on it after a few tries. A database or network outage
            # is waited out instead, however long it lasts.
            attempts = lane.tries.get(update.update_id, 0) + 1
            lane.tries = {update.update_id: attempts}
            log.exception("tenant %s: update %s failed (try %d)", lane.tenant_id, update.update_id, attempts)
            if _transient(error) or attempts < MAX_UPDATE_TRIES:
                await self._sleep(min(30.0, 0.1 * 2**attempts))
                return False
            log.error("tenant %s: update %s skipped after %d tries", lane.tenant_id, update.update_id, attempts)
        lane.offset = update.update_id + 1
        return True
