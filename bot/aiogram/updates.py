"""From a Telegram update to a flow input: who is speaking, in which chat, and what they did. aiogram builds the
models; reading them is the same for every Telegram library (``bot.telegram_read.read``)."""

from __future__ import annotations

from typing import Any

from aiogram.types import Update
from pydantic import ValidationError

from bot.telegram_read import read, screened_body

__all__ = ["parse_update", "read"]


def parse_update(body: bytes) -> Update | None:
    """The update in a webhook body, with its texts cleaned; None for a body Telegram could not have sent (not JSON,
    nested too deep, an integer outside 64 bits, not an update)."""
    try:
        return model_of(screened_body(body))
    except ValueError:
        return None


def model_of(data: dict[str, Any]) -> Update | None:
    """aiogram's update of a screened body; None when its models refuse it."""
    try:
        return Update.model_validate(data)
    except ValidationError:
        return None
