"""Sends the SMS rows of the outbox through Africa's Talking (``core.channels.ChannelSender`` for ``sms``).

Each send reads the shop's settings (``notify_channels``), fits the text to one GSM-7 message (``gsm``), posts it
(``wire``) and records the accepted message id for delivery reports (``notify.sent``). Logs carry the row and tenant,
never the number, the text or the key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.engine import Database
from core.db.tables import Tenant
from core.messages import Message
from core.notify import TransientError
from core.vault import Vault
from notify.sending import OutboxSender
from notify.sms import gsm, wire
from notify.sms.settings import CHANNEL, SmsSettings, from_stored
from notify.store import Stored


class SmsSender(OutboxSender[SmsSettings, None]):
    channel = CHANNEL
    named = "SMS"
    accepted_by = "Africa's Talking"

    def __init__(self, database: Database, vault: Vault, http: httpx.AsyncClient, clock: Clock) -> None:
        super().__init__(database, vault, clock)
        self._http = http

    def settings(self, stored: Stored) -> SmsSettings:
        return from_stored(stored)

    async def prepare(self, session: AsyncSession, tenant: Tenant, delivery: Mapping[str, Any]) -> None:
        return None

    async def send(
        self,
        tenant: Tenant,
        settings: SmsSettings,
        to: str,
        outbox_id: int,
        delivery: Mapping[str, Any],
        message: Message,
        prepared: None,
    ) -> str:
        url = wire.host(settings.username, test_mode=tenant.test_mode, base_url=settings.base_url) + wire.PATH
        try:
            answer = await self._http.post(
                url,
                data=wire.form(settings.username, to, gsm.fit(message.text), settings.sender_id),
                headers=wire.headers(settings.api_key),
            )
        except httpx.TimeoutException:
            raise TransientError("Africa's Talking: timed out") from None
        except httpx.HTTPError as error:
            raise TransientError(f"Africa's Talking: network {type(error).__name__}") from None
        try:
            body: Any = answer.json()
        except ValueError:
            body = None
        # Africa's Talking calls an accepted send "Success", as it calls a delivered one: "accepted" is ours (what
        # notify.sending records), so that only a delivery report says "Success".
        return wire.read_answer(answer.status_code, body, to).message_id
