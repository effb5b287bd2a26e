"""Changing what a chat already shows: editing and deleting messages, and answering a button's callback query."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import bad_request
from ..markup import Markup
from ..models import SentMessage
from . import content
from .registry import Call, method

CALLBACK_ANSWER_LIMIT = 200
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a current "
    "content and reply markup of the message"
)


@method("editMessageText")
async def edit_message_text(call: Call) -> Any:
    message = _message_to_edit(call)
    if message.text is None:
        raise bad_request("there is no text in the message to edit")
    text, entities = content.read_text(call.params)
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
    caption, entities = content.read_caption(call.params)
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
    inline = content.read_markup(call.params, inline_only=True)
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
