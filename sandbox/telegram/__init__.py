"""A fake Telegram Bot API server for integration tests and the offline playground.

Typical use::

    async with FakeTelegramServer() as server:
        server.fake.add_bot("123:secret", "duka_bot")
        bot = Bot("123:secret", session=AiohttpSession(api=server.api))
        user = server.fake.user("123:secret", first_name="Amina")
        await user.send_command("/start")
        reply = await user.wait_for("Welcome")

See FakeTelegram (state, users, scripted failures) and FakeUser (acting as a user, reading the bot's messages).
"""

from .account import BotAccount
from .delivery import SECRET_HEADER, WebhookPolicy
from .errors import ApiError
from .fake import FailureRule, FakeTelegram
from .feed import Listener, TelegramEvent
from .markup import InlineButton
from .models import (
    ApiCall,
    CallbackAnswer,
    CallbackPress,
    ChatAction,
    DeliveryAttempt,
    SentMessage,
    StoredFile,
    WebhookDelivery,
)
from .server import FAKE_KEY, FakeTelegramServer, create_app
from .users import ChatView, FakeGroup, FakeUser

__all__ = [
    "FAKE_KEY",
    "SECRET_HEADER",
    "ApiCall",
    "ApiError",
    "BotAccount",
    "CallbackAnswer",
    "CallbackPress",
    "ChatAction",
    "ChatView",
    "DeliveryAttempt",
    "FailureRule",
    "FakeGroup",
    "FakeTelegram",
    "FakeTelegramServer",
    "FakeUser",
    "InlineButton",
    "Listener",
    "SentMessage",
    "StoredFile",
    "TelegramEvent",
    "WebhookDelivery",
    "WebhookPolicy",
    "create_app",
]
