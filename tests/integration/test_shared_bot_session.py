"""Every tenant's aiogram Bot sends through one HTTP session (one connection pool, one SSL context): real Bots against
the fake Bot API, each shop's messages reaching its own customers under its own bot, and the session closed once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from bot.bots import TenantBots
from core.clock import FakeClock
from core.db.engine import Database
from core.vault import Vault
from sandbox.telegram import FakeTelegram, FakeTelegramServer
from tests.support.seed import seed_shop

SHOPS = 12


@pytest_asyncio.fixture
async def telegram() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(FakeTelegram()) as running:
        yield running


async def test_many_tenants_send_through_one_session(
    database: Database, vault: Vault, clock: FakeClock, telegram: FakeTelegramServer
) -> None:
    customers = {}
    for number in range(SHOPS):
        token = f"{7_000_001 + number}:AAE-shared-session-{number:02d}-0000000000"
        telegram.fake.add_bot(token, f"shop_{number}_bot", f"Shop {number}")
        shop = await seed_shop(database, vault, clock, slug=f"shop-{number}", bot_token=token, admin_id=9000 + number)
        customer = telegram.fake.user(token, 5000 + number)
        await customer.send_text("hello")  # Telegram lets a bot write only to someone who wrote to it first
        customers[shop.tenant_id] = (token, customer)

    bots = TenantBots(database, vault, telegram.base_url)
    try:
        built = {tenant_id: await bots.bot_for(tenant_id) for tenant_id in customers}
        for tenant_id, bot in built.items():
            await bot.send_message(customers[tenant_id][1].id, f"Karibu from tenant {tenant_id}")

        assert {id(bot.session) for bot in built.values()} == {id(bots.session)}
        http = bots.session._session  # aiohttp's ClientSession: its connector holds the pool and the SSL context
        assert http is not None
        assert not http.closed
        for tenant_id, (token, customer) in customers.items():
            assert built[tenant_id].token == token
            assert [m.content for m in customer.messages] == [f"Karibu from tenant {tenant_id}"]
            assert telegram.fake.calls_for(token)["sendMessage"] == 1

        # A bot rebuilt after a token change is a new Bot on the same session, not a new pool.
        first = next(iter(customers))
        bots.forget(first)
        rebuilt = await bots.bot_for(first)
        assert rebuilt is not built[first]
        assert rebuilt.session is bots.session
        assert bots.session._session is http
    finally:
        await bots.close()
    assert http.closed
