"""Sends the SMS rows of the outbox through Africa's Talking (``core.channels.ChannelSender`` for ``sms``).

Each send reads the shop's settings (``notify_channels``), fits the text to one GSM-7 message (``gsm``), posts it
(``wire``) and records the accepted message id for delivery reports (``notify.sent``). Logs carry the row and tenant,
never the number, the text or the key."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from core.clock import Clock
from core.db.engine import Database
from core.messages import Message
from core.notify import PermanentError, TransientError
from core.vault import Vault
from notify import sent
from notify.sms import gsm, wire
from notify.sms.settings import CHANNEL, SettingsError, from_stored

logger = logging.getLogger(__name__)


class SmsSender:
    def __init__(self, database: Database, vault: Vault, http: httpx.AsyncClient, clock: Clock) -> None:
        self._db = database
        self._vault = vault
        self._http = http
        self._clock = clock

    async def deliver(self, tenant_id: int, outbox_id: int, delivery: Mapping[str, Any], message: Message) -> None:
        to = str(delivery.get("to") or "")
        async with self._db.uow(read_only=True) as uow:
            found = await sent.to_send(uow.session, self._vault, tenant_id, CHANNEL, outbox_id)
        if found is None:
            return
        tenant, stored = found
        try:
            settings = from_stored(stored)
        except SettingsError as error:
            raise PermanentError(f"the shop's SMS settings are incomplete: {error}") from None
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
        accepted = wire.read_answer(answer.status_code, body, to)
        # Africa's Talking calls an accepted send "Success", as it calls a delivered one: "accepted" is ours, so
        # that only a delivery report says "Success".
        await sent.remember(
            self._db,
            self._clock,
            tenant_id=tenant_id,
            channel=CHANNEL,
            provider_message_id=accepted.message_id,
            outbox_id=outbox_id,
            to=to,
        )
        logger.info("outbox row %s (tenant %s) accepted by Africa's Talking", outbox_id, tenant_id)
