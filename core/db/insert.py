"""Conflict-tolerant inserts on both SQLite and PostgreSQL: ``INSERT ... ON CONFLICT``.

A duplicate event or outbox row must not abort the transaction it arrives in (on PostgreSQL a failed INSERT poisons
the whole transaction), so idempotency keys are claimed with ``insert_if_absent``. A row that is created on first use
(a customer, a conversation) is made with ``insert_or_get``: one statement, so two transactions doing it at once both
get the one row instead of one of them breaking the unique key after a read that found nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

Row = TypeVar("Row", bound=DeclarativeBase)


def _dialect(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    return postgresql if dialect == "postgresql" else sqlite


async def insert_if_absent(session: AsyncSession, table: Table, values: dict[str, Any]) -> int | None:
    """Insert one row unless a unique constraint already holds it; the new row's id, or None for a duplicate."""
    statement = _dialect(session).insert(table).values(**values).on_conflict_do_nothing().returning(table.c.id)
    result = await session.execute(statement)
    row = result.first()
    return None if row is None else int(row[0])


async def insert_or_get(
    session: AsyncSession,
    entity: type[Row],
    values: Mapping[str, Any],
    *,
    key: Sequence[str],
    refresh: Sequence[str] = (),
) -> Row:
    """The row of ``entity`` whose unique ``key`` columns hold ``values``: inserted with ``values`` when there is none,
    else the existing one with its ``refresh`` columns set from ``values``.

    The conflict branch always updates (at least a key column to itself), so the statement returns the row either
    way, and on PostgreSQL it holds the row's lock until the transaction ends, as ``SELECT ... FOR UPDATE`` would. A
    transaction that finds the row inserted but not yet committed by another waits for that one to end, then gets it.
    """
    statement = _dialect(session).insert(entity).values(**values)
    changes = {column: statement.excluded[column] for column in refresh} or {key[0]: statement.excluded[key[0]]}
    statement = statement.on_conflict_do_update(index_elements=list(key), set_=changes).returning(entity)
    result = await session.scalars(statement, execution_options={"populate_existing": True})
    row: Row = result.one()
    return row
