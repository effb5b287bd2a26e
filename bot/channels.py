"""The registry: every chat channel of this build, one line each. A channel is a folder ``bot/<name>/`` whose
``__init__`` declares its :class:`~bot.channel.ChannelEntry`; adding one is that folder plus a line here (and the
contract suite, ``tests/channels``, runs over it). Telegram's two libraries are chosen by
``DUKABOT_TELEGRAM_LIBRARY``; aiogram is the default."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from bot import aiogram as aiogram_channel
from bot import ptb as ptb_channel
from bot.channel import Channel, ChannelEntry, ChannelKit

ENTRIES: Final[Mapping[str, ChannelEntry]] = {entry.name: entry for entry in (aiogram_channel.ENTRY, ptb_channel.ENTRY)}
DEFAULT = "aiogram"


class UnknownChannel(LookupError):
    pass


def build(name: str, kit: ChannelKit) -> Channel:
    """The channel registered as ``name``, built (its library imported now, not before)."""
    entry = ENTRIES.get(name)
    if entry is None:
        raise UnknownChannel(f"no chat channel {name!r}; choose one of {', '.join(ENTRIES)}")
    return entry.load()(kit)
