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


def parse_update(body: bytes) -> Update | None:
    """The update in a webhook body, with its texts cleaned; None for a body Telegram could not have sent (not JSON,
    nested too deep, an integer outside 64 bits, not an update)."""
    try:
        data = _screened(json.loads(body, parse_constant=_no_constant), 0)
        return Update.model_validate(_unread_parts_dropped(data))
    except (ValueError, ValidationError, RecursionError, _Refused):
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
    name = " ".join(part for part in (user.first_name, user.last_name) if part) or (user.username or "")
    return Actor(tg_user_id=user.id, chat_id=chat_id, display_name=clean_text(name)[:120], language=_language(user))


def _language(user: User) -> str:
    # Any code: one dukabot does not speak falls back to the shop's language (FlowContext.settle_language).
    return (user.language_code or "").split("-")[0].lower()[:8]


def _from_callback(query: CallbackQuery) -> Incoming:
    message = query.message
    chat_id = message.chat.id if message is not None else query.from_user.id
    message_id = message.message_id if message is not None else None
    return Incoming(
        _actor(query.from_user, chat_id), Inbound.pressed(clean_text(query.data or "")), query.id, message_id
    )


def _from_message(message: Message) -> Inbound:
    caption = clean_text(message.caption or "")
    if message.text is not None:
        said = clean_text(message.text)
        words = said.strip()
        if words.startswith("/"):
            head, _, args = words.partition(" ")
            command = head[1:].split("@", 1)[0].lower()
            return Inbound.cmd(command, args.strip())
        return Inbound.said(said)
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
