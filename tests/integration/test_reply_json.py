"""Direct replies follow the notifier's rules through every channel: a menu is edited in place with its keyboard, an
edit Telegram refuses is sent anew, "message is not modified" sends nothing more, the press is answered with its
notice. With aiogram they go out as plain Bot API JSON (``bot.aiogram.bot_api``), whose refusal is aiogram's own
exception.

The real ChannelReplier and each library's channel against the fake Bot API server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram.exceptions import TelegramBadRequest

from bot.aiogram import bot_api
from bot.channel import Channel, Incoming
from bot.replies import ChannelReplier
from core.clock import FakeClock
from core.messages import Button, Message, keyboard
from flows.context import Reply
from flows.inbound import Actor, Inbound
from sandbox.telegram import FakeTelegramServer, FakeUser
from tests.integration.test_reply_pacing import Sleep
from tests.support.channels import adopt, serving

TOKEN = "7100002:AAH-reply-json-token-abcdefghijklmnop"
CHAT = 254_700_000_003
MENU = keyboard([Button("Groceries", data="cat:0:0")], [Button("Pay online", url="https://pay.example/o/1")])


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(host="127.0.0.1", port=0) as server:
        server.fake.add_bot(TOKEN, "duka_json_bot", "Duka")
        yield server


@pytest.fixture
async def channel(telegram: FakeTelegramServer, telegram_library: str) -> AsyncIterator[Channel]:
    async with serving(telegram_library, telegram.base_url, token=TOKEN) as built:
        yield built


async def pressed_menu(telegram: FakeTelegramServer, replier: ChannelReplier) -> tuple[FakeUser, Incoming]:
    """Amina has the menu and presses its first button: the press as the replier gets it."""
    user = telegram.fake.user(TOKEN, CHAT, "Amina")
    await user.send_command("/start")
    await replier.deliver(1, Incoming(Actor(CHAT, CHAT, "Amina"), Inbound.cmd("shop")), Reply([Message("Shop", MENU)]))
    press = await user.press("Groceries")
    return user, Incoming(Actor(CHAT, CHAT, "Amina"), Inbound.pressed(press.data), press.query_id, press.message_id)


@pytest.mark.every_channel
async def test_a_menu_is_sent_with_its_keyboard_and_edited_in_place(
    telegram: FakeTelegramServer, channel: Channel, clock: FakeClock
) -> None:
    replier = ChannelReplier(channel, clock=clock, sleep=Sleep(clock))
    user, press = await pressed_menu(telegram, replier)
    assert [m.buttons for m in user.messages] == [
        [[("Groceries", "cat:0:0")], [("Pay online", "https://pay.example/o/1")]]
    ]

    await replier.deliver(1, press, Reply([Message("Groceries (page 1 of 1)", edit=True)], notice="Groceries"))

    assert [(m.content, m.buttons) for m in user.messages] == [("Groceries (page 1 of 1)", [])]  # no keyboard: removed
    assert [(a.data, a.text) for a in user.callback_answers] == [("cat:0:0", "Groceries")]


@pytest.mark.every_channel
async def test_an_edit_telegram_refuses_is_sent_anew(
    telegram: FakeTelegramServer, channel: Channel, clock: FakeClock
) -> None:
    replier = ChannelReplier(channel, clock=clock, sleep=Sleep(clock))
    user, press = await pressed_menu(telegram, replier)
    telegram.fake.fail_next("editMessageText", 400, "Bad Request: message to edit not found", chat_id=CHAT)

    await replier.deliver(1, press, Reply([Message("Groceries (page 1 of 1)", MENU, edit=True)]))

    assert [m.content for m in user.messages] == ["Shop", "Groceries (page 1 of 1)"]
    assert user.messages[-1].buttons == user.messages[0].buttons


@pytest.mark.every_channel
async def test_message_is_not_modified_sends_nothing_more(
    telegram: FakeTelegramServer, channel: Channel, clock: FakeClock
) -> None:
    replier = ChannelReplier(channel, clock=clock, sleep=Sleep(clock))
    user, press = await pressed_menu(telegram, replier)
    telegram.fake.fail_next("editMessageText", 400, "Bad Request: message is not modified", chat_id=CHAT)

    await replier.deliver(1, press, Reply([Message("Shop", MENU, edit=True)]))

    assert [m.content for m in user.messages] == ["Shop"]
    assert telegram.fake.calls["sendMessage"] == 1


@pytest.mark.parametrize("telegram_library", ["aiogram"], indirect=True)  # aiogram's own path, whatever the default
async def test_a_refused_call_raises_aiogram_s_own_exception(telegram: FakeTelegramServer, channel: Channel) -> None:
    bot = adopt(channel, 1, TOKEN)
    telegram.fake.fail_next("sendMessage", 400, "Bad Request: chat not found")

    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot_api.send_text(bot, CHAT, "Karibu", bot_api.keyboard_json(MENU))


def test_only_one_plain_text_message_takes_the_json_path() -> None:
    assert bot_api.plain_text(Message("Karibu \ud83d")) == "Karibu \ufffd"  # a lone surrogate, cleaned as every send
    assert bot_api.plain_text(Message("Rice", photo="https://cdn.example/rice.jpg")) is None
    assert bot_api.plain_text(Message("x" * 4097)) is None
    assert bot_api.plain_text(Message("   ")) is None
    assert bot_api.keyboard_json(()) is None
