"""The fake Bot API's flood control, which busy-shop tests turn on: off by default; on, it records every chat message
a bot sends or edits and answers 429 with retry_after past the bot's limit, as Telegram does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter

from sandbox.telegram import FakeTelegramServer
from sandbox.telegram.flood import FloodControl

TOKEN = "7100009:AAH-flood-test-token-abcdefghijklmnop"
CHAT = 254_700_000_009


class Timer:
    """The flood control's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(host="127.0.0.1", port=0) as running:
        running.fake.add_bot(TOKEN, "duka_flood_bot", "Duka")
        await running.fake.user(TOKEN, CHAT, "Amina").send_command("/start")
        yield running


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.base_url))
    yield Bot(TOKEN, session=session)
    if session._session is not None:
        await session._session.close()


async def test_off_by_default_nothing_is_refused_or_recorded(server: FakeTelegramServer, bot: Bot) -> None:
    for n in range(40):
        await bot.send_message(CHAT, f"message {n}")
    assert server.fake.flood is None
    assert len(server.fake.user(TOKEN, CHAT).messages) == 40


async def test_past_the_bots_limit_telegram_answers_429_until_the_window_moves_on(
    server: FakeTelegramServer, bot: Bot
) -> None:
    timer = Timer()
    flood = server.fake.flood = FloodControl(per_bot=2, window=1.0, timer=timer)
    first = await bot.send_message(CHAT, "one")
    timer.now += 0.5
    await bot.edit_message_text("one, edited", chat_id=CHAT, message_id=first.message_id)
    await bot.send_chat_action(CHAT, "typing")  # not a message: not counted

    with pytest.raises(TelegramRetryAfter) as refused:
        await bot.send_message(CHAT, "three")
    timer.now += 0.6  # the first send has left the window
    await bot.send_message(CHAT, "three")

    assert refused.value.retry_after == 1
    assert [(s.method, s.at, s.refused) for s in flood.sends] == [
        ("sendMessage", 100.0, False),
        ("editMessageText", 100.5, False),
        ("sendMessage", 100.5, True),
        ("sendMessage", 101.1, False),
    ]
    bot_id = server.fake.bot(TOKEN).id
    assert flood.busiest_window(bot_id) == 2
    assert flood.busiest_chat_window(bot_id, 1.0) == 2
    assert flood.refused() == 1
