"""A write whose outcome nobody reads waits for the connection's next trip on SQLite (core/db/sqlite_trips.py): it
runs first in that trip, before the next statement (which sees it) or the COMMIT; one that fails fails that trip,
and nothing of the transaction is committed; a rollback drops it; the write turn comes back every way. An update's
claim rides with the read of its chat (``ConversationRepository.record_and_read``): a second claim of the same
update id is a duplicate, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FakeClock
from core.db.engine import Database
from core.db.repos.conversations import ConversationRepository
from core.db.sqlite_trips import defer_next
from core.db.write_turns import turns_for
from core.vault import Vault
from tests.support.seed import seed_shop

MARK = text("INSERT INTO marks (who) VALUES (:who)")


@pytest.fixture
async def sqlite_file(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'deferred.sqlite3'}")
    async with database.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE marks (who TEXT NOT NULL UNIQUE)"))
    try:
        yield database
    finally:
        await database.dispose()


async def _defer(session: AsyncSession) -> bool:
    return defer_next((await session.connection()).sync_connection)  # type: ignore[arg-type]


async def _marks(database: Database) -> list[str]:
    async with database.uow(read_only=True) as uow:
        return list((await uow.session.scalars(text("SELECT who FROM marks ORDER BY rowid"))).all())


def _turns_all_back(database: Database) -> None:
    path = make_url(database.url).database
    assert path is not None
    turns = turns_for(path)
    assert (turns.holder, turns.waiting, turns.given_back) == (None, 0, turns.taken)


async def test_a_deferred_write_runs_before_the_next_statement_and_with_the_commit(sqlite_file: Database) -> None:
    async with sqlite_file.uow() as uow:
        assert await _defer(uow.session) is True
        await uow.session.execute(MARK, {"who": "deferred first"})  # the transaction's first statement: no trip
        seen = (await uow.session.execute(text("SELECT count(*), changes() FROM marks"))).one()
        assert tuple(seen) == (1, 1)  # it ran just before, in the same trip
        assert await _defer(uow.session) is True
        await uow.session.execute(MARK, {"who": "deferred last"})
        await uow.commit()  # goes with the COMMIT
    assert await _marks(sqlite_file) == ["deferred first", "deferred last"]
    _turns_all_back(sqlite_file)
    async with sqlite_file.uow() as uow:  # a transaction whose only statement waited
        await _defer(uow.session)
        await uow.session.execute(MARK, {"who": "alone"})
        await uow.commit()
    assert await _marks(sqlite_file) == ["deferred first", "deferred last", "alone"]
    _turns_all_back(sqlite_file)


async def test_a_deferred_write_that_fails_fails_the_commit_and_commits_nothing(sqlite_file: Database) -> None:
    with pytest.raises(IntegrityError, match="UNIQUE"):
        async with sqlite_file.uow() as uow:
            await uow.session.execute(MARK, {"who": "before"})
            await _defer(uow.session)
            await uow.session.execute(MARK, {"who": "before"})  # breaks the unique key, at the commit
            await uow.commit()
    assert await _marks(sqlite_file) == []
    _turns_all_back(sqlite_file)
    async with sqlite_file.uow() as uow:  # rolled back without a trip: nothing of it is left waiting
        await _defer(uow.session)
        await uow.session.execute(MARK, {"who": "dropped"})
    async with sqlite_file.uow() as uow:
        await uow.session.execute(MARK, {"who": "after"})
        await uow.commit()
    assert await _marks(sqlite_file) == ["after"]
    _turns_all_back(sqlite_file)


async def test_an_update_is_claimed_once_with_the_read_of_its_chat(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await seed_shop(database, vault, clock)
    for expected in (True, False):  # the second claim of update 77 is a duplicate and reads nothing
        async with database.uow() as uow:
            recorded, found = await ConversationRepository(uow.session).record_and_read(
                shop.tenant_id, 77, 5100, 5100, clock.now(), "Amina"
            )
            await uow.commit()
        assert recorded is expected
        if not expected or database.dialect == "postgresql":  # PostgreSQL's locked read finds no first contact
            assert found is None
        else:
            assert found is not None
            tenant, customer, conversation = found  # the customer made with the claim, the conversation by save
            assert customer is not None and conversation is not None
            assert (tenant.slug, customer.display_name, customer.chat_id, conversation.id, conversation.step) == (
                shop.slug,
                "Amina",
                5100,
                None,
                "idle",
            )
    async with database.uow() as uow:  # another tenant's update 77, or this tenant's 78: not a duplicate
        recorded, _ = await ConversationRepository(uow.session).record_and_read(
            shop.tenant_id, 78, 5100, 5100, clock.now()
        )
    assert recorded is True
    async with database.uow(read_only=True) as uow:
        claimed = (await uow.session.execute(text("SELECT update_id FROM processed_updates ORDER BY id"))).all()
        customers = (await uow.session.execute(text("SELECT display_name FROM customers"))).all()
    assert [row[0] for row in claimed] == [77]  # 78 was rolled back with its unit of work
    # On SQLite the customer came with the claim and stays; on PostgreSQL the step's upsert makes it.
    assert [row[0] for row in customers] == (["Amina"] if database.dialect == "sqlite" else [])
