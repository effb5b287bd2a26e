"""From a Telegram update to a flow input: who is speaking, in which chat, and what they did. aiogram builds the
models; reading them is the same for every Telegram library (``bot.telegram_read.read``)."""

from __future__ import annotations

from aiogram.types import Update
from pydantic import ValidationError

from bot.telegram_read import read, screened_body

__all__ = ["parse_update", "read"]


def parse_update(body: bytes) -> Update | None:
    """The update in a webhook body, with its texts cleaned; None for a body Telegram could not have sent (not JSON,
    nested too deep, an integer outside 64 bits, not an update)."""
    try:
        return Update.model_validate(screened_body(body))
    except (ValueError, ValidationError):
        return None
