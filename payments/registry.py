"""Which payment providers exist, and building one for a tenant from its stored (encrypted) configuration.

A provider module registers a factory under its name; the composition root hands the registry the shared
dependencies (one httpx client, the clock, where callbacks should point). Test mode is a property of the tenant: the
factory receives it and picks sandbox hosts and test credentials accordingly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from core.vault import Vault
from payments.base import PaymentProvider


@dataclass(frozen=True, slots=True)
class ProviderDeps:
    http: httpx.AsyncClient
    clock: Clock
    callback_base: str  # the public URL, or this server's local address when there is none
    shared: dict[str, Any] = field(default_factory=dict)  # per-process caches a provider wants to share (tokens)


@dataclass(frozen=True, slots=True)
class TenantProviderConfig:
    tenant_id: int
    tenant_slug: str
    shop_name: str
    currency: str
    test_mode: bool
    secrets: Mapping[str, str]
    options: Mapping[str, Any]


ProviderFactory = Callable[[TenantProviderConfig, ProviderDeps], PaymentProvider]


class ProviderRegistry:
    def __init__(self, vault: Vault, deps: ProviderDeps, factories: Mapping[str, ProviderFactory]) -> None:
        self.vault = vault
        self.deps = deps
        self.factories = dict(factories)

    def __repr__(self) -> str:
        return f"ProviderRegistry({sorted(self.factories)})"

    def supports(self, name: str) -> bool:
        return name in self.factories

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.factories)

    async def for_tenant(self, session: AsyncSession, tenant: Tenant, name: str) -> PaymentProvider | None:
        """The tenant's configured provider, or None when it is not configured, disabled, or unknown here."""
        factory = self.factories.get(name)
        config = await TenantRepository(session).provider_config(tenant.id, name)
        if factory is None or config is None or not config.enabled:
            return None
        secrets = self.vault.decrypt_json(config.secrets_enc) if config.secrets_enc else {}
        settings = TenantProviderConfig(
            tenant_id=tenant.id,
            tenant_slug=tenant.slug,
            shop_name=tenant.name,
            currency=tenant.currency,
            test_mode=tenant.test_mode,
            secrets=secrets,
            options=dict(config.options or {}),
        )
        return factory(settings, self.deps)
