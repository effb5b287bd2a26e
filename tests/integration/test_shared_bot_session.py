"""Every tenant's bot sends through one HTTP pool (aiogram: one session, one SSL context; python-telegram-bot: one
HTTPXRequest): real bots of each library against the fake Bot API, each shop's messages reaching its own customers
under its own bot, and the pool closed once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from core.clock import FakeClock
from core.db.engine import Database
from core.messages import Message
from core.vault import Vault
from sandbox.telegram import FakeTelegram, FakeTelegramServer
from tests.support.channels import channel_at
from tests.support.seed import seed_shop

SHOPS = 12
pytestmark = pytest.mark.every_channel


@pytest_asyncio.fixture
async def telegram() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(FakeTelegram()) as running:
        yield running


def pool_of(bot: Any) -> Any:
    """What the library sends through: aiogram's ``session``, python-telegram-bot's ``request``."""
    return bot.session if hasattr(bot, "session") else bot.request


def is_closed(pool: Any) -> bool:
    inner = getattr(pool, "_session", None)  # aiogram: aiohttp's ClientSession, None once closed
    if hasattr(pool, "_client"):  # python-telegram-bot: the httpx client
        return bool(pool._client.is_closed)
    return inner is None or bool(inner.closed)


async def test_many_tenants_send_through_one_pool(
    database: Database, vault: Vault, clock: FakeClock, telegram: FakeTelegramServer, telegram_library: str
) -> None:
    customers = {}
    for number in range(SHOPS):
        token = f"{7_000_001 + number}:AAE-shared-session-{number:02d}-0000000000"
        telegram.fake.add_bot(token, f"shop_{number}_bot", f"Shop {number}")
        shop = await seed_shop(database, vault, clock, slug=f"shop-{number}", bot_token=token, admin_id=9000 + number)
        customer = telegram.fake.user(token, 5000 + number)
        await customer.send_text("hello")  # Telegram lets a bot write only to someone who wrote to it first
        customers[shop.tenant_id] = (token, customer)

    channel = channel_at(telegram_library, telegram.base_url, database)
    bots = channel.bots  # type: ignore[attr-defined]
    try:
        for tenant_id, (_, customer) in customers.items():
            await channel.notifier.send(tenant_id, customer.id, Message(f"Karibu from tenant {tenant_id}"))
        built = {tenant_id: await bots.bot_for(tenant_id) for tenant_id in customers}

        pools = {id(pool_of(bot)) for bot in built.values()}
        assert len(pools) == 1
        pool = pool_of(next(iter(built.values())))
        for tenant_id, (token, customer) in customers.items():
            assert built[tenant_id].token == token
            assert [m.content for m in customer.messages] == [f"Karibu from tenant {tenant_id}"]
            assert telegram.fake.calls_for(token)["sendMessage"] == 1

        # A bot rebuilt after a token change is a new bot on the same pool, not a new pool.
        first = next(iter(customers))
        channel.forget(first)
        rebuilt = await bots.bot_for(first)
        assert rebuilt is not built[first]
        assert pool_of(rebuilt) is pool
        assert not is_closed(pool)
    finally:
        await channel.close()
    assert is_closed(pool)
