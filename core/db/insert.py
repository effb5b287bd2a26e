"""INSERT ... ON CONFLICT DO NOTHING on both SQLite and PostgreSQL.

A duplicate event or outbox row must not abort the transaction it arrives in (on PostgreSQL a failed INSERT poisons
the whole transaction), so idempotency keys are claimed with a conflict-tolerant insert.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_if_absent(session: AsyncSession, table: Table, values: dict[str, Any]) -> int | None:
    """Insert one row unless a unique constraint already holds it; the new row's id, or None for a duplicate."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table).values(**values).on_conflict_do_nothing().returning(table.c.id)
    result = await session.execute(statement)
    row = result.first()
    return None if row is None else int(row[0])
