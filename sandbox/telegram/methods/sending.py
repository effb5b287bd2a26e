"""Sending: sendMessage, sendPhoto, sendDocument and sendChatAction."""

from __future__ import annotations

import time
from typing import Any

from ..errors import bad_request
from ..models import ChatAction, ChatInfo, SentMessage
from . import content
from .files import input_file
from .registry import Call, method

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


@method("sendMessage")
async def send_message(call: Call) -> Any:
    chat = call.bot.chat_for_sending(call.params.raw("chat_id"))
    text, entities = content.read_text(call.params)
    markup = content.read_markup(call.params)
    return _send(call, chat, text=text, entities=entities, markup=markup).to_api()


@method("sendPhoto")
async def send_photo(call: Call) -> Any:
    chat = call.bot.chat_for_sending(call.params.raw("chat_id"))
    photo = input_file(call, "photo", "photo")
    caption, caption_entities = content.read_caption(call.params)
    markup = content.read_markup(call.params)
    sent = _send(call, chat, photo=photo, caption=caption, caption_entities=caption_entities, markup=markup)
    return sent.to_api()


@method("sendDocument")
async def send_document(call: Call) -> Any:
    chat = call.bot.chat_for_sending(call.params.raw("chat_id"))
    document = input_file(call, "document", "document")
    caption, caption_entities = content.read_caption(call.params)
    markup = content.read_markup(call.params)
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
