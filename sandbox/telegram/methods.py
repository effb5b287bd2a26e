"""The Bot API methods the fake implements, each validating its input the way Telegram does.

A handler gets a `Call` and returns the JSON `result` (or `Described` when Telegram adds a description to a
successful answer); it raises `ApiError` for every failure.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .account import BotAccount, Webhook
from .errors import ApiError, bad_request
from .formatting import parse_formatted
from .markup import Markup, parse_markup
from .models import ChatAction, ChatInfo, FileKind, SentMessage, StoredFile
from .params import Params, UploadedFile

if TYPE_CHECKING:
    from .fake import FakeTelegram

MB = 1024 * 1024
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_ANSWER_LIMIT = 200
DOWNLOAD_LIMIT = 20 * MB
PHOTO_UPLOAD_LIMIT = 10 * MB
GET_UPDATES_MAX_LIMIT = 100
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_BOT_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a current "
    "content and reply markup of the message"
)


@dataclass(frozen=True)
class Call:
    fake: FakeTelegram
    bot: BotAccount
    params: Params


@dataclass(frozen=True)
class Described:
    """A successful result that Telegram sends with a description, e.g. setWebhook's "Webhook was set"."""

    result: Any
    description: str


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class MethodSpec:
    name: str
    handler: Handler


METHODS: dict[str, MethodSpec] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    """Registers a handler; Telegram matches method names case-insensitively."""

    def register(handler: Handler) -> Handler:
        METHODS[name.lower()] = MethodSpec(name, handler)
        return handler

    return register


def find_method(name: str) -> MethodSpec | None:
    return METHODS.get(name.lower())


# Identity


