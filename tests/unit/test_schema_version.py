"""The light schema check (no Alembic import) agrees with Alembic itself."""

from __future__ import annotations

from pathlib import Path

from core.db import migrate, schema_version
from core.db.engine import Database


def test_the_head_read_from_the_files_is_alembics_head() -> None:
    assert schema_version.head_revisions() == migrate.head_revisions()


async def test_the_stored_revision_is_alembics_before_and_after_upgrade(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'version.sqlite3'}")
    try:
        assert await schema_version.current_revisions(database.engine) == set()
        await migrate.upgrade(database.engine, "0005")
        assert await schema_version.current_revisions(database.engine) == {"0005"}
        await migrate.upgrade(database.engine)
        assert await schema_version.current_revisions(database.engine) == await migrate.current_revisions(
            database.engine
        )
        assert await schema_version.current_revisions(database.engine) == schema_version.head_revisions()
    finally:
        await database.dispose()
