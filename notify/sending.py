"""What every receipt channel's sender does around its own send (``core.channels.ChannelSender``): the shop and its
settings are read, and a row already accepted is not sent again (``notify.sent``); settings that cannot be read are a
PermanentError; the provider's accepted message id is recorded in a unit of work of its own; the log line names the
row and the tenant, never the address or the text.

A channel's sender says how its settings are read (:meth:`OutboxSender.settings`), what else it reads with the shop
(:meth:`OutboxSender.prepare`, in the same read-only unit of work) and how it sends (:meth:`OutboxSender.send`,
returning the message id the provider accepted)."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.engine import Database
from core.db.tables import Tenant
from core.messages import Message
from core.notify import PermanentError
from core.vault import Vault
from notify import sent, store
from notify.sms.settings import SettingsError

SettingsT = TypeVar("SettingsT")
PreparedT = TypeVar("PreparedT")


class OutboxSender(ABC, Generic[SettingsT, PreparedT]):
    channel: ClassVar[str]  # ``notify_channels``' name for it
    named: ClassVar[str]  # the settings' name in a refusal: "SMS"
    accepted_by: ClassVar[str]  # who accepted a send, for the log: "Africa's Talking"

    def __init__(self, database: Database, vault: Vault, clock: Clock) -> None:
        self._db = database
        self._vault = vault
        self._clock = clock
        self._log = logging.getLogger(type(self).__module__)

    async def deliver(self, tenant_id: int, outbox_id: int, delivery: Mapping[str, Any], message: Message) -> None:
        to = str(delivery.get("to") or "")
        async with self._db.uow(read_only=True) as uow:
            found = await sent.to_send(uow.session, self._vault, tenant_id, self.channel, outbox_id)
            if found is None:
                return
            tenant, stored = found
            prepared = await self.prepare(uow.session, tenant, delivery)
        try:
            settings = self.settings(stored)
        except SettingsError as error:
            raise PermanentError(f"the shop's {self.named} settings are incomplete: {error}") from None
        message_id = await self.send(tenant, settings, to, outbox_id, delivery, message, prepared)
        await sent.remember(
            self._db,
            self._clock,
            tenant_id=tenant_id,
            channel=self.channel,
            provider_message_id=message_id,
            outbox_id=outbox_id,
            to=to,
        )
        self._log.info("outbox row %s (tenant %s) accepted by %s", outbox_id, tenant_id, self.accepted_by)

    @abstractmethod
    def settings(self, stored: store.Stored) -> SettingsT:
        """The shop's settings for this channel; SettingsError when they are incomplete."""

    @abstractmethod
    async def prepare(self, session: AsyncSession, tenant: Tenant, delivery: Mapping[str, Any]) -> PreparedT:
        """What the send needs read with the shop (an attachment), in the same read-only unit of work."""

    @abstractmethod
    async def send(
        self,
        tenant: Tenant,
        settings: SettingsT,
        to: str,
        outbox_id: int,
        delivery: Mapping[str, Any],
        message: Message,
        prepared: PreparedT,
    ) -> str:
        """Send it; the message id the provider accepted it as, or a ``core.notify`` error."""
