"""Which payment providers exist, and building one for a tenant from its stored (encrypted) configuration.

A provider module registers a factory under its name; the composition root hands the registry the shared
dependencies (one httpx client for the process, the clock, where callbacks should point). Test mode is a property of
the tenant: the factory receives it and picks sandbox hosts and test credentials accordingly.

Built providers are kept, with the decrypted settings they were built from, so that a callback reads no
``provider_configs`` row, decrypts nothing and builds nothing. The rule that keeps them right: an entry is used only
for a tenant row that carries the same ``config_version`` (and the same test mode, slug, name and currency) as the
row it was built for. Every change to a provider's settings, to those columns or to the secrets (``provider set``,
``keys rotate``, ``/testmode``, ``tenant edit``) gives the tenant a new version in the change's own transaction
(:mod:`core.db.config_version`). The caller passes the row it read in its own transaction, so the check is exact and
costs nothing: a request that starts after the change commits, in this process or another, builds anew; a request
already under way when it commits finishes with the settings of the row it read, as it would without the cache.
So a rotated secret stops verifying webhooks from the first webhook whose transaction starts after the
rotation commits, in every process, whatever Redis or PostgreSQL notifications do.
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
    # The Bot API a chat-invoice provider sends its invoices through (DUKABOT_TELEGRAM_API: a local server, a fake).
    telegram_api: str = "https://api.telegram.org"


@dataclass(frozen=True, slots=True)
class TenantProviderConfig:
    tenant_id: int
    tenant_slug: str
    shop_name: str
    currency: str
    test_mode: bool
    secrets: Mapping[str, str]
    options: Mapping[str, Any]
    # The shop's own bot token, given only to a provider whose invoices are paid inside the chat (its kind is
    # ProviderKind.CHAT_INVOICE): it sends them as the shop's bot. None for every other provider.
    bot_token: str | None = field(default=None, repr=False)


ProviderFactory = Callable[[TenantProviderConfig, ProviderDeps], PaymentProvider]


# What an entry was built from, of the tenant's row: the version, and the columns a factory reads.
_RowState = tuple[int, bool, str, str, str]


@dataclass(frozen=True, slots=True)
class _Built:
    state: _RowState
    config: TenantProviderConfig | None  # None: the provider is not configured for the tenant
    enabled: bool
    provider: PaymentProvider | None  # None: not configured, disabled, or unknown here


def _row_state(tenant: Tenant) -> _RowState:
    return (tenant.config_version, tenant.test_mode, tenant.slug, tenant.name, tenant.currency)


class ProviderRegistry:
    def __init__(self, vault: Vault, deps: ProviderDeps, factories: Mapping[str, ProviderFactory]) -> None:
        self.vault = vault
        self.deps = deps
        self.factories = dict(factories)
        self._built: dict[tuple[int, str], _Built] = {}  # by (tenant id, provider name); one entry each

    def __repr__(self) -> str:
        return f"ProviderRegistry({sorted(self.factories)})"

    def supports(self, name: str) -> bool:
        return name in self.factories

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.factories)

    async def for_tenant(self, session: AsyncSession, tenant: Tenant, name: str) -> PaymentProvider | None:
        """The tenant's configured provider, or None when it is not configured, disabled, or unknown here.
        ``tenant`` is the row as read in ``session``'s transaction: the cached provider is checked against it."""
        return (await self._entry(session, tenant, name)).provider

    async def stored_config(self, session: AsyncSession, tenant: Tenant, name: str) -> TenantProviderConfig | None:
        """The tenant's decrypted settings of the provider, even when it is switched off (money already paid through
        it still counts); None when it was never configured. Checked against ``tenant`` as :meth:`for_tenant` is."""
        return (await self._entry(session, tenant, name)).config

    def forget(self, tenant_id: int | None = None) -> None:
        """Drop the entries of a tenant (every tenant when None): memory only, the version check needs no help."""
        if tenant_id is None:
            self._built.clear()
            return
        for key in [key for key in self._built if key[0] == tenant_id]:
            del self._built[key]

    async def _entry(self, session: AsyncSession, tenant: Tenant, name: str) -> _Built:
        if session.new or session.dirty or session.deleted:
            # A change not yet flushed gets its new version at the flush: flush first (as a read would), so that the
            # row is compared, and an entry keyed, with the version that goes with what is read.
            await session.flush()
        state = _row_state(tenant)
        cached = self._built.get((tenant.id, name))
        if cached is not None and cached.state == state:
            return cached
        built = await self._build(session, tenant, name)
        self._built[(tenant.id, name)] = built
        return built

    async def _build(self, session: AsyncSession, tenant: Tenant, name: str) -> _Built:
        stored = await TenantRepository(session).provider_config(tenant.id, name)
        state = _row_state(tenant)
        if stored is None:
            return _Built(state, None, False, None)
        secrets = self.vault.decrypt_json(stored.secrets_enc) if stored.secrets_enc else {}
        config = TenantProviderConfig(
            tenant_id=tenant.id,
            tenant_slug=tenant.slug,
            shop_name=tenant.name,
            currency=tenant.currency,
            test_mode=tenant.test_mode,
            secrets=secrets,
            options=dict(stored.options or {}),
            bot_token=self.vault.decrypt(tenant.bot_token_enc) if _sends_in_chat(name) else None,
        )
        factory = self.factories.get(name)
        provider = factory(config, self.deps) if factory is not None and stored.enabled else None
        return _Built(state, config, stored.enabled, provider)


def _sends_in_chat(name: str) -> bool:
    from payments.info import ProviderKind
    from payments.providers import entry  # the registry lines import this module's types

    found = entry(name)
    return found is not None and found.info.kind is ProviderKind.CHAT_INVOICE
