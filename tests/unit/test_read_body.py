"""A webhook body is read without a library's models when it is a plain text message or button press
(bot.telegram_plain, through bot.telegram_channel.parse_with): for every body the answer is the one aiogram's models
give (parse_update, then read), the refusals included, whether the plain reading took it or handed it on."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.aiogram.updates import model_of, parse_update
from bot.telegram_channel import parse_with
from bot.telegram_plain import plain_read
from bot.telegram_read import read
from flows.inbound import Kind
from tests.property.strategies import telegram_updates

USER = {"id": 5005, "is_bot": False, "first_name": "Amina", "last_name": "W", "language_code": "sw-KE"}
CHAT = {"id": 5005, "type": "private", "first_name": "Amina"}
COMMAND = {
    "update_id": 9001,
    "message": {
        "message_id": 7,
        "date": 1_700_000_000,
        "chat": CHAT,
        "from": USER,
        "text": "/shop@DukaBot  now ",
        "entities": [{"type": "bot_command", "offset": 0, "length": 13}],
    },
}
PRESS = {
    "update_id": 9002,
    "callback_query": {
        "id": "q-77",
        "from": USER,
        "chat_instance": "c",
        "data": "cat:0:0",
        "message": {
            "message_id": 41,
            "date": 1_700_000_000,
            "chat": CHAT,
            "from": {"id": 1, "is_bot": True, "first_name": "Duka", "username": "DukaBot"},
            "text": "Groceries",
            "reply_markup": {"inline_keyboard": [[{"text": "Rice", "callback_data": "prod:1"}]]},
        },
    },
}


def _aiogram(body: bytes) -> Any:
    update = parse_update(body)
    return None if update is None else (update.update_id, read(update))


def _ours(body: bytes) -> Any:
    update = parse_with(body, model_of)
    return None if update is None else (update.update_id, update.incoming)


def test_a_command_and_a_press_are_read_plainly_as_aiogram_reads_them() -> None:
    for update in (COMMAND, PRESS):
        body = json.dumps(update).encode()
        assert plain_read(json.loads(body)) is not None  # the plain reading took it
        assert _ours(body) == _aiogram(body)
    update_id, incoming = _ours(json.dumps(COMMAND).encode())
    assert incoming is not None
    assert (update_id, incoming.inbound.kind, incoming.inbound.command, incoming.inbound.text) == (
        9001,
        Kind.COMMAND,
        "shop",
        "now",
    )
    assert (incoming.actor.display_name, incoming.actor.language, incoming.actor.chat_id) == ("Amina W", "sw", 5005)
    update_id, incoming = _ours(json.dumps(PRESS).encode())
    assert incoming is not None
    assert (update_id, incoming.inbound.data, incoming.callback_query_id, incoming.message_id) == (
        9002,
        "cat:0:0",
        "q-77",
        41,
    )


def _changed(update: dict[str, Any], path: tuple[str, ...], value: Any) -> bytes:
    changed = copy.deepcopy(update)
    where = changed
    for key in path[:-1]:
        where = where[key]
    if value is _DROP:
        where.pop(path[-1], None)
    else:
        where[path[-1]] = value
    return json.dumps(changed).encode()


_DROP = object()
_ODD_VALUES = [_DROP, None, True, "5005", 5005.0, -1, 2**40, 10**12, "", [], {}, {"id": 1}]
_PATHS = [
    ("update_id",),
    ("message", "message_id"),
    ("message", "date"),
    ("message", "chat"),
    ("message", "chat", "id"),
    ("message", "chat", "type"),
    ("message", "from"),
    ("message", "from", "id"),
    ("message", "from", "is_bot"),
    ("message", "from", "first_name"),
    ("message", "from", "language_code"),
    ("message", "text"),
    ("message", "entities"),
    ("message", "sender_chat"),
    ("message", "contact"),
    ("edited_message",),
]
_PRESS_PATHS = [
    ("callback_query", "id"),
    ("callback_query", "from"),
    ("callback_query", "chat_instance"),
    ("callback_query", "data"),
    ("callback_query", "message"),
    ("callback_query", "message", "date"),
    ("callback_query", "message", "chat", "id"),
    ("callback_query", "message", "reply_markup"),
    ("callback_query", "message", "photo"),
    ("callback_query", "game_short_name"),
]


@pytest.mark.parametrize("path", _PATHS + _PRESS_PATHS, ids="/".join)
def test_an_odd_field_gets_aiogram_s_answer(path: tuple[str, ...]) -> None:
    update = COMMAND if path[0] != "callback_query" else PRESS
    for value in _ODD_VALUES:
        body = _changed(update, path, value)
        assert _ours(body) == _aiogram(body), (path, value)


@settings(max_examples=100, deadline=None)
@given(body=telegram_updates(5005))
def test_hostile_update_shaped_bodies_get_aiogram_s_answer(body: bytes) -> None:
    assert _ours(body) == _aiogram(body)


@given(body=st.one_of(st.binary(max_size=40), st.just(b"[]"), st.just(b'{"update_id": "many"}')))
def test_bodies_that_are_no_update_are_refused(body: bytes) -> None:
    assert _ours(body) == _aiogram(body)
