"""Schema migrations with Alembic, run over the application's own async engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


def _sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    cursor.close()


def _foreign_keys_hold(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"a migration broke {len(broken)} foreign key reference(s); nothing was changed")


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    await _migrate(engine, _upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _migrate(engine, _downgrade, revision)


async def _migrate(engine: AsyncEngine, step: Callable[[Connection, str], None], revision: str) -> None:
    if engine.dialect.name != "sqlite":
        async with engine.begin() as connection:
            await connection.run_sync(step, revision)
        return
    # SQLite alters a table by copying it (Alembic's batch mode), and dropping the old copy of a table that other rows
    # point at fails while foreign keys are enforced. Enforcement can only be switched outside a transaction: off
    # for the migration, every reference checked before it commits, and on again for whoever uses the connection next.
    async with engine.connect() as connection:
        await connection.run_sync(_sqlite_foreign_keys, False)
        try:
            async with connection.begin():
                await connection.run_sync(step, revision)
                await connection.run_sync(_foreign_keys_hold)
        finally:
            await connection.run_sync(_sqlite_foreign_keys, True)


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


async def current_revisions(engine: AsyncEngine) -> set[str]:
    def read(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    async with engine.connect() as connection:
        return await connection.run_sync(read)


async def is_current(engine: AsyncEngine) -> bool:
    """For `/readyz`, asked often: the light check, without building Alembic's script directory each time."""
    from core.db import schema_version

    return await schema_version.current_revisions(engine) == schema_version.head_revisions()
