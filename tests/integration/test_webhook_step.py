"""A conversation step over the webhook: the secret is checked before any work, so a forged update changes nothing
(not even the record of its update id, which the genuine update with that id still gets); a genuine one is answered
with 200 and its reply reaches the chat after the answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.db.engine import Database
from core.vault import Vault
from tests.support.app import ShopServer, shop_server


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


def start_command(update_id: int, user_id: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "Eve"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Eve"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_a_forged_secret_changes_nothing_and_takes_no_update_id(server: ShopServer) -> None:
    shop = await server.add_shop()
    other = await server.add_shop("fundi", "Fundi Electronics", admins=[9101])
    await server.start()
    customer = server.person(shop, 6021)
    assert "Welcome to Mama Mboga Store" in await customer.send("/start")  # a conversation under way
    await server.settle()
    before = await server.snapshot(skip=())
    calls_before = server.fake.calls_for(shop.token)
    forged = start_command(777_001, customer.id)
    for secret in (None, "", "guessed", other.webhook_secret, shop.webhook_secret[:-1]):
        assert await server.post_update(shop.slug, forged, secret) == (401, "wrong secret token")
    await server.settle()
    assert await server.snapshot(skip=()) == before  # processed_updates included
    assert server.fake.calls_for(shop.token) == calls_before  # no Bot API call either

    # The genuine update with the forged one's id is processed: the forgery did not use the id up.
    await customer.user.send_text("hello")  # lets the bot write to this chat again in the fake's eyes
    await server.idle()
    sent_before = server.fake.calls_for(shop.token)["sendMessage"]
    assert await server.post_update(shop.slug, forged, shop.webhook_secret) == (200, '{"ok": true}')
    await server.idle()  # the answer came first; the reply follows it
    sent = server.fake.calls_for(shop.token)["sendMessage"]
    assert sent > sent_before
    assert any("Welcome to Mama Mboga Store" in m.content for m in customer.messages[-(sent - sent_before) :])
    assert await server.post_update(shop.slug, forged, shop.webhook_secret) == (200, '{"ok": true}')  # a duplicate
    await server.idle()
    assert server.fake.calls_for(shop.token)["sendMessage"] == sent
