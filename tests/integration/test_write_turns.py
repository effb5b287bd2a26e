"""Writers to a SQLite file take turns first come first served, one transaction each (core/db/write_turns.py): a
writer that commits and begins again lets in the one already waiting; every way a transaction ends gives its turn
back (commit, rollback, an exception, the pool's reset, invalidation, a connection closed or dropped, cancellation
waiting or holding), so every turn taken comes back; a unit of work that commits, waits and writes again holds up
nobody meanwhile; a wait past the busy timeout fails as SQLite does; read-only work never queues. SQLite only:
PostgreSQL has no such queue."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SAWarning

from core.db.engine import Database
from core.db.write_turns import WriteTurns, turns_for
from tests.support.app import until

MARK = text("INSERT INTO marks (who) VALUES (:who)")


async def _open(path: Path, **engine_kwargs: float) -> Database:
    database = Database(f"sqlite+aiosqlite:///{path}", **engine_kwargs)
    async with database.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE IF NOT EXISTS marks (who TEXT NOT NULL)"))
    return database


@pytest.fixture
async def sqlite_file(tmp_path: Path) -> AsyncIterator[Database]:
    database = await _open(tmp_path / "turns.sqlite3")
    try:
        yield database
    finally:
        await database.dispose()


def _turns(database: Database) -> WriteTurns:
    path = make_url(database.url).database
    assert path is not None
    return turns_for(path)


async def _marks(database: Database) -> list[str]:
    async with database.uow(read_only=True) as uow:
        return list((await uow.session.scalars(text("SELECT who FROM marks ORDER BY rowid"))).all())


def _all_given_back(turns: WriteTurns) -> None:
    assert turns.holder is None
    assert turns.waiting == 0
    assert turns.given_back == turns.taken


async def _write(database: Database, who: str) -> None:
    async with database.uow() as uow:
        await uow.session.execute(MARK, {"who": who})
        await uow.commit()


async def test_a_writer_that_commits_and_begins_again_lets_the_waiting_writers_in_first(sqlite_file: Database) -> None:
    turns = _turns(sqlite_file)
    others: list[asyncio.Task[None]] = []
    async with sqlite_file.uow() as uow:
        await uow.session.execute(MARK, {"who": "first 1"})
        for count, name in enumerate(("second", "third"), start=1):  # they ask in this order while first holds
            others.append(asyncio.create_task(_write(sqlite_file, name)))
            await until(lambda count=count: turns.waiting == count, f"{name} waiting")
        await uow.commit()
        await uow.session.execute(MARK, {"who": "first 2"})  # at once: no await between the commit and this
        await uow.commit()
    await asyncio.gather(*others)
    assert await _marks(sqlite_file) == ["first 1", "second", "third", "first 2"]
    _all_given_back(turns)


async def test_commit_gives_the_turn_back(sqlite_file: Database) -> None:
    turns = _turns(sqlite_file)
    taken = turns.taken
    async with sqlite_file.uow() as uow:
        await uow.session.execute(MARK, {"who": "committed"})
        assert turns.holder is not None
        await uow.commit()
        assert turns.holder is None  # at the commit, not at the end of the unit of work
    assert turns.taken == taken + 1
    _all_given_back(turns)


async def test_leaving_without_commit_or_with_an_exception_gives_the_turn_back(sqlite_file: Database) -> None:
    turns = _turns(sqlite_file)
    async with sqlite_file.uow() as uow:
        await uow.session.execute(MARK, {"who": "rolled back"})
    _all_given_back(turns)
    with pytest.raises(LookupError, match="a step failed"):
        async with sqlite_file.uow() as uow:
            await uow.session.execute(MARK, {"who": "failed"})
            raise LookupError("a step failed")
    _all_given_back(turns)
    with pytest.raises(OperationalError, match="no such table"):
        async with sqlite_file.uow() as uow:
            await uow.session.execute(MARK, {"who": "before a bad statement"})
            await uow.session.execute(text("INSERT INTO missing (who) VALUES ('x')"))
    _all_given_back(turns)
    await _write(sqlite_file, "after")
    assert await _marks(sqlite_file) == ["after"]
    _all_given_back(turns)


async def test_a_connection_returned_to_the_pool_or_invalidated_gives_the_turn_back(sqlite_file: Database) -> None:
    turns = _turns(sqlite_file)
    async with sqlite_file.engine.connect() as connection:  # no commit: the pool's reset rolls back on return
        await connection.execute(MARK, {"who": "reset"})
        assert turns.holder is not None
    _all_given_back(turns)
    async with sqlite_file.engine.connect() as connection:
        await connection.execute(MARK, {"who": "invalidated"})
        await connection.invalidate()
    _all_given_back(turns)
    async with sqlite_file.engine.connect() as connection:
        await connection.execute(MARK, {"who": "closed under the pool"})
        raw = await connection.get_raw_connection()
        await raw.driver_connection.close()  # as when the file's connection dies under SQLAlchemy
        assert turns.holder is None
        await connection.invalidate()
    _all_given_back(turns)
    await _write(sqlite_file, "after")
    assert await _marks(sqlite_file) == ["after"]


async def test_a_connection_dropped_without_being_closed_gives_the_turn_back(sqlite_file: Database) -> None:
    """A checked-out connection its task dropped (no commit, no close): the pool's finalizer terminates it when the
    garbage collector finds it, and the turn comes back with it."""
    turns = _turns(sqlite_file)
    connection = await sqlite_file.engine.connect()
    await connection.execute(MARK, {"who": "dropped"})
    assert turns.holder is not None
    with pytest.warns(SAWarning, match="garbage collector is trying to clean up"):
        del connection
        gc.collect()
    _all_given_back(turns)
    await _write(sqlite_file, "after")
    assert await _marks(sqlite_file) == ["after"]


async def test_a_writer_cancelled_while_waiting_leaves_the_queue(sqlite_file: Database) -> None:
    turns = _turns(sqlite_file)
    async with sqlite_file.uow() as uow:
        await uow.session.execute(MARK, {"who": "holder"})
        cancelled = asyncio.create_task(_write(sqlite_file, "cancelled"))
        await until(lambda: turns.waiting == 1, "a writer waiting")
        after = asyncio.create_task(_write(sqlite_file, "after"))
        await until(lambda: turns.waiting == 2, "two writers waiting")
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert turns.waiting == 1
        await uow.commit()
    await after
    assert await _marks(sqlite_file) == ["holder", "after"]
    _all_given_back(turns)


async def test_a_writer_cancelled_while_holding_the_turn_gives_it_back(sqlite_file: Database) -> None:
    turns = _turns(sqlite_file)
    holding = asyncio.Event()
    never = asyncio.Event()

    async def write_then_wait() -> None:
        async with sqlite_file.uow() as uow:
            await uow.session.execute(MARK, {"who": "cancelled"})
            holding.set()
            await never.wait()  # a call to the network that never answers
            await uow.commit()

    holder = asyncio.create_task(write_then_wait())
    await holding.wait()
    waiting = asyncio.create_task(_write(sqlite_file, "waiting"))
    await until(lambda: turns.waiting == 1, "a writer waiting")
    holder.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holder
    await waiting
    assert await _marks(sqlite_file) == ["waiting"]
    _all_given_back(turns)


async def test_commit_then_wait_then_write_again_holds_up_no_other_writer(sqlite_file: Database) -> None:
    """The merchant's accept commits, awaits the provider, and writes again in the same unit of work: between its
    transactions it holds no turn, so another task's write goes through rather than deadlock with it."""
    turns = _turns(sqlite_file)
    committed = asyncio.Event()
    answered = asyncio.Event()

    async def accept() -> None:
        async with sqlite_file.uow() as uow:
            await uow.session.execute(MARK, {"who": "accept before"})
            await uow.commit()
            committed.set()
            await answered.wait()  # the provider's answer
            await uow.session.execute(MARK, {"who": "accept after"})
            await uow.commit()

    accepting = asyncio.create_task(accept())
    await committed.wait()
    assert turns.holder is None
    await _write(sqlite_file, "other")  # would wait forever if the unit of work held the turn
    answered.set()
    await accepting
    assert await _marks(sqlite_file) == ["accept before", "other", "accept after"]
    _all_given_back(turns)


