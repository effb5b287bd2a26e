"""Migration 0004 on a database that already holds events and outbox rows: they stay, a redelivery of an event
recorded before the migration is still a duplicate, and another tenant may now use the same key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from core.db.engine import Database
from core.db.migrate import alembic_config, upgrade
from tests.conftest import BACKENDS, PG_URL

BEFORE, AFTER = "0003_paystack_refund_checks", "0004"
SCHEMA = "migration_0004"  # on PostgreSQL, a schema of this test's own: the suite's stays as it is
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

EVENT = text(
    "INSERT INTO payment_events (tenant_id, provider, event_key, outcome, result, raw, received_at) "
    "VALUES (:tenant, 'paystack', 'charge.success:dkSAME', 'paid', 'applied', '{}', :now) "
    "ON CONFLICT DO NOTHING RETURNING id"
)
OUTBOX = text(
    "INSERT INTO outbox (tenant_id, dedupe_key, chat_id, payload, status, attempts, next_attempt_at, created_at) "
    "VALUES (:tenant, 'receipt:7', 5001, '{\"text\": \"paid\"}', 'sent', 1, :now, :now) "
    "ON CONFLICT DO NOTHING RETURNING id"
)


@pytest.fixture(params=BACKENDS)
async def blank(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database (PostgreSQL: an empty schema) that no migration has touched."""
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'before.sqlite3'}")
        yield database
        await database.dispose()
        return
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL suites skipped")
    admin = Database(PG_URL)
    async with admin.engine.begin() as connection:
        await connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    database = Database(PG_URL, connect_args={"server_settings": {"search_path": SCHEMA}})
    try:
        yield database
    finally:
        await database.dispose()
        async with admin.engine.begin() as connection:
            await connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await admin.dispose()


async def downgrade(database: Database, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(run)


async def insert(database: Database, statement: Any, tenant: int) -> int | None:
    async with database.engine.begin() as connection:
        return await connection.scalar(statement, {"tenant": tenant, "now": NOW})


async def last_id(database: Database, table: str) -> int:
    async with database.engine.connect() as connection:
        return int(await connection.scalar(text(f"SELECT max(id) FROM {table}")))  # noqa: S608 (a table name of ours)


async def keys(database: Database) -> list[tuple[int, str, str]]:
    """Per tenant: its event key and its outbox dedupe key."""
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT e.tenant_id, e.event_key, o.dedupe_key FROM payment_events e "
                "JOIN outbox o ON o.tenant_id = e.tenant_id ORDER BY e.tenant_id"
            )
        )
        return [(int(tenant), str(event), str(dedupe)) for tenant, event, dedupe in rows]


async def test_rows_from_before_keep_their_keys_and_another_tenant_gets_its_own(blank: Database) -> None:
    await upgrade(blank.engine, BEFORE)
    async with blank.engine.begin() as connection:
        for tenant, slug in ((1, "mama-mboga"), (2, "fundi")):
            await connection.execute(
                text(
                    "INSERT INTO tenants (id, slug, name, currency, region, bot_token_enc, webhook_secret_enc, "
                    "test_mode, payment_timeout_minutes, created_at) "
                    "VALUES (:id, :slug, :slug, 'KES', 'KE', 'x', 'x', :no, 30, :now)"
                ),
                {"id": tenant, "slug": slug, "now": NOW, "no": False},
            )
    event_before = await insert(blank, EVENT, 1)
    outbox_before = await insert(blank, OUTBOX, 1)
    assert await insert(blank, EVENT, 2) is None  # before: Mama's event key blocks Fundi's
    assert await insert(blank, OUTBOX, 2) is None

    await upgrade(blank.engine, AFTER)

    async with blank.engine.connect() as connection:
        kept = (await connection.execute(text("SELECT id, tenant_id, event_key FROM payment_events"))).all()
        owed = (await connection.execute(text("SELECT id, tenant_id, dedupe_key FROM outbox"))).all()
    assert [tuple(row) for row in kept] == [(event_before, 1, "charge.success:dkSAME")]
    assert [tuple(row) for row in owed] == [(outbox_before, 1, "receipt:7")]
    assert await insert(blank, EVENT, 1) is None  # a redelivery of the event recorded before: still a duplicate
    assert await insert(blank, OUTBOX, 1) is None
    assert await insert(blank, EVENT, 2) == await last_id(blank, "payment_events")  # Fundi's own, now
    assert await insert(blank, OUTBOX, 2) == await last_id(blank, "outbox")
    assert await keys(blank) == [(1, "charge.success:dkSAME", "receipt:7"), (2, "charge.success:dkSAME", "receipt:7")]

    # Back down works while no key is shared (with a shared one it must fail rather than lose a row).
    async with blank.engine.begin() as connection:
        await connection.execute(text("DELETE FROM payment_events WHERE tenant_id = 2"))
        await connection.execute(text("DELETE FROM outbox WHERE tenant_id = 2"))
    await downgrade(blank, BEFORE)
    assert await insert(blank, EVENT, 2) is None
    await upgrade(blank.engine, AFTER)
    assert await insert(blank, EVENT, 2) == await last_id(blank, "payment_events")
