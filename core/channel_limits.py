"""What a chat channel allows, as data: the flows size their texts, keyboards and buttons by it, the pacing of sends
takes its rates from it, and the channel contract suite checks each channel's declaration against what the flows
assume (``tests/channels``). Every channel (``bot/channels.py``) declares one; both Telegram libraries declare
:data:`TELEGRAM`, since they speak the same Bot API."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    text: int  # characters of one text message, as the channel counts them (Telegram: UTF-16 code units)
    caption: int  # characters under a photo or document
    notice: int  # characters of the short notice that answers a button press
    buttons: int  # buttons on one message
    buttons_per_row: int
    callback_data_bytes: int  # what a button may carry back (core.callbacks packs within it)
    download_bytes: int  # the largest file a bot may fetch from the channel (an uploaded proof)
    per_chat_interval: float  # seconds between two messages to one chat
    per_group_interval: float  # the same, for a group chat
    per_bot_rate: float  # messages a second, per bot


TELEGRAM = ChannelLimits(
    text=4096,
    caption=1024,
    notice=200,
    buttons=100,
    buttons_per_row=8,
    callback_data_bytes=64,
    download_bytes=20 * 1024 * 1024,
    per_chat_interval=1.0,
    per_group_interval=3.0,
    per_bot_rate=30.0,
)
