"""A button press carries the bot's own message back, keyboard and all: what is read of it (its chat and id, the
press's data and sender) is read, and the body is still screened whole (an integer past 64 bits anywhere refuses it)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.channel import Channel

pytestmark = pytest.mark.every_channel


def press(keyboard_data: Any) -> bytes:
    message = {
        "message_id": 41,
        "date": 1_700_000_000,
        "chat": {"id": 5005, "type": "private"},
        "from": {"id": 1, "is_bot": True, "first_name": "Duka"},
        "text": "Groceries (page 1 of 2)",
        "entities": [{"type": "bold", "offset": 0, "length": 9}],
        "reply_markup": {"inline_keyboard": [[{"text": "Rice · KES 420", "callback_data": keyboard_data}]]},
    }
    query = {
        "id": "q-77",
        "chat_instance": "c",
        "data": "cat:0:0",
        "from": {"id": 5005, "is_bot": False, "first_name": "Amina"},
        "message": message,
    }
    return json.dumps({"update_id": 9001, "callback_query": query}).encode()


def test_a_press_is_read_without_building_the_pressed_message_s_keyboard(channel: Channel) -> None:
    update = channel.parse(press("prod:1"))
    assert update is not None and update.update_id == 9001
    incoming = update.incoming
    assert incoming is not None
    assert (incoming.actor.chat_id, incoming.actor.tg_user_id, incoming.actor.display_name) == (5005, 5005, "Amina")
    assert (incoming.inbound.data, incoming.callback_query_id, incoming.message_id) == ("cat:0:0", "q-77", 41)


def test_a_press_whose_pressed_message_holds_an_integer_past_64_bits_is_refused(channel: Channel) -> None:
    assert channel.parse(press(2**64)) is None
