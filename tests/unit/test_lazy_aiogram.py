"""aiogram's models are built on first use, not at import (bot.aiogram.lazy_aiogram), and behave as aiogram's own:
updates parse and Bot API methods serialise. Run in a fresh interpreter, since this test process has used most models
already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import json
import sys
import webhooks.app  # the server's whole import graph
ptb_loaded = "telegram" in sys.modules  # python-telegram-bot is imported only when it is the chosen channel
from aiogram.methods import EditMessageText, SendMessage
from aiogram.types import CallbackQuery, Message, Update
from bot.aiogram.notifier import render_keyboard
from bot.aiogram.updates import parse_update
from core.messages import Button

from aiogram.methods.base import Response

built_at_import = [m.__name__ for m in (Update, Message, CallbackQuery, SendMessage) if m.__pydantic_complete__]
# How aiogram reads the Bot API's answer to sendMessage: a generic parametrised after import, before Message is built.
sent = Response[Message].model_validate(
    {"ok": True, "result": {"message_id": 9, "date": 1, "chat": {"id": 5, "type": "private"}, "text": "Karibu"}}
).result
update = parse_update(json.dumps({
    "update_id": 7,
    "callback_query": {
        "id": "q1", "chat_instance": "c", "data": "shop:cat:1",
        "from": {"id": 5, "is_bot": False, "first_name": "Amina"},
        "message": {"message_id": 3, "date": 1, "chat": {"id": 5, "type": "private"}, "text": "Menu"},
    },
}).encode())
keyboard = render_keyboard([[Button("Rice", data="p:1")], [Button("Pay", url="https://pay.example/x")]])
def dumped(method, *fields):
    values = method.model_dump(exclude_none=True, warnings=False)
    return {name: values[name] for name in fields}
send = dumped(SendMessage(chat_id=5, text="Karibu", reply_markup=keyboard), "chat_id", "text", "reply_markup")
edit = dumped(EditMessageText(chat_id=5, message_id=3, text="Cart"), "chat_id", "message_id", "text")
print(json.dumps({
    "built_at_import": built_at_import,
    "ptb_loaded": ptb_loaded,
    "data": update.callback_query.data,
    "message_text": update.callback_query.message.text,
    "first_name": update.callback_query.from_user.first_name,
    "sent": [sent.message_id, sent.chat.id, sent.text],
    "send": send,
    "edit": edit,
}))
"""


def test_models_are_built_on_first_use_and_work_as_aiogram_s() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    run = subprocess.run(  # noqa: S603 (our own interpreter, no shell)
        [sys.executable, "-c", SCRIPT], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(run.stdout)
    # Update alone is built at start: bot.aiogram.lazy_aiogram checks that this aiogram builds a deferred model at all.
    assert result["built_at_import"] == ["Update"]
    assert result["ptb_loaded"] is False  # bot/channels.py lists PTB without importing it
    assert result["sent"] == [9, 5, "Karibu"]
    assert (result["data"], result["message_text"], result["first_name"]) == ("shop:cat:1", "Menu", "Amina")
    assert result["send"]["text"] == "Karibu"
    assert result["send"]["reply_markup"]["inline_keyboard"] == [
        [{"text": "Rice", "callback_data": "p:1"}],
        [{"text": "Pay", "url": "https://pay.example/x"}],
    ]
    assert result["edit"] == {"chat_id": 5, "message_id": 3, "text": "Cart"}


KEPT_SCRIPT = """
import gc, weakref
import bot.aiogram  # aiogram imported as the server imports it
from aiogram.methods.base import Response
from aiogram.types import Message

def answered():  # what aiogram does with each answer to sendMessage; nothing of it is kept
    Response[Message].model_validate(
        {"ok": True, "result": {"message_id": 9, "date": 1, "chat": {"id": 5, "type": "private"}, "text": "Karibu"}}
    )
    return weakref.ref(Response[Message])

made = answered()
gc.collect()
print(made() is not None and Response[Message] is made())
"""


def test_a_response_type_is_built_once_not_again_after_each_collection() -> None:
    # pydantic caches Response[Message] weakly, and the next call after a collection that freed it built it again,
    # with the whole of the deferred Message's schema: tens of milliseconds with the event loop held.
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    run = subprocess.run(  # noqa: S603 (our own interpreter, no shell)
        [sys.executable, "-c", KEPT_SCRIPT], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == "True"
