"""Migration 0005 on a database that already holds rows: an order with several open attempts (possible before the
index) keeps only its newest open, the older ones cancelled, so the one-open-attempt index can be built."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core.db.engine import Database
from core.db.migrate import upgrade

NOW = "2026-01-15 09:00:00"
TENANT = text(
    "INSERT INTO tenants (id, slug, name, currency, region, bot_token_enc, webhook_secret_enc, test_mode, "
    "payment_timeout_minutes, created_at) VALUES (1, 'duka', 'Duka', 'KES', 'KE', 'x', 'y', false, 30, :now)"
)
CUSTOMER = text(
    "INSERT INTO customers (id, tenant_id, tg_user_id, chat_id, display_name, language, created_at) "
    "VALUES (1, 1, 5001, 5001, 'Wanjiru', 'en', :now)"
)
ORDER = text(
    "INSERT INTO orders (id, tenant_id, customer_id, code, status, total_minor, currency, contact_name, "
    "contact_phone, delivery_method, is_test, created_at, updated_at) VALUES (:id, 1, 1, :code, 'awaiting_payment', "
    "42000, 'KES', 'Wanjiru', '+254708374149', 'pickup', false, :now, :now)"
)
PAYMENT = text(
    "INSERT INTO payments (tenant_id, order_id, provider, reference, status, amount_minor, currency, "
    "refunded_minor, is_test, checks, created_at, updated_at) VALUES (1, :order, :provider, :reference, :status, "
    "42000, 'KES', 0, false, 0, :now, :now)"
)


async def test_older_open_attempts_are_cancelled_and_the_index_then_holds(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}")
    try:
        await upgrade(database.engine, "0004")
        async with database.engine.begin() as connection:
            await connection.execute(TENANT, {"now": NOW})
            await connection.execute(CUSTOMER, {"now": NOW})
            for order_id in (1, 2):
                await connection.execute(ORDER, {"id": order_id, "code": f"ORD{order_id}", "now": NOW})
            rows = [(1, "pending"), (1, "failed"), (1, "created"), (1, "pending"), (2, "pending")]
            for number, (order_id, status) in enumerate(rows, start=1):
                values = {"order": order_id, "provider": "mpesa", "reference": f"ref{number}", "status": status}
                await connection.execute(PAYMENT, {**values, "now": NOW})

        await upgrade(database.engine)

        async with database.engine.begin() as connection:
            found = (await connection.execute(text("SELECT id, status, reason FROM payments ORDER BY id"))).all()
        superseded = "superseded by a newer attempt"
        assert [tuple(row) for row in found] == [
            (1, "cancelled", superseded),
            (2, "failed", None),
            (3, "cancelled", superseded),
            (4, "pending", None),
            (5, "pending", None),
        ]
        second_open = {"order": 1, "provider": "paystack", "reference": "ref6", "status": "created", "now": NOW}
        with pytest.raises(IntegrityError):
            async with database.engine.begin() as connection:
                await connection.execute(PAYMENT, second_open)
    finally:
        await database.dispose()
