"""A busy shop: a few hundred customers pressing buttons with no pause, on the real server, against a fake Telegram
that delivers webhooks in parallel (as Telegram does, up to max_connections) and answers 429 when the bot goes over
its limit. Every update gets its reply, and the bot stays within Telegram's limits in every window.

Telegram's clock runs five times faster here (a "second" is 0.2 s: 30 messages per bot and one per chat in it), so
the test keeps the limits' shape and takes a fifth of the time. The test asserts what Telegram saw, never durations.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.db.engine import Database
from core.pacing import PacingLimits
from core.vault import Vault
from sandbox.telegram import FakeUser
from sandbox.telegram.delivery import WebhookPolicy
from sandbox.telegram.flood import FloodControl
from tests.support.app import ShopServer, shop_server

SECOND = 0.2  # Telegram's second, five times faster
PER_BOT = 30  # messages a bot may send in a second
# The server paces a little below the limit: here one process plays the server, Telegram and 200 customers, and a
# send booked in time can reach the fake late, next to the ones booked after it (a 429 then, waited out).
PACED = 25
CUSTOMERS = 200


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


async def browse(user: FakeUser) -> None:
    """/start, then two presses, each as soon as the previous reply shows."""
    await user.send_command("/start")
    await user.wait_for("choose a category", timeout=60)
    await user.press("Groceries")
    await user.wait_for("Groceries (page 1 of 2)", timeout=60)
    await user.press("Next ▶")
    await user.wait_for("Groceries (page 2 of 2)", timeout=60)


async def test_every_customer_of_a_busy_shop_gets_every_reply_within_telegrams_limits(server: ShopServer) -> None:
    shop = await server.add_shop()
    # Parallel deliveries, as Telegram makes them; on a shared, busy test machine an answer may take a while.
    server.fake.webhooks.policy = WebhookPolicy(parallel=True, timeout=60.0)
    flood = server.fake.flood = FloodControl(per_bot=PER_BOT, window=SECOND)
    server.pacing_limits = PacingLimits(
        per_chat_interval=SECOND, per_group_interval=3 * SECOND, per_bot_rate=PACED / SECOND, bot_burst=PACED
    )
    await server.start()
    users = [server.fake.user(shop.token, 6_000_000 + n, f"Customer {n}") for n in range(CUSTOMERS)]

    await asyncio.gather(*(browse(user) for user in users))
    await server.settle()

    bot_id = server.fake.bot(shop.token).id
    for user in users:
        # The greeting and the menu, edited in place by both presses; both presses answered.
        assert [m.content for m in user.messages] == [
            f"Karibu, Customer {user.id - 6_000_000}! Welcome to Mama Mboga Store. "
            "Browse the shop below, or type /help at any time.",
            "Groceries (page 2 of 2) – tap a product:",
        ]
        assert len(user.callback_answers) == 2
    assert len(flood.accepted(bot_id)) == CUSTOMERS * 4
    assert flood.busiest_window(bot_id) <= PER_BOT
    assert flood.busiest_chat_window(bot_id, SECOND) == 1
