"""Re-encrypting every stored secret under the vault's first key (``dukabot keys rotate``).

Every shop's secrets are rewritten, so every shop gets a new configuration version in the same transaction (the
ORM's events in :mod:`core.db.tables` do it for each tenant row and provider bundle written): each ``serve`` process
drops its decrypted copies (:mod:`core.tenant_cache`, :mod:`payments.registry`) and reads them again under the
new key. The plaintext is the same, so a copy kept a moment longer is still the right secret."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from admin.shops.errors import ShopError
from core.clock import SystemClock
from core.db.repos.tenants import TenantRepository
from core.db.tables import AuditEntry, FiscalDevice, ProviderConfig, Tenant
from core.vault import Vault, VaultError

__all__ = ["rotate_keys"]


async def rotate_keys(session: AsyncSession, vault: Vault, *, now: datetime | None = None) -> int:
    """Re-encrypt every bot token, webhook secret, provider and fiscal bundle under the vault's first key; the count of
    values re-encrypted. A value that no configured key opens refuses the whole rotation (nothing is changed)."""
    count = 0
    tenants = list(await session.scalars(select(Tenant).order_by(Tenant.id).with_for_update()))
    slugs = {tenant.id: tenant.slug for tenant in tenants}
    for tenant in tenants:
        try:
            tenant.bot_token_enc = vault.rotate(tenant.bot_token_enc)
            tenant.webhook_secret_enc = vault.rotate(tenant.webhook_secret_enc)
        except VaultError:
            raise ShopError(
                f"the secrets of shop {tenant.slug!r} cannot be decrypted with the configured keys: "
                "keep the old key in the list until the rotation has run; nothing was changed"
            ) from None
        count += 2
    configs = await session.scalars(
        select(ProviderConfig)
        .where(ProviderConfig.secrets_enc.is_not(None))
        .order_by(ProviderConfig.id)
        .with_for_update()
    )
    for config in configs:
        config.secrets_enc = _rotated(vault, config.secrets_enc, config.provider, slugs.get(config.tenant_id))
        count += 1
    devices = await session.scalars(
        select(FiscalDevice).where(FiscalDevice.secrets_enc.is_not(None)).order_by(FiscalDevice.id).with_for_update()
    )
    for device in devices:  # a tax authority's communication key (fiscal/)
        device.secrets_enc = _rotated(vault, device.secrets_enc, device.authority, slugs.get(device.tenant_id))
        count += 1
    TenantRepository(session).audit(
        AuditEntry(
            tenant_id=None,
            actor_tg_id=None,
            action="keys.rotate",
            target=None,
            allowed=True,
            details={"secrets": count, "shops": len(tenants)},
            at=now or SystemClock().now(),
        )
    )
    await session.flush()
    return count


def _rotated(vault: Vault, bundle: str | None, owner: str, slug: str | None) -> str:
    """A provider's or an authority's secrets bundle under the first key; refused when no key opens it."""
    assert bundle is not None
    try:
        return vault.rotate(bundle)
    except VaultError:
        raise ShopError(
            f"the {owner} secrets of shop {slug or '?'!r} cannot be decrypted with the configured keys: keep the old "
            "key in the list until the rotation has run; nothing was changed"
        ) from None
