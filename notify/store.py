"""A shop's settings for a channel (``notify_channels``): options in the clear, secrets in one vault bundle.

Storing them also keeps ``Tenant.receipt_copies`` in step: the channels that send a copy of every receipt."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.tables import NotifyChannel, Tenant
from core.vault import Vault
from payments.receipt_copies import ALWAYS


@dataclass(frozen=True, slots=True)
class Stored:
    channel: str
    receipts: str
    options: Mapping[str, Any]
    secrets: Mapping[str, str]


async def load(session: AsyncSession, vault: Vault, tenant_id: int, channel: str) -> Stored | None:
    """The channel's settings when the shop set it up and it is on; None otherwise. Raises ``VaultError`` when the
    secrets cannot be decrypted with this process's keys."""
    row = await session.scalar(
        select(NotifyChannel).where(
            NotifyChannel.tenant_id == tenant_id, NotifyChannel.channel == channel, NotifyChannel.enabled.is_(True)
        )
    )
    if row is None:
        return None
    secrets = vault.decrypt_json(row.secrets_enc) if row.secrets_enc else {}
    return Stored(row.channel, row.receipts, dict(row.options), {str(k): str(v) for k, v in secrets.items()})


async def store(
    session: AsyncSession,
    vault: Vault,
    tenant: Tenant,
    channel: str,
    *,
    receipts: str,
    options: Mapping[str, Any],
    secrets: Mapping[str, str],
    now: datetime,
) -> NotifyChannel:
    """Set (or replace) the channel's settings and turn it on."""
    row = await session.scalar(
        select(NotifyChannel).where(NotifyChannel.tenant_id == tenant.id, NotifyChannel.channel == channel)
    )
    if row is None:
        row = NotifyChannel(tenant_id=tenant.id, channel=channel)
        session.add(row)
    row.enabled = True
    row.receipts = receipts
    row.options = dict(options)
    row.secrets_enc = vault.encrypt_json(dict(secrets)) if secrets else None
    row.updated_at = now
    _copies(tenant, channel, every_receipt=receipts == ALWAYS)
    await session.flush()
    return row


async def turn_off(session: AsyncSession, tenant: Tenant, channel: str, now: datetime) -> bool:
    """Turn the channel off (its settings kept); False when the shop never set it up."""
    row = await session.scalar(
        select(NotifyChannel).where(NotifyChannel.tenant_id == tenant.id, NotifyChannel.channel == channel)
    )
    if row is None:
        return False
    row.enabled = False
    row.updated_at = now
    _copies(tenant, channel, every_receipt=False)
    return True


def _copies(tenant: Tenant, channel: str, *, every_receipt: bool) -> None:
    names = {name for name in tenant.receipt_copies.split(",") if name} - {channel}
    if every_receipt:
        names.add(channel)
    tenant.receipt_copies = ",".join(sorted(names))
