"""What a channel's provider accepted (``notify_messages``), by the outbox row it delivered.

A sender looks here before sending: a row whose send was accepted and recorded, but whose SENT the relay did not
commit (it died in between), is not sent again. The one window left is between the provider's acceptance and this
record: a relay that dies there sends the message again, marked as a repeat, as the chat relay does."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.insert import insert_if_absent
from core.db.tables import NotifyMessage


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
