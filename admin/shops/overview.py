"""What the operator sees of shops (``tenant list``, ``tenant show``): summaries and descriptions, secrets masked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin.shops.providers import PROVIDERS, decrypt_provider_secrets, setup_model
from admin.shops.tenants import bot_id_of, decrypt_bot_token, decrypt_webhook_secret, require_tenant
from core.clock import utc
from core.db.repos.tenants import TenantRepository
from core.db.tables import Product, ProviderConfig, TenantAdmin
from core.vault import Vault, VaultError, mask_secret

__all__ = ["TenantSummary", "describe_tenant", "list_tenants"]


@dataclass(frozen=True, slots=True)
class TenantSummary:
    """One line of ``dukabot tenant list``: no secrets at all."""

    slug: str
    name: str
    currency: str
    region: str
    test_mode: bool
    admins: int
    providers: tuple[str, ...]
    products: int
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "name": self.name,
            "currency": self.currency,
            "region": self.region,
            "test_mode": self.test_mode,
            "admins": self.admins,
            "providers": list(self.providers),
            "products": self.products,
            "created_at": self.created_at.isoformat(timespec="seconds"),
        }


async def list_tenants(session: AsyncSession) -> list[TenantSummary]:
    tenants = await TenantRepository(session).all()
    admin_rows = await session.execute(select(TenantAdmin.tenant_id, func.count()).group_by(TenantAdmin.tenant_id))
    admins: dict[int, int] = {tenant_id: count for tenant_id, count in admin_rows}
    product_rows = await session.execute(
        select(Product.tenant_id, func.count()).where(Product.active.is_(True)).group_by(Product.tenant_id)
    )
    products: dict[int, int] = {tenant_id: count for tenant_id, count in product_rows}
    providers: dict[int, list[str]] = {}
    provider_rows = await session.execute(
        select(ProviderConfig.tenant_id, ProviderConfig.provider)
        .where(ProviderConfig.enabled.is_(True))
        .order_by(ProviderConfig.provider)
    )
    for tenant_id, provider in provider_rows:
        providers.setdefault(tenant_id, []).append(provider)
    return [
        TenantSummary(
            slug=tenant.slug,
            name=tenant.name,
            currency=tenant.currency,
            region=tenant.region,
            test_mode=tenant.test_mode,
            admins=int(admins.get(tenant.id, 0)),
            providers=tuple(providers.get(tenant.id, ())),
            products=int(products.get(tenant.id, 0)),
            created_at=utc(tenant.created_at),
        )
        for tenant in tenants
    ]


_UNREADABLE: Final = "(cannot decrypt with the configured keys)"


async def describe_tenant(session: AsyncSession, vault: Vault, slug: str) -> dict[str, Any]:
    """Everything about a shop, JSON-ready, with every secret masked (``••••••1a2b``). Secrets that the configured
    keys cannot decrypt are reported under ``problems`` rather than failing."""
    tenant = await require_tenant(session, slug)
    repo = TenantRepository(session)
    problems: list[str] = []
    try:
        token = decrypt_bot_token(vault, tenant)
        bot_token, bot_id = mask_secret(token), bot_id_of(token)
    except VaultError:
        bot_token, bot_id = _UNREADABLE, None
        problems.append("the bot token cannot be decrypted with the configured keys")
    try:
        webhook_secret = mask_secret(decrypt_webhook_secret(vault, tenant))
    except VaultError:
        webhook_secret = _UNREADABLE
        problems.append("the webhook secret cannot be decrypted with the configured keys")
    if tenant.bot_disabled_at is not None:
        problems.append(
            f"the bot is disabled since {utc(tenant.bot_disabled_at):%Y-%m-%d %H:%M} UTC "
            f"({tenant.bot_disabled_reason}): set a new token with `dukabot tenant set-token {tenant.slug}`"
        )

    providers: list[dict[str, Any]] = []
    for config in await repo.provider_configs(tenant.id, enabled_only=False):
        entry: dict[str, Any] = {
            "provider": config.provider,
            "enabled": config.enabled,
            "options": dict(config.options or {}),
            "secrets": {},
            "updated_at": utc(config.updated_at).isoformat(timespec="seconds"),
        }
        try:
            values = decrypt_provider_secrets(vault, config)
        except VaultError:
            problems.append(f"the {config.provider} secrets cannot be decrypted with the configured keys")
            entry["secrets"] = {"*": _UNREADABLE}
        else:
            entry["secrets"] = {key: mask_secret(values[key]) for key in sorted(values)}
            if config.provider in PROVIDERS:  # what the provider's settings model says besides (ProviderSetup.facts)
                entry.update(setup_model(config.provider).facts(values, entry["options"]))
        providers.append(entry)

    products = await session.execute(
        select(func.count(), func.count(func.distinct(Product.category))).where(
            Product.tenant_id == tenant.id, Product.active.is_(True)
        )
    )
    product_count, category_count = products.one()
    return {
        "slug": tenant.slug,
        "name": tenant.name,
        "currency": tenant.currency,
        "region": tenant.region,
        "timezone": tenant.timezone,
        "language": tenant.language,
        "bot_id": bot_id,
        "bot_username": tenant.bot_username,
        "bot_token": bot_token,
        "webhook_secret": webhook_secret,
        "test_mode": tenant.test_mode,
        "payment_timeout_minutes": tenant.payment_timeout_minutes,
        "cart_reminder_minutes": tenant.cart_reminder_minutes,
        "alert_chat_id": tenant.alert_chat_id,
        "admins": await repo.admin_ids(tenant.id),
        "providers": providers,
        "products": int(product_count or 0),
        "categories": int(category_count or 0),
        "created_at": utc(tenant.created_at).isoformat(timespec="seconds"),
        "problems": problems,
    }
