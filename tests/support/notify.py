"""A shop's receipt channel set as ``dukabot notify set`` sets it (``notify.store``), for the notify tests."""

from __future__ import annotations

from core.clock import Clock
from core.db.engine import Database
from core.db.tables import Tenant
from core.vault import Vault
from notify import store
from notify.email.settings import EmailSettings
from notify.sms.settings import SmsSettings


async def set_channel(
    database: Database,
    vault: Vault,
    clock: Clock,
    tenant_id: int,
    settings: SmsSettings | EmailSettings,
    receipts: str = "fallback",
) -> None:
    channel = "sms" if isinstance(settings, SmsSettings) else "email"
    options, secrets = settings.stored()
    async with database.uow() as uow:
        tenant = await uow.session.get(Tenant, tenant_id)
        assert tenant is not None
        await store.store(
            uow.session, vault, tenant, channel, receipts=receipts, options=options, secrets=secrets, now=clock.now()
        )
        await uow.commit()
