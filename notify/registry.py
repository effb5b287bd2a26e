"""Every notification channel of this build, one line each, and the senders the relay routes their rows to."""

from __future__ import annotations

from typing import Final

import httpx

from core.channels import ChannelSender
from core.clock import Clock
from core.db.engine import Database
from core.vault import Vault
from notify.email.sender import EmailSender, ReceiptFile
from notify.sms.sender import SmsSender

NAMES: Final = ("sms", "email")


def senders(
    database: Database, vault: Vault, http: httpx.AsyncClient, clock: Clock, receipt_file: ReceiptFile
) -> dict[str, ChannelSender]:
    return {
        "sms": SmsSender(database, vault, http, clock),
        "email": EmailSender(database, vault, clock, receipt_file),
    }