@method("getMe")
async def get_me(call: Call) -> Any:
    return {
        **call.bot.user.to_api(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    }


@method("setMyCommands")
async def set_my_commands(call: Call) -> Any:
    commands = call.params.json("commands", "bot commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    for command in commands:
        if not isinstance(command, dict) or not _BOT_COMMAND.fullmatch(str(command.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    call.bot.commands = commands
    return True


@method("getMyCommands")
async def get_my_commands(call: Call) -> Any:
    return call.bot.commands


@method("deleteMyCommands")
async def delete_my_commands(call: Call) -> Any:
    call.bot.commands = []
    return True


# Receiving updates


@method("getUpdates")
async def get_updates(call: Call) -> Any:
    bot, params = call.bot, call.params
    if bot.webhook is not None:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
            "webhook first",
        )
    limit = min(max(params.integer("limit") or GET_UPDATES_MAX_LIMIT, 1), GET_UPDATES_MAX_LIMIT)
    bot.confirm(params.integer("offset"))
    batch = await _long_poll(bot, limit, seconds=max(params.integer("timeout") or 0, 0))
    bot.hand_over(batch)
    return batch


async def _long_poll(bot: BotAccount, limit: int, seconds: int) -> list[dict[str, Any]]:
    """Waits up to `seconds` for updates; a newer getUpdates or a setWebhook ends the wait with a 409."""
    ticket = bot.start_poll()

    def ready() -> list[dict[str, Any]] | None:
        if ticket.conflict is not None:
            raise ApiError(409, f"Conflict: {ticket.conflict}")
        batch = list(itertools.islice(bot.pending, limit))
        return batch if batch or ticket.released else None

    try:
        async with asyncio.timeout(seconds):
            return await bot.changed.wait_until(ready)
    except TimeoutError:
        return []
    finally:
        if bot.poll is ticket:
            bot.poll = None


@method("setWebhook")
async def set_webhook(call: Call) -> Any:
    bot, params = call.bot, call.params
    url = params.string("url") or ""
    if not url:
        return _delete_webhook(call)  # Telegram treats an empty URL as "remove the webhook"
    if urlsplit(url).scheme not in {"http", "https"}:  # the fake also allows plain HTTP, for local receivers
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret_token = params.string("secret_token") or None
    if secret_token is not None and not _SECRET_TOKEN.fullmatch(secret_token):
        raise bad_request("secret token contains unallowed characters")
    max_connections = params.integer("max_connections") or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    allowed_updates = params.json("allowed_updates", "allowed updates")
    if params.boolean("drop_pending_updates"):
        bot.pending.clear()
    already_set = bot.webhook is not None and bot.webhook.url == url
    bot.webhook = Webhook(url, secret_token, max_connections, allowed_updates)
    bot.last_webhook_error = None
    bot.end_poll("terminated by setWebhook request")
    call.fake.webhooks.start(bot)
    bot.notify()
    return Described(True, "Webhook is already set" if already_set else "Webhook was set")


@method("deleteWebhook")
async def delete_webhook(call: Call) -> Any:
    return _delete_webhook(call)


def _delete_webhook(call: Call) -> Described:
    bot = call.bot
    if call.params.boolean("drop_pending_updates"):
        bot.pending.clear()
    was_set = bot.webhook is not None
    bot.webhook = None
    call.fake.webhooks.stop(bot)
    bot.notify()
    return Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")


@method("getWebhookInfo")
async def get_webhook_info(call: Call) -> Any:
    bot, webhook = call.bot, call.bot.webhook
    info: dict[str, Any] = {
        "url": webhook.url if webhook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(bot.pending),
    }
    if webhook is not None:
        info["max_connections"] = webhook.max_connections
        if webhook.allowed_updates is not None:
            info["allowed_updates"] = webhook.allowed_updates
    if bot.last_webhook_error is not None:
        info["last_error_date"], info["last_error_message"] = bot.last_webhook_error
    return info


# Sending


@method("sendMessage")
async def send_message(call: Call) -> Any:
    chat = call.bot.chat_for_sending(call.params.raw("chat_id"))
    text, entities = _text(call.params)
    markup = _markup(call.params)
    return _send(call, chat, text=text, entities=entities, markup=markup).to_api()


@method("sendPhoto")
async def send_photo(call: Call) -> Any:
    chat = call.bot.chat_for_sending(call.params.raw("chat_id"))
    photo = _input_file(call, "photo", "photo")
    caption, caption_entities = _caption(call.params)
    markup = _markup(call.params)
    sent = _send(call, chat, photo=photo, caption=caption, caption_entities=caption_entities, markup=markup)
    return sent.to_api()


@method("sendDocument")
async def send_document(call: Call) -> Any:
    chat = call.bot.chat_for_sending(call.params.raw("chat_id"))
    document = _input_file(call, "document", "document")
    caption, caption_entities = _caption(call.params)
    markup = _markup(call.params)
    sent = _send(call, chat, document=document, caption=caption, caption_entities=caption_entities, markup=markup)
    return sent.to_api()


@method("sendChatAction")
async def send_chat_action(call: Call) -> Any:
    chat = call.bot.chat_for_sending(call.params.raw("chat_id"))
    action = call.params.string("action")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    call.bot.chat_actions.append(ChatAction(chat.id, action, time.monotonic()))
    call.bot.notify()
    return True


def _send(call: Call, chat: ChatInfo, **content: Any) -> SentMessage:
    bot = call.bot
    message = SentMessage(
        message_id=bot.next_message_id(chat.id), chat=chat, sender=bot.user, date=bot.now(), revision=0, **content
    )
    bot.add_message(message)
    return message


def _text(params: Params) -> tuple[str, list[dict[str, Any]]]:
    text, entities = _formatted(params, "text", "entities")
    if text is None or not text.strip():
        raise bad_request("message text is empty")
    if len(text) > TEXT_LIMIT:
        raise bad_request("message is too long")
    return text, entities


def _caption(params: Params) -> tuple[str | None, list[dict[str, Any]]]:
    caption, entities = _formatted(params, "caption", "caption_entities")
    if caption is not None and len(caption) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")
    return caption or None, entities


def _formatted(params: Params, field: str, entities_field: str) -> tuple[str | None, list[dict[str, Any]]]:
    """Text after parse_mode is applied; explicit entities replace parse_mode, as in Telegram."""
    raw = params.string(field)
    if raw is None:
        return None, []
    explicit = params.json(entities_field, "entities")
    if explicit is not None:
        if not isinstance(explicit, list):
            raise bad_request("can't parse entities JSON object")
        return raw, explicit
    return parse_formatted(raw, params.string("parse_mode"))


def _markup(params: Params, *, inline_only: bool = False) -> Markup:
    return parse_markup(params.json("reply_markup", "reply keyboard markup"), inline_only=inline_only)


def _input_file(call: Call, field: str, kind: FileKind) -> StoredFile:
    """Resolves an InputFile parameter: an upload, an HTTP URL for Telegram to fetch, or a known file_id."""
    source = call.params.upload(field)
    if isinstance(source, UploadedFile):
        return _store_upload(call.bot, source, kind)
    if not source:
        raise bad_request(f"there is no {field} in the request")
    if urlsplit(source).scheme in {"http", "https"}:
        # The fake never fetches URLs (it runs offline): the file exists, but its content is empty.
        file_name = (urlsplit(source).path.rsplit("/", 1)[-1] or None) if kind == "document" else None
        return call.bot.store_file(kind, b"", file_name=file_name, source_url=source)
    stored = call.bot.files.get(source)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.kind != kind:
        raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
    return stored


def _store_upload(bot: BotAccount, upload: UploadedFile, kind: FileKind) -> StoredFile:
    if kind == "photo":
        if len(upload.data) > PHOTO_UPLOAD_LIMIT:
            raise bad_request("PHOTO_SAVE_FILE_INVALID")
        return bot.store_file("photo", upload.data)  # Telegram re-encodes photos and forgets the file name
    content_type = upload.content_type if upload.content_type != "application/octet-stream" else None
    return bot.store_file(kind, upload.data, file_name=upload.filename, mime_type=content_type)


# Editing and deleting


@method("editMessageText")
async def edit_message_text(call: Call) -> Any:
    message = _message_to_edit(call)
    if message.text is None:
        raise bad_request("there is no text in the message to edit")
    text, entities = _text(call.params)
    markup = _edited_markup(call, message)
    if (text, entities, markup.api) == (message.text, message.entities, message.markup.api):
        raise bad_request(_NOT_MODIFIED)
    message.text, message.entities, message.markup = text, entities, markup
    return _edited(call, message)


@method("editMessageCaption")
async def edit_message_caption(call: Call) -> Any:
    message = _message_to_edit(call)
    if message.photo is None and message.document is None:
        raise bad_request("there is no caption in the message to edit")
    caption, entities = _caption(call.params)
    markup = _edited_markup(call, message)
    if (caption, entities, markup.api) == (message.caption, message.caption_entities, message.markup.api):
        raise bad_request(_NOT_MODIFIED)
    message.caption, message.caption_entities, message.markup = caption, entities, markup
    return _edited(call, message)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(call: Call) -> Any:
    message = _message_to_edit(call)
    markup = _edited_markup(call, message)
    if markup.api == message.markup.api:
        raise bad_request(_NOT_MODIFIED)
    message.markup = markup
    return _edited(call, message)


@method("deleteMessage")
async def delete_message(call: Call) -> Any:
    chat = call.bot.known_chat(call.params.raw("chat_id"))
    message = call.bot.message(chat.id, call.params.integer("message_id"))
    if message is None:
        raise bad_request("message to delete not found")
    message.deleted = True
    call.bot.touch(message)
    return True


def _message_to_edit(call: Call) -> SentMessage:
    if call.params.string("inline_message_id"):
        raise bad_request("message to edit not found")  # the fake has no inline mode
    chat = call.bot.chat_for_sending(call.params.raw("chat_id"))
    message = call.bot.message(chat.id, call.params.integer("message_id"))
    if message is None:
        raise bad_request("message to edit not found")
    return message


def _edited_markup(call: Call, message: SentMessage) -> Markup:
    # An edit without reply_markup removes the inline keyboard: a classic surprise, so the fake does it too.
    inline = _markup(call.params, inline_only=True)
    return dataclasses.replace(inline, client_side=message.markup.client_side)


def _edited(call: Call, message: SentMessage) -> Any:
    message.edit_date = call.bot.now()
    call.bot.touch(message)
    return message.to_api()


# Callback queries and files


@method("answerCallbackQuery")
async def answer_callback_query(call: Call) -> Any:
    params = call.params
    text = params.string("text")
    if text is not None and len(text) > CALLBACK_ANSWER_LIMIT:
        raise bad_request("MESSAGE_TOO_LONG")
    query_id = params.string("callback_query_id") or ""
    call.bot.answer_query(query_id, text, params.boolean("show_alert"), params.string("url"))
    return True


@method("getFile")
async def get_file(call: Call) -> Any:
    file_id = call.params.string("file_id")
    if not file_id:
        raise bad_request("file_id not specified")
    stored = call.bot.files.get(file_id)
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.size > DOWNLOAD_LIMIT:
        raise bad_request("file is too big")
    return stored.to_file()
