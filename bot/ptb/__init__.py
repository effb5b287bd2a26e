"""Telegram through python-telegram-bot (v21+): ``DUKABOT_TELEGRAM_LIBRARY=ptb``. Its ``Bot`` on ``HTTPXRequest``
(one shared pool for sends, one for long polls), updates read with ``Update.de_json``; no ``Application``: the
server's own processor, poller and relay drive it, as they drive aiogram. Importing this package imports no
``telegram``: the registry lists it without loading the library."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.channel import ChannelEntry, ChannelInfo
from core.channel_limits import TELEGRAM

if TYPE_CHECKING:
    from collections.abc import Callable

    from bot.channel import Channel, ChannelKit

UPDATE_KINDS = ("message", "callback_query", "pre_checkout_query", "inline_query")


def _load() -> Callable[[ChannelKit], Channel]:
    from bot.ptb.channel import PtbChannel

    return PtbChannel


ENTRY = ChannelEntry(
    info=ChannelInfo(
        name="ptb",
        network="telegram",
        title="Telegram (python-telegram-bot)",
        update_kinds=UPDATE_KINDS,
        limits=TELEGRAM,
    ),
    load=_load,
)
