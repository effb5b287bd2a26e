"""Long polling for every tenant, in one process: used when no public URL is set (local runs, the playground)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError, TelegramUnauthorizedError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from bot.bots import TenantBots
from bot.processor import UpdateProcessor
from core.db.engine import Database
from core.db.repos.tenants import TenantRepository

log = logging.getLogger(__name__)
MAX_UPDATE_TRIES = 3  # an update that fails this often (not for an outage) is skipped, as Telegram drops it


def _transient(error: Exception) -> bool:
    """Whether the failure says nothing about the update itself: the database or the network is away."""
    if isinstance(error, OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


class Poller:
    """One long-polling loop per tenant bot; new tenants are picked up every ``rescan`` seconds."""

    def __init__(
        self,
        database: Database,
        bots: TenantBots,
        processor: UpdateProcessor,
        *,
        poll_timeout: int = 25,
        rescan: float = 30.0,
    ) -> None:
        self.database = database
        self.bots = bots
        self.processor = processor
        self.poll_timeout = poll_timeout
        self.rescan = rescan
        self._loops: dict[int, asyncio.Task[None]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                await self._start_new_tenants(stop)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.rescan)
        finally:
            for task in self._loops.values():
                task.cancel()
            await asyncio.gather(*self._loops.values(), return_exceptions=True)
            self._loops.clear()

    async def _start_new_tenants(self, stop: asyncio.Event) -> None:
        async with self.database.uow() as uow:
            tenant_ids = [tenant.id for tenant in await TenantRepository(uow.session).all()]
        for tenant_id in tenant_ids:
            if tenant_id not in self._loops:
                self._loops[tenant_id] = asyncio.create_task(self._poll(tenant_id, stop), name=f"poll-{tenant_id}")

    async def _poll(self, tenant_id: int, stop: asyncio.Event) -> None:
        bot = await self.bots.bot_for(tenant_id)
        # getUpdates answers 409 while a webhook is set: polling takes over from any webhook.
        await bot.delete_webhook(drop_pending_updates=False)
        offset: int | None = None
        failures = 0
        tries: dict[int, int] = {}  # failed tries of the update at the head of the queue
        while not stop.is_set():
            try:
                updates = await bot.get_updates(offset=offset, timeout=self.poll_timeout)
                failures = 0
            except TelegramUnauthorizedError:
                log.error("tenant %s: Telegram refused the bot token; polling stopped", tenant_id)
                return
            except TelegramRetryAfter as error:
                await asyncio.sleep(error.retry_after)
                continue
            except (TelegramNetworkError, TelegramServerError):
                failures += 1
                await asyncio.sleep(min(30.0, 0.5 * 2**failures) * (0.5 + random.random()))
                continue
            for update in updates:
                try:
                    await self.processor.process(tenant_id, update)
                except Exception as error:
                    # Not confirmed: the update comes back on the next getUpdates and is tried again, after a pause
                    # (an immediate retry spins). One that keeps failing the same way would block every later
                    # update of this shop for good: like Telegram with a failing webhook, give up on it after a
                    # few tries. A database or network outage is waited out instead, however long it lasts.
                    attempts = tries.get(update.update_id, 0) + 1
                    tries = {update.update_id: attempts}
                    log.exception("tenant %s: update %s failed (try %d)", tenant_id, update.update_id, attempts)
                    if _transient(error) or attempts < MAX_UPDATE_TRIES:
                        await asyncio.sleep(min(30.0, 0.1 * 2**attempts))
                        break
                    log.error("tenant %s: update %s skipped after %d tries", tenant_id, update.update_id, attempts)
                offset = update.update_id + 1
