"""The ``Notifier`` port: how the outbox relay hands one chat message to a tenant's bot, and the errors it understands.

The relay (``core.relay``) decides what each error does to an outbox row; each chat channel (``bot.channel``) maps
its network's answers onto these errors (``bot.telegram_render`` for Telegram's). ``reason`` texts are stored and
logged, so they must never hold message text or a bot token: ``scrub`` masks anything shaped like a token.
"""

from __future__ import annotations

import re
from typing import Protocol

from core.messages import Message


class NotifierError(Exception):
    """Base of what a ``Notifier`` raises. ``reason`` is short and safe to store and log (no message text, no token)."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


class RetryAfter(NotifierError):
    """Telegram 429: flood control. Wait ``seconds``, then try again; this is not a failed try."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        super().__init__(reason or f"rate limited: retry after {seconds:g}s")
        self.seconds = max(0.0, float(seconds))


class Undeliverable(NotifierError):
    """The chat cannot receive this bot's messages: 403 (blocked, user deactivated), chat not found. Never retried."""


class TransientError(NotifierError):
    """Network trouble, a timeout, a 5xx: worth trying again later."""


class PermanentError(NotifierError):
    """Telegram refused the request itself (a 400 other than chat not found). Retried a bounded number of times."""


class Notifier(Protocol):
    """Delivers one chat message through a tenant's bot, or raises one of the ``NotifierError`` subclasses above.

    With ``edit_message_id``, the message replaces that earlier message of the chat in place when the chat allows it,
    and is sent as a new message when the edit is refused (too old, deleted, not a text message...): one or the
    other, never both. "Not modified" counts as delivered. ``anew``, when given, is what goes out as a new message
    instead of ``message`` (a copy marked as a repeat, for a message whose earlier send may have arrived). Returns the
    Telegram message id that now shows the message (the edited one, or the last one sent), or None when it is not
    known.
    """

    async def send(
        self,
        tenant_id: int,
        chat_id: int,
        message: Message,
        *,
        edit_message_id: int | None = None,
        anew: Message | None = None,
    ) -> int | None: ...


_TOKENISH = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")


def scrub(reason: str) -> str:
    """An error text made safe to store and log: anything shaped like a bot token is masked."""
    return _TOKENISH.sub("<token>", reason)
