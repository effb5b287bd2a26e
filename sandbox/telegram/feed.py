"""What happens at the fake Telegram, as it happens: each update queued for a bot and each Bot API call a bot makes,
told to whoever listens (the playground's page shows them). Listeners run synchronously and must not raise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class TelegramEvent:
    """``update``: an update queued for the bot (``body`` is the whole update). ``call``: a Bot API method the bot
    called (``body`` its parameters, uploads described; ``result`` what Telegram answered, None on an error)."""

    kind: Literal["update", "call"]
    bot_id: int
    body: dict[str, Any]
    method: str = ""
    result: Any = None
    error_code: int | None = None


Listener = Callable[[TelegramEvent], None]


def tell(listeners: list[Listener], event: TelegramEvent) -> None:
    for listener in listeners:
        listener(event)
