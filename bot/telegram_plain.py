"""The plain reading of the two updates nearly every step is (a text message, a button press), straight from the
screened JSON of a webhook body, without building a library's models: a quarter of a step's CPU went on aiogram's.
Whatever it does not read plainly goes through the library's models and ``bot.telegram_read.read``, which give the
same answer (tests/unit/test_read_body.py holds both to it)."""

from __future__ import annotations

from typing import Any

from bot.channel import Incoming, Received
from bot.telegram_read import UNREAD_OF_PRESSED_MESSAGE, actor, typed
from core.unicode import clean_text
from flows.inbound import Actor, Inbound

# The plain reading of the two updates nearly every step is. A body is read here only when each object in it holds
# known fields alone, each of the type aiogram's model takes without converting it (an int an int, not a bool or a
# numeric string; a date a plain Unix time), and every field that model requires: then aiogram's models would accept
# it and read the same values. Anything else (another kind of update, an upload, a field this does not know, a value
# aiogram would convert or refuse) returns None and goes through aiogram's models.
_UPDATE_KINDS = (frozenset({"update_id", "message"}), frozenset({"update_id", "callback_query"}))
_USER: dict[str, type] = {
    "id": int,
    "is_bot": bool,
    "first_name": str,
    "last_name": str,
    "username": str,
    "language_code": str,
    "is_premium": bool,
}
_CHAT: dict[str, type] = {"id": int, "type": str, "first_name": str, "last_name": str, "username": str, "title": str}
_ENTITY: dict[str, type] = {"type": str, "offset": int, "length": int}
_QUERY: dict[str, type] = {"id": str, "from": dict, "chat_instance": str, "data": str, "message": dict}
# A text message, and a pressed message once its unread parts are dropped (its text, its edit, its sender: the bot).
_MESSAGE: dict[str, type] = {
    "message_id": int,
    "date": int,
    "edit_date": int,
    "chat": dict,
    "from": dict,
    "text": str,
    "entities": list,
}
_REQUIRED_USER, _REQUIRED_CHAT = ("id", "is_bot", "first_name"), ("id", "type")
_REQUIRED_MESSAGE, _REQUIRED_QUERY = ("message_id", "date", "chat"), ("id", "from", "chat_instance")
_UNIX_TIME_MAX = 2**32  # aiogram reads larger numbers as milliseconds, or refuses them


def _plain(value: Any, fields: dict[str, type], required: tuple[str, ...]) -> bool:
    return (
        isinstance(value, dict)
        and all(name in value for name in required)
        and all(type(item) is fields.get(name) for name, item in value.items())
    )


def _plain_message(message: Any) -> bool:
    return (
        _plain(message, _MESSAGE, _REQUIRED_MESSAGE)
        and 0 <= message["date"] < _UNIX_TIME_MAX
        and 0 <= message.get("edit_date", 0) < _UNIX_TIME_MAX
        and _plain(message["chat"], _CHAT, _REQUIRED_CHAT)
        and ("from" not in message or _plain(message["from"], _USER, _REQUIRED_USER))
        and all(_plain(entity, _ENTITY, tuple(_ENTITY)) for entity in message.get("entities", ()))
    )


def plain_read(data: Any) -> Received | None:
    """The update's id and what :func:`bot.telegram_read.read` makes of it, for a screened text message or button
    press that the library's models would read the same; None for anything else (the library's models decide)."""
    if not isinstance(data, dict) or frozenset(data) not in _UPDATE_KINDS or type(data["update_id"]) is not int:
        return None
    message = data.get("message")
    if message is not None:
        if not _plain_message(message) or "text" not in message or "from" not in message:
            return None
        user = message["from"]
        return Received(
            data["update_id"], Incoming(_actor_of_dict(user, message["chat"]["id"]), typed(message["text"]))
        )
    query = data["callback_query"]
    if not _plain(query, _QUERY, _REQUIRED_QUERY) or not _plain(query["from"], _USER, _REQUIRED_USER):
        return None
    pressed_message = query.get("message")
    if pressed_message is not None:
        pressed_message = {k: v for k, v in pressed_message.items() if k not in UNREAD_OF_PRESSED_MESSAGE}
        if not _plain_message(pressed_message):
            return None
    user = query["from"]
    chat_id = pressed_message["chat"]["id"] if pressed_message is not None else user["id"]
    message_id = pressed_message["message_id"] if pressed_message is not None else None
    said = Inbound.pressed(clean_text(query.get("data") or ""))
    return Received(data["update_id"], Incoming(_actor_of_dict(user, chat_id), said, query["id"], message_id))


def _actor_of_dict(user: dict[str, Any], chat_id: int) -> Actor:
    get = user.get
    return actor(user["id"], chat_id, user["first_name"], get("last_name"), get("username"), get("language_code"))
