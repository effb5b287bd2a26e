"""A new chat's first two updates handled at once, on PostgreSQL by two truly concurrent transactions: both are
answered, and the chat has one customer and one conversation row.

To make the two transactions meet at the insert every time (not only when the timing happens to line up), a third
transaction first inserts the row they are about to create and keeps it uncommitted: both updates find nothing
committed, reach their insert and wait on the unique key. Once both wait, that transaction rolls back and lets them
race each other, as two ``serve`` processes handling Telegram's redelivery and the original would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from core.clock import SystemClock
from core.db.engine import Database
from core.db.tables import Conversation, Customer
from core.vault import Vault
from tests.support.app import Person, Shop, ShopServer, shop_server
from tests.support.locks import waiting_on_a_lock

ON_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
WELCOME = "Welcome to Mama Mboga Store."


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


def start_update(update_id: int, user_id: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "Akinyi"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Akinyi"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def two_starts_meeting_at(server: ShopServer, shop: Shop, user: Person, held: Any) -> list[tuple[int, str]]:
    """POSTs two different /start updates of ``user`` at once, while a third transaction holds ``held`` (an
    insert) uncommitted; lets them go once both wait for it. The two HTTP answers."""
    async with server.database.engine.connect() as gate:
        transaction = await gate.begin()
        await gate.execute(held)
        user.user.account.meet(user.user.chat)  # the chat the two updates come from, as Telegram knows it
        posts = [
            asyncio.create_task(server.post_update(shop.slug, start_update(update_id, user.id), shop.webhook_secret))
            for update_id in (7001, 7002)
        ]
        await waiting_on_a_lock(server.database, 2)
        await transaction.rollback()
        return list(await asyncio.gather(*posts))


async def rows_of(database: Database, shop: Shop, user_id: int) -> tuple[int, int]:
    async with database.uow() as uow:
        customers = await uow.session.scalar(
            select(func.count()).where(Customer.tenant_id == shop.tenant_id, Customer.tg_user_id == user_id)
        )
        conversations = await uow.session.scalar(
            select(func.count()).where(Conversation.tenant_id == shop.tenant_id, Conversation.chat_id == user_id)
        )
    return int(customers or 0), int(conversations or 0)


@ON_POSTGRES
async def test_a_new_chats_first_two_updates_at_once_make_one_customer(server: ShopServer) -> None:
    shop = await server.add_shop()
    await server.start()
    akinyi = server.person(shop, 6101, "Akinyi")
    customer_row = insert(Customer).values(
        tenant_id=shop.tenant_id,
        tg_user_id=akinyi.id,
        chat_id=akinyi.id,
        display_name="",
        created_at=SystemClock().now(),
    )

    answers = await two_starts_meeting_at(server, shop, akinyi, customer_row)

    assert answers == [(200, '{"ok": true}'), (200, '{"ok": true}')]
    assert await rows_of(server.database, shop, akinyi.id) == (1, 1)
    await server.settle()
    assert akinyi.count(WELCOME) == 2


@ON_POSTGRES
async def test_a_known_customers_new_conversation_made_by_two_updates_at_once(server: ShopServer) -> None:
    shop = await server.add_shop()
    await server.start()
    akinyi = server.person(shop, 6102, "Akinyi")
    now = SystemClock().now()
    async with server.database.uow() as uow:  # the customer is known; the chat has no conversation row yet
        await uow.session.execute(
            insert(Customer).values(
                tenant_id=shop.tenant_id, tg_user_id=akinyi.id, chat_id=akinyi.id, display_name="", created_at=now
            )
        )
        await uow.commit()
    conversation_row = insert(Conversation).values(
        tenant_id=shop.tenant_id, chat_id=akinyi.id, step="idle", data={}, updated_at=now
    )

    answers = await two_starts_meeting_at(server, shop, akinyi, conversation_row)

    assert answers == [(200, '{"ok": true}'), (200, '{"ok": true}')]
    assert await rows_of(server.database, shop, akinyi.id) == (1, 1)
    await server.settle()
    assert akinyi.count(WELCOME) == 2
