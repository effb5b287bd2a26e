"""What a channel's provider accepted (``notify_messages``), by the outbox row it delivered.

A sender looks here before sending: a row whose send was accepted and recorded, but whose SENT the relay did not
commit (it died in between), is not sent again. The one window left is between the provider's acceptance and this
record: a relay that dies there sends the message again, marked as a repeat, as the chat relay does."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.engine import Database
from core.db.insert import insert_if_absent
from core.db.tables import NotifyMessage, Tenant
from core.notify import PermanentError
from core.vault import Vault, VaultError
from notify import store


async def already_sent(session: AsyncSession, tenant_id: int, channel: str, outbox_id: int) -> bool:
    found = await session.scalar(
        select(NotifyMessage.id).where(
            NotifyMessage.tenant_id == tenant_id,
            NotifyMessage.channel == channel,
            NotifyMessage.outbox_id == outbox_id,
        )
    )
    return found is not None


async def record(
    session: AsyncSession,
    *,
    tenant_id: int,
    channel: str,
    provider_message_id: str,
    outbox_id: int,
    recipient: str,
    status: str,
    now: datetime,
) -> None:
    await insert_if_absent(
        session,
        NotifyMessage.__table__,  # type: ignore[arg-type]
        {
            "tenant_id": tenant_id,
            "channel": channel,
            "provider_message_id": provider_message_id,
            "outbox_id": outbox_id,
            "recipient": recipient,
            "status": status,
            "sent_at": now,
        },
    )


async def to_send(
    session: AsyncSession, vault: Vault, tenant_id: int, channel: str, outbox_id: int
) -> tuple[Tenant, store.Stored] | None:
    """The shop and its settings for sending ``outbox_id`` on ``channel``; None when it was sent already. Raises
    ``PermanentError`` when the shop has not set the channel up (or its secrets cannot be read here)."""
    if await already_sent(session, tenant_id, channel, outbox_id):
        return None  # accepted before the relay died: not sent twice
    tenant = await session.get(Tenant, tenant_id)
    try:
        stored = await store.load(session, vault, tenant_id, channel)
    except VaultError:
        raise PermanentError(f"the {channel} settings cannot be decrypted with this process's keys") from None
    if tenant is None or stored is None:
        raise PermanentError(f"{channel} is not set up for this shop (dukabot notify set SLUG {channel})")
    return tenant, stored


async def remember(
    database: Database, clock: Clock, *, tenant_id: int, channel: str, provider_message_id: str, outbox_id: int, to: str
) -> None:
    """Record, in a unit of work of its own, that the provider accepted ``outbox_id`` as ``provider_message_id``."""
    async with database.uow() as uow:
        await record(
            uow.session,
            tenant_id=tenant_id,
            channel=channel,
            provider_message_id=provider_message_id,
            outbox_id=outbox_id,
            recipient=to,
            status="accepted",
            now=clock.now(),
        )
        await uow.commit()
