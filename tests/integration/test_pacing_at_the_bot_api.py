"""The relay's pacing, counted where Telegram counts it: at the fake Bot API, which answers 429 to a bot's 31st message
within a second and records when each message reached it.

A burst owed at once (a receipt each to 120 customers of one shop, four messages to one of them) goes out through the
real server to the fake, with the server pacing each bot at exactly Telegram's 30 messages a second: none is refused,
no second at the fake's end holds more than 30 of the bot's messages or two of one chat's, and every message arrives,
a chat's in order. Telegram's clock runs five times faster here (a "second" is 0.2 s), as in ``test_busy_shop``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core import outbox
from core.clock import SystemClock
from core.db.engine import Database
from core.messages import Message
from core.vault import Vault
from tests.support.app import ShopServer, shop_server
from tests.support.flood import regulars, shorter_second

SECOND = 0.2  # Telegram's second, five times faster
PER_BOT = 30  # messages a bot may send in a second: the server paces at exactly this
CUSTOMERS = 120
FIRST_CUSTOMER = 7_000_000


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


async def test_a_burst_of_receipts_stays_within_telegrams_limits_at_the_bot_api(
    server: ShopServer, database: Database
) -> None:
    shop = await server.add_shop()
    flood = shorter_second(server, second=SECOND, per_bot=PER_BOT)
    users = regulars(server, shop.token, CUSTOMERS, FIRST_CUSTOMER)
    await server.start()

    busy = users[0]
    async with database.uow() as uow:
        now = SystemClock().now()
        for number in range(1, 5):
            await outbox.enqueue(
                uow.session,
                tenant_id=shop.tenant_id,
                chat_id=busy.id,
                dedupe_key=f"busy:{number}",
                message=Message(f"Update {number}"),
                now=now,
            )
        for user in users[1:]:
            await outbox.enqueue(
                uow.session,
                tenant_id=shop.tenant_id,
                chat_id=user.id,
                dedupe_key=f"receipt:{user.id}",
                message=Message(f"Receipt for {user.id}"),
                now=now,
            )
        await uow.commit()
    assert server.runtime is not None
    server.runtime.relay.wake()
    await server.settle()

    bot_id = server.fake.bot(shop.token).id
    assert [m.content for m in busy.messages] == ["Update 1", "Update 2", "Update 3", "Update 4"]
    assert all([m.content for m in user.messages] == [f"Receipt for {user.id}"] for user in users[1:])
    assert flood.refused() == 0
    assert len(flood.accepted(bot_id)) == CUSTOMERS - 1 + 4
    assert flood.busiest_window(bot_id) <= PER_BOT
    assert flood.busiest_chat_window(bot_id, SECOND) == 1
