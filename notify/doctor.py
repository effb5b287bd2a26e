"""One ``dukabot doctor`` line per channel a shop turned on: its settings, and for email whether the SMTP server
takes the login. SMS is not sent to check it (every message costs the merchant): its settings and host are shown."""

from __future__ import annotations

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.tables import NotifyChannel, Tenant
from core.vault import Vault, VaultError, mask_secret
from notify import store
from notify.email import settings as email
from notify.sms import settings as sms
from notify.sms import wire


async def channels_of(session: AsyncSession, tenant_id: int) -> list[str]:
    rows = await session.scalars(
        select(NotifyChannel.channel).where(NotifyChannel.tenant_id == tenant_id, NotifyChannel.enabled.is_(True))
    )
    return sorted(rows)


async def check(session: AsyncSession, vault: Vault, tenant: Tenant, channel: str) -> tuple[bool, str]:
    """Whether the channel is ready, and one line saying why (never a secret)."""
    try:
        stored = await store.load(session, vault, tenant.id, channel)
    except VaultError:
        return False, "its secrets cannot be decrypted with the configured keys"
    if stored is None:
        return False, "turned off"
    fix = f"; see dukabot notify set {tenant.slug} {channel}"
    try:
        if channel == sms.CHANNEL:
            ready = sms.from_stored(stored)
            where = wire.host(ready.username, test_mode=tenant.test_mode, base_url=ready.base_url)
            sender = ready.sender_id or "Africa's Talking's shared sender"
            return True, (
                f"Africa's Talking {ready.username} at {where}, from {sender}, key {mask_secret(ready.api_key)}, "
                f"receipts: {ready.receipts}; delivery reports: /notify/sms/{tenant.slug}/reports"
            )
        if channel == email.CHANNEL:
            return await _smtp(email.from_stored(stored))
    except sms.SettingsError as error:
        return False, f"{error}{fix}"
    return False, "this build does not know this channel"


async def _smtp(ready: email.EmailSettings) -> tuple[bool, str]:
    where = f"{ready.host}:{ready.port} ({ready.security}) as {ready.from_address}"
    client = aiosmtplib.SMTP(
        hostname=ready.host,
        port=ready.port,
        use_tls=ready.security == "tls",
        start_tls=ready.security == "starttls",
        timeout=10,
    )
    try:
        await client.connect()
        if ready.username and ready.password:
            await client.login(ready.username, ready.password)
        await client.quit()
    except aiosmtplib.SMTPAuthenticationError as error:
        return False, f"{where}: the login was refused ({error.code})"
    except (aiosmtplib.SMTPException, OSError) as error:
        return False, f"{where}: cannot reach it ({type(error).__name__})"
    return True, f"{where}: the server answers" + (" and takes the login" if ready.username else "")
