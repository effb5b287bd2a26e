"""Race tests on PostgreSQL: waiting until sessions of the test's database are blocked on a lock, so that two
transactions are known to meet at the statement under test rather than merely being started together."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from core.db.engine import Database
from tests.support.app import WAIT

_WAITING_ON_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)
_SESSIONS = text(
    "SELECT state, wait_event_type, wait_event, left(query, 120) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


async def waiting_on_a_lock(database: Database, count: int) -> None:
    """Until ``count`` sessions of this database wait on a lock: a bounded wait that fails after WAIT, saying what
    each session was doing. ``pg_stat_activity`` is a snapshot taken once per transaction, so each look ends its
    transaction: one kept open would never see a session that started waiting after the first look."""
    async with database.engine.connect() as watcher:
        try:
            async with asyncio.timeout(WAIT):
                while (await watcher.scalar(_WAITING_ON_A_LOCK)) < count:
                    await watcher.rollback()
                    await asyncio.sleep(0.005)
        except TimeoutError:
            sessions = (await watcher.execute(_SESSIONS)).all()
            raise AssertionError(f"not {count} waiting on a lock: {[tuple(row) for row in sessions]}") from None
