"""A merchant alert reaches each admin's private chat in the language that admin chose (``/adminlanguage``), the
others' in the shop's; with an alert group set, the group reads the shop's language. The outbox row notes the
language it was written in, so the relay's own words (a repeat's mark) are in it too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from core.db.engine import Database
from core.db.tables import OutboxMessage, Tenant
from core.vault import Vault
from tests.support.app import ShopServer, shop_server

GROUP = -100_777


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


async def languages_of(database: Database, key_start: str) -> dict[int, tuple[str, str]]:
    """Each chat's row of the alerts keyed ``key_start...``: (its language, the start of its text)."""
    async with database.uow() as uow:
        rows = await uow.session.execute(
            select(OutboxMessage.chat_id, OutboxMessage.payload).where(OutboxMessage.dedupe_key.startswith(key_start))
        )
        return {chat: (payload["language"], payload["text"].split(" – ")[0]) for chat, payload in rows.all()}


async def test_each_admin_reads_an_alert_in_their_own_language_and_a_group_in_the_shops(
    server: ShopServer, database: Database
) -> None:
    shop = await server.add_shop(admins=(9001, 9002))
    await server.start()
    mama, baba = server.person(shop, 9001, "Mama"), server.person(shop, 9002, "Baba")
    await mama.send("/start")
    await baba.send("/start")
    assert (await baba.send("/adminlanguage sw")).messages  # Baba reads the merchant's side in Swahili
    customer = server.person(shop, 7501, "Wanjiru")
    await customer.send("/help")
    await customer.tap("💬 Talk to the shop")

    await customer.send("Is the rice fresh?")
    await server.settle()
    assert (
        mama.find("💬 Wanjiru (7501) writes").content == "💬 Wanjiru (7501) writes – no open order:\nIs the rice fresh?"
    )
    asked = baba.find("💬 Wanjiru (7501) anaandika")
    assert asked.content == "💬 Wanjiru (7501) anaandika – hakuna oda iliyo wazi:\nIs the rice fresh?"
    assert asked.buttons[0][0][0] == "↩️ Jibu"
    assert await languages_of(database, "talk:") == {
        9001: ("en", "💬 Wanjiru (7501) writes"),
        9002: ("sw", "💬 Wanjiru (7501) anaandika"),
    }

    async with database.uow() as uow:  # alerts to a group: many readers, the shop's language
        await uow.session.execute(update(Tenant).where(Tenant.id == shop.tenant_id).values(alert_chat_id=GROUP))
        await uow.session.execute(update(OutboxMessage).values(dedupe_key="old:" + OutboxMessage.dedupe_key))
        await uow.commit()
    await customer.send("And the beans?")
    assert await languages_of(database, "talk:") == {GROUP: ("en", "💬 Wanjiru (7501) writes")}
