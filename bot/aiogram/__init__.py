"""Telegram through aiogram 3: the default channel (``DUKABOT_TELEGRAM_LIBRARY=aiogram``).

aiogram is imported here with its models built on first use (``lazy_aiogram``), before any module of this folder
imports it; product code imports aiogram only inside this folder (tests/unit/test_channel_imports.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.aiogram import lazy_aiogram
from bot.channel import ChannelEntry, ChannelInfo
from core.channel_limits import TELEGRAM

if TYPE_CHECKING:
    from collections.abc import Callable

    from bot.channel import Channel, ChannelKit

lazy_aiogram.install()

UPDATE_KINDS = ("message", "callback_query", "pre_checkout_query", "inline_query")


def _load() -> Callable[[ChannelKit], Channel]:
    from bot.aiogram.channel import AiogramChannel

    return AiogramChannel


ENTRY = ChannelEntry(
    info=ChannelInfo(
        name="aiogram", network="telegram", title="Telegram (aiogram 3)", update_kinds=UPDATE_KINDS, limits=TELEGRAM
    ),
    load=_load,
)
