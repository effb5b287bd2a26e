"""From a Telegram update to a flow input: who is speaking, in which chat, and what they did."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiogram.types import CallbackQuery, Message, Update, User
from pydantic import ValidationError

from core.unicode import clean_text
from flows.inbound import Actor, Inbound, Kind, Upload, UploadKind


@dataclass(frozen=True, slots=True)
class Incoming:
    actor: Actor
    inbound: Inbound
    callback_query_id: str | None = None
    message_id: int | None = None  # the bot's message whose button was pressed, for edits


# Every integer of the Bot API fits in a signed 64-bit column; Telegram's updates nest a dozen levels at most.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class ReadUpdate:
    """An update as the processor takes it from a webhook: its id, and what :func:`read` makes of it."""

    update_id: int
    incoming: Incoming | None


def parse_update(body: bytes) -> Update | None:
    """The update in a webhook body, with its texts cleaned; None for a body Telegram could not have sent (not JSON,
    nested too deep, an integer outside 64 bits, not an update)."""
    try:
        return _validated(_screened(json.loads(body, parse_constant=_no_constant), 0))
    except (ValueError, RecursionError, _Refused):
        return None


def read_body(body: bytes) -> ReadUpdate | None:
    """:func:`parse_update` then :func:`read`, the same answer for every body, without aiogram's models for the
    updates nearly every step is (a text message, a button press): those are read from the screened JSON
    (:func:`plain_read`) when every field they hold is one it knows, of the type aiogram's model wants; any other
    body goes through aiogram's models as :func:`parse_update` does."""
    try:
        data = _screened(json.loads(body, parse_constant=_no_constant), 0)
    except (ValueError, RecursionError, _Refused):
        return None
    plain = plain_read(data)
    if plain is not None:
        return ReadUpdate(plain[0], plain[1])
    update = _validated(data)
    return None if update is None else ReadUpdate(update.update_id, read(update))


def _validated(data: Any) -> Update | None:
    try:
        return Update.model_validate(_unread_parts_dropped(data))
    except ValidationError:
        return None


def _unread_parts_dropped(data: Any) -> Any:
    """A button press carries the bot's own message back, keyboard and all: only its chat and id are read (to edit
    it), so its keyboard and formatting are not built into models (most of a press's parsing). Screened already."""
    query = data.get("callback_query") if isinstance(data, dict) else None
    message = query.get("message") if isinstance(query, dict) else None
    if isinstance(message, dict):
        for unread in _UNREAD_OF_PRESSED_MESSAGE:
            message.pop(unread, None)
    return data


_UNREAD_OF_PRESSED_MESSAGE = ("reply_markup", "entities", "caption_entities")


def _no_constant(name: str) -> Any:
    raise _Refused  # NaN and Infinity are not JSON


class _Refused(Exception):
    """The decoded body holds what no Telegram update holds."""


def _screened(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise _Refused
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool | float) or value is None:
        return value
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise _Refused
        return value
    if isinstance(value, list):
        return [_screened(item, depth + 1) for item in value]
    return {clean_text(key): _screened(item, depth + 1) for key, item in value.items()}


def read(update: Update) -> Incoming | None:
    """None for updates dukabot does not act on (edited messages, channel posts, chat member changes...)."""
    if update.message is not None and update.message.from_user is not None:
        return Incoming(_actor(update.message.from_user, update.message.chat.id), _from_message(update.message))
    if update.callback_query is not None:
        return _from_callback(update.callback_query)
    return None


def _actor(user: User, chat_id: int) -> Actor:
    return actor_of(user.id, user.first_name, user.last_name, user.username, user.language_code, chat_id)


def actor_of(
    user_id: int, first_name: str, last_name: str | None, username: str | None, language: str | None, chat_id: int
) -> Actor:
    name = " ".join(part for part in (first_name, last_name) if part) or (username or "")
    code = (language or "en").split("-")[0].lower()
    language = code if code in {"en", "sw"} else "en"
    return Actor(tg_user_id=user_id, chat_id=chat_id, display_name=clean_text(name)[:120], language=language)


def _from_callback(query: CallbackQuery) -> Incoming:
    message = query.message
    chat_id = message.chat.id if message is not None else query.from_user.id
    message_id = message.message_id if message is not None else None
    return pressed(_actor(query.from_user, chat_id), query.data, query.id, message_id)


def pressed(actor: Actor, data: str | None, query_id: str, message_id: int | None) -> Incoming:
    return Incoming(actor, Inbound.pressed(clean_text(data or "")), query_id, message_id)


def typed(text: str) -> Inbound:
    said = clean_text(text)
    words = said.strip()
    if words.startswith("/"):
        head, _, args = words.partition(" ")
        command = head[1:].split("@", 1)[0].lower()
        return Inbound.cmd(command, args.strip())
    return Inbound.said(said)


def _from_message(message: Message) -> Inbound:
    caption = clean_text(message.caption or "")
    if message.text is not None:
        return typed(message.text)
    if message.contact is not None:
        return Inbound(Kind.CONTACT, contact_phone=message.contact.phone_number)
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        upload = Upload(UploadKind.PHOTO, largest.file_id, largest.file_unique_id, largest.file_size, "image/jpeg")
        return Inbound(Kind.UPLOAD, text=caption, upload=upload)
    if message.document is not None:
        doc = message.document
        upload = Upload(UploadKind.DOCUMENT, doc.file_id, doc.file_unique_id, doc.file_size, doc.mime_type)
        return Inbound(Kind.UPLOAD, text=caption, upload=upload)
    for kind, media in (
        (UploadKind.STICKER, message.sticker),
        (UploadKind.VOICE, message.voice),
        (UploadKind.VIDEO, message.video),
    ):
        if media is not None:
            upload = Upload(kind, media.file_id, media.file_unique_id, getattr(media, "file_size", None))
            return Inbound(Kind.UPLOAD, text=caption, upload=upload)
    return Inbound(Kind.OTHER)


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


def plain_read(data: Any) -> tuple[int, Incoming | None] | None:
    """The update's id and what :func:`read` makes of it, for a screened text message or button press that aiogram's
    models would read the same; None for anything else (aiogram's models decide)."""
    if not isinstance(data, dict) or frozenset(data) not in _UPDATE_KINDS or type(data["update_id"]) is not int:
        return None
    message = data.get("message")
    if message is not None:
        if not _plain_message(message) or "text" not in message or "from" not in message:
            return None
        user = message["from"]
        return data["update_id"], Incoming(_actor_of_dict(user, message["chat"]["id"]), typed(message["text"]))
    query = data["callback_query"]
    if not _plain(query, _QUERY, _REQUIRED_QUERY) or not _plain(query["from"], _USER, _REQUIRED_USER):
        return None
    pressed_message = query.get("message")
    if pressed_message is not None:
        pressed_message = {k: v for k, v in pressed_message.items() if k not in _UNREAD_OF_PRESSED_MESSAGE}
        if not _plain_message(pressed_message):
            return None
    user = query["from"]
    chat_id = pressed_message["chat"]["id"] if pressed_message is not None else user["id"]
    message_id = pressed_message["message_id"] if pressed_message is not None else None
    return data["update_id"], pressed(_actor_of_dict(user, chat_id), query.get("data"), query["id"], message_id)


def _actor_of_dict(user: dict[str, Any], chat_id: int) -> Actor:
    get = user.get
    return actor_of(user["id"], user["first_name"], get("last_name"), get("username"), get("language_code"), chat_id)
