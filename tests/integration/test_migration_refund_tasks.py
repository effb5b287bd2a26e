"""Migration 0008 on a database that already holds payments: rows are kept, a refunded total is bounded by what was
paid from then on (a CHECK), refund rows gain who marked them done; and it goes down again. SQLite and PostgreSQL
(in a schema of its own, so the suite's schema is untouched)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core.clock import FakeClock
from core.db.engine import Database
from core.db.migrate import downgrade, upgrade
from core.vault import Vault
from tests.integration.test_refund_invariant import PAID, paid_order
from tests.support.seed import seed_shop

PG_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def empty(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'migrating.sqlite3'}")
        yield database
        await database.dispose()
        return
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL suites skipped")
    schema = f"migrating_{uuid.uuid4().hex[:8]}"
    admin = Database(PG_URL)
    async with admin.engine.begin() as connection:
        await connection.execute(text(f"CREATE SCHEMA {schema}"))
    database = Database(PG_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        yield database
    finally:
        await database.dispose()
        async with admin.engine.begin() as connection:
            await connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        await admin.dispose()


async def refunded(database: Database, payment_id: int) -> int:
    async with database.engine.connect() as connection:
        value = await connection.scalar(text("SELECT refunded_minor FROM payments WHERE id = :id"), {"id": payment_id})
    return int(value)


async def test_0008_upgrades_a_database_with_rows_and_goes_down_again(
    empty: Database, vault: Vault, clock: FakeClock
) -> None:
    # Seeded through today's tables, then taken back to 0007: seeding an old schema through the ORM breaks as soon
    # as a later migration adds a column.
    await upgrade(empty.engine)
    shop = await seed_shop(empty, vault, clock)
    payment = await paid_order(empty, shop, clock)
    await downgrade(empty.engine, "0007")
    async with empty.engine.begin() as connection:  # an old row beyond what was paid must not stop the upgrade
        await connection.execute(
            text("UPDATE payments SET refunded_minor = :too_much WHERE id = :id"),
            {"too_much": PAID + 500, "id": payment.id},
        )

    await upgrade(empty.engine)

    assert await refunded(empty, payment.id) == PAID  # bounded by what was paid; the row itself is kept
    with pytest.raises(IntegrityError):
        async with empty.engine.begin() as connection:
            await connection.execute(
                text("UPDATE payments SET refunded_minor = :v WHERE id = :id"), {"v": PAID + 1, "id": payment.id}
            )
    async with empty.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO refunds (tenant_id, payment_id, provider, amount_minor, currency, status, checks, done_by,"
                " done_at, created_at, updated_at) VALUES (:t, :p, 'mpesa', 100, 'KES', 'sent_by_merchant', 0, 9001,"
                " :now, :now, :now)"
            ),
            {"t": shop.tenant_id, "p": payment.id, "now": clock.now()},
        )

    await downgrade(empty.engine, "0007")
    async with empty.engine.begin() as connection:  # no CHECK any more, and the refund row is kept
        await connection.execute(
            text("UPDATE payments SET refunded_minor = :v WHERE id = :id"), {"v": PAID + 1, "id": payment.id}
        )
        kept = await connection.scalar(text("SELECT count(*) FROM refunds WHERE status = 'sent_by_merchant'"))
    assert kept == 1
