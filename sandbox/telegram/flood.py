"""Flood control, as Telegram does it, for busy-shop tests: off unless a test turns it on (`FakeTelegram.flood`).

When on, every chat message a bot sends or edits is recorded with its bot, chat and time (`sends`), and a bot that
already made ``per_bot`` of them in the last ``window`` seconds is answered 429 with a ``retry_after``, as Telegram
answers a bot over its 30 messages a second. Refused sends are recorded too, marked. Tests may run Telegram's second
faster (``window=0.2``) to keep the shape of the limits while taking a fifth of the time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import ApiError

# The methods that put or change a message in a chat: what Telegram's message limits count.
MESSAGE_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)


@dataclass(frozen=True, slots=True)
class Send:
    bot_id: int
    chat_id: str
    at: float  # seconds, from `FloodControl.timer`
    method: str
    refused: bool = False


@dataclass
class FloodControl:
    per_bot: int = 30
    window: float = 1.0
    timer: Callable[[], float] = time.monotonic
    sends: list[Send] = field(default_factory=list)

    def check(self, bot_id: int, chat_id: str, method: str) -> None:
        """Records a send; raises the 429 Telegram would answer when the bot is over its limit."""
        if method not in MESSAGE_METHODS:
            return
        now = self.timer()
        recent = [s.at for s in self.sends if s.bot_id == bot_id and not s.refused and s.at > now - self.window]
        if len(recent) >= self.per_bot:
            self.sends.append(Send(bot_id, chat_id, now, method, refused=True))
            retry_after = max(1, math.ceil(recent[-self.per_bot] + self.window - now))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)
        self.sends.append(Send(bot_id, chat_id, now, method))

    def accepted(self, bot_id: int | None = None) -> list[Send]:
        return [s for s in self.sends if not s.refused and (bot_id is None or s.bot_id == bot_id)]

    def refused(self) -> int:
        return sum(s.refused for s in self.sends)

    def busiest_window(self, bot_id: int) -> int:
        """The most accepted sends of the bot in any window of ``window`` seconds."""
        times = sorted(s.at for s in self.accepted(bot_id))
        return _most_within(times, self.window)

    def busiest_chat_window(self, bot_id: int, span: float) -> int:
        """The most accepted sends to any one chat of the bot in any window of ``span`` seconds."""
        chats: dict[str, list[float]] = {}
        for send in self.accepted(bot_id):
            chats.setdefault(send.chat_id, []).append(send.at)
        return max((_most_within(sorted(times), span) for times in chats.values()), default=0)


def _most_within(times: list[float], span: float) -> int:
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= span:
            start += 1
        best = max(best, end - start + 1)
    return best
