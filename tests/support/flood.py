"""Telegram's limits in a shorter second: the fake Bot API counts a bot's sends per ``second`` (and answers 429 past
``per_bot`` of them) while the server paces to the same second, so that what takes Telegram minutes takes a test
seconds; and many customers of one shop who have written to it before (the bot may write to them)."""

from __future__ import annotations

from core.pacing import PacingLimits
from sandbox.telegram.flood import FloodControl
from sandbox.telegram.users import FakeUser
from tests.support.app import ShopServer


def shorter_second(server: ShopServer, *, second: float, per_bot: int) -> FloodControl:
    """Set before ``server.start()``: the fake's flood control and the server's pacing, both to ``second``."""
    flood = server.fake.flood = FloodControl(per_bot=per_bot, window=second)
    server.pacing_limits = PacingLimits(
        per_chat_interval=second, per_group_interval=3 * second, per_bot_rate=per_bot / second, bot_burst=per_bot
    )
    return flood


def regulars(server: ShopServer, token: str, count: int, first_id: int) -> list[FakeUser]:
    """``count`` customers of the bot of ``token``, ids from ``first_id``, each of whom has written to the shop."""
    users = [server.fake.user(token, first_id + n, f"Customer {n}") for n in range(count)]
    for user in users:
        user.account.meet(user.chat)
    return users