async def test_waiting_past_the_busy_timeout_fails_as_sqlite_does(tmp_path: Path) -> None:
    database = await _open(tmp_path / "impatient.sqlite3", busy_timeout=0.05)
    try:
        turns = _turns(database)
        async with database.uow() as uow:
            await uow.session.execute(MARK, {"who": "holder"})
            with pytest.raises(OperationalError, match="database is locked"):
                await _write(database, "impatient")
            assert turns.waiting == 0
            with pytest.raises(OperationalError, match="database is locked"):  # a nested write: as SQLite's own lock
                async with database.uow() as nested:
                    await nested.session.execute(MARK, {"who": "nested"})
            await uow.commit()
        assert await _marks(database) == ["holder"]
        _all_given_back(turns)
    finally:
        await database.dispose()


async def test_read_only_work_never_waits_for_a_turn(sqlite_file: Database) -> None:
    turns = _turns(sqlite_file)
    await _write(sqlite_file, "committed")
    taken = turns.taken
    async with sqlite_file.uow() as uow:
        await uow.session.execute(MARK, {"who": "not yet committed"})
        waiting = asyncio.create_task(_write(sqlite_file, "waiting"))
        await until(lambda: turns.waiting == 1, "a writer waiting")
        assert await _marks(sqlite_file) == ["committed"]  # read beside the writer and the queue
        assert turns.taken == taken + 1
        await uow.commit()
    await waiting
    assert await _marks(sqlite_file) == ["committed", "not yet committed", "waiting"]
    _all_given_back(turns)


async def test_two_databases_on_one_file_share_its_queue(sqlite_file: Database) -> None:
    other = Database(sqlite_file.url)
    try:
        turns = _turns(sqlite_file)
        async with sqlite_file.uow() as uow:
            await uow.session.execute(MARK, {"who": "first"})
            waiting = asyncio.create_task(_write(other, "second"))
            await until(lambda: turns.waiting == 1, "the other database's writer waiting")
            await uow.commit()
        await waiting
        assert await _marks(sqlite_file) == ["first", "second"]
        _all_given_back(turns)
    finally:
        await other.dispose()
