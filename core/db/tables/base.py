"""The declarative base every table derives from, and the column types the tables share.

Every row carries its tenant, and every query is scoped by it. Status columns are plain strings whose values are the
enums in ``core.states``; the database keeps no enum type so a new state is a code change, not a migration of a type.

A payment provider's own tables live in its folder (``payments/<name>/tables.py``), declared on this :class:`Base`;
their migrations are here with the rest (the migration environment loads them), and ``TRUNCATE ... CASCADE`` of the
tenants reaches them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, DateTime, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so that Alembic migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Timestamp = DateTime(timezone=True)
# Telegram ids exceed 32 bits; BigInteger is an INTEGER on SQLite so it still autoincrements there.
TgId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
