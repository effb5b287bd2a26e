"""What a shop sets for SMS receipts (``dukabot notify set SLUG sms``), checked before it is stored.

``username``: the Africa's Talking application's username (``sandbox`` for its sandbox); ``api_key``: that
application's key, stored encrypted; ``sender_id``: the alphanumeric sender id or short code Africa's Talking approved
for the shop (none: Africa's Talking's shared one); ``receipts``: ``fallback`` (by SMS only when the chat is
undeliverable) or ``always`` (every receipt by SMS too); ``base_url``: another host (a simulator)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from notify.store import Stored
from payments.receipt_copies import ALWAYS, FALLBACK

CHANNEL: Final = "sms"
_USERNAME: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_SENDER: Final = re.compile(r"[A-Za-z0-9 ]{1,11}")
_KEY: Final = re.compile(r"[A-Za-z0-9_-]{8,128}")


class SettingsError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class SmsSettings:
    username: str
    api_key: str
    sender_id: str | None = None
    receipts: str = FALLBACK
    base_url: str | None = None

    def stored(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The options kept in the clear, and the secrets kept encrypted."""
        options: dict[str, Any] = {"username": self.username}
        if self.sender_id:
            options["sender_id"] = self.sender_id
        if self.base_url:
            options["base_url"] = self.base_url
        return options, {"api_key": self.api_key}


def parse(values: Mapping[str, str | None]) -> SmsSettings:
    """The settings from what the operator gave; ``SettingsError`` says which one is wrong and how."""
    username = (values.get("username") or "").strip()
    if not _USERNAME.fullmatch(username):
        raise SettingsError("username: the Africa's Talking application's username (sandbox for its sandbox)")
    api_key = (values.get("api_key") or "").strip()
    if not _KEY.fullmatch(api_key):
        raise SettingsError("api key: the application's API key from Africa's Talking (letters and digits)")
    sender = (values.get("sender_id") or "").strip() or None
    if sender is not None and not _SENDER.fullmatch(sender):
        raise SettingsError("sender id: the sender id or short code Africa's Talking approved, at most 11 characters")
    receipts = (values.get("receipts") or FALLBACK).strip().lower()
    if receipts not in (ALWAYS, FALLBACK):
        raise SettingsError("receipts: always (every receipt by SMS too) or fallback (only when the chat fails)")
    base_url = (values.get("base_url") or "").strip() or None
    if base_url is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", base_url):
        raise SettingsError("base url: an http(s) URL")
    return SmsSettings(username, api_key, sender, receipts, base_url)


def from_stored(stored: Stored) -> SmsSettings:
    """The settings as stored; ``SettingsError`` when they are incomplete (set them again)."""
    return parse(
        {
            "username": stored.options.get("username"),
            "api_key": stored.secrets.get("api_key"),
            "sender_id": stored.options.get("sender_id"),
            "receipts": stored.receipts,
            "base_url": stored.options.get("base_url"),
        }
    )
