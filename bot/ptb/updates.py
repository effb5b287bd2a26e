"""From a Telegram update to a flow input, python-telegram-bot building the models (``Update.de_json``); reading them
is the same for every Telegram library (``bot.telegram_read.read``)."""

from __future__ import annotations

from typing import Any

from telegram import Bot, Update

from bot.telegram_read import read, screened_body

__all__ = ["parse_update", "read"]


def parse_update(body: bytes, bot: Bot | None = None) -> Update | None:
    """The update in a webhook body, with its texts cleaned; None for a body Telegram could not have sent (not JSON,
    nested too deep, an integer outside 64 bits, not an update)."""
    try:
        return model_of(screened_body(body), bot)
    except ValueError:
        return None


def model_of(data: dict[str, Any], bot: Bot | None = None) -> Update | None:
    """python-telegram-bot's update of a screened body; None when it cannot be built."""
    try:
        return Update.de_json(data, bot)
    except (ValueError, TypeError, KeyError, AttributeError):  # de_json checks no types: a part of the wrong shape
        return None
