"""Payment methods of a shop: :func:`set_provider` checks the settings given against the provider's own settings
model (``payments/<name>/settings.py``, found through the registry :mod:`payments.providers`) and stores them,
secrets encrypted as one bundle. Nothing here knows a provider by name.

Writing a ``provider_configs`` row gives its shop a new configuration version in the same transaction (the ORM's
events in :mod:`core.db.tables`): every ``serve`` process builds the shop's provider anew for the first callback
that reads the shop after the commit (:mod:`payments.registry`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from admin.shops.currencies import refuse_other_currency
from admin.shops.errors import ShopError
from admin.shops.tenants import require_tenant
from core.db.repos.tenants import TenantRepository
from core.db.tables import AuditEntry, ProviderConfig
from core.vault import Vault
from payments.base import ProviderEntry
from payments.providers import ENTRIES
from payments.setup import ProviderSetup, SetupError

__all__ = [
    "PROVIDERS",
    "decrypt_provider_secrets",
    "managed_secret",
    "provider_entry",
    "set_provider",
    "setup_model",
]

PROVIDERS: Final[Mapping[str, ProviderEntry]] = ENTRIES


def provider_entry(provider: str) -> ProviderEntry:
    entry = PROVIDERS.get(provider)
    if entry is None:
        raise ShopError(f"unknown provider {provider[:20]!r}: use one of {', '.join(PROVIDERS)}")
    return entry


def setup_model(provider: str) -> type[ProviderSetup]:
    model = provider_entry(provider).setup()
    assert issubclass(model, ProviderSetup)
    return model


async def set_provider(
    session: AsyncSession,
    vault: Vault,
    slug: str,
    provider: str,
    secrets: Mapping[str, Any],
    options: Mapping[str, Any],
    now: datetime,
) -> ProviderConfig:
    """Configure (or reconfigure) one payment method of a shop and enable it. The secrets and options given replace
    the previous ones entirely, except the secrets the provider makes itself (``managed`` fields, such as M-Pesa's
    C2B URL secret), which are kept; ``None`` values count as not given."""
    model = setup_model(provider)
    managed = set(model.fields(cli="managed"))
    takes_secrets = [name for name in model.fields(secret=True) if name not in managed]
    takes_options = model.fields(secret=False)
    unknown = sorted(key for key, value in secrets.items() if value is not None and key not in takes_secrets)
    if unknown:
        what = f"takes the secrets {', '.join(takes_secrets)}" if takes_secrets else "takes no secrets"
        raise ShopError(f"{provider} {what}, not {', '.join(unknown)}")
    unknown = sorted(key for key, value in options.items() if value is not None and key not in takes_options)
    if unknown:
        raise ShopError(f"{provider} takes the options {', '.join(takes_options)}, not {', '.join(unknown)}")
    given = {**options, **secrets}

    tenant = await require_tenant(session, slug)
    repo = TenantRepository(session)
    config = await repo.provider_config(tenant.id, provider)
    previous = decrypt_provider_secrets(vault, config) if config is not None else {}
    kept = {key: value for key, value in previous.items() if key in managed}
    if config is not None:  # a managed option (an account the provider made) is kept as a managed secret is
        kept |= {key: str(value) for key, value in (config.options or {}).items() if key in managed}
    try:
        setup = model.parse({**given, **kept})
    except SetupError as error:
        raise ShopError(str(error)) from None
    clean_secrets, clean_options = setup.stored()
    refuse_other_currency(provider_entry(provider), slug, tenant.currency, clean_options)
    secrets_enc = vault.encrypt_json(clean_secrets) if clean_secrets else None
    created = config is None
    if config is None:
        config = ProviderConfig(
            tenant_id=tenant.id,
            provider=provider,
            enabled=True,
            secrets_enc=secrets_enc,
            options=clean_options,
            updated_at=now,
        )
        session.add(config)
    else:
        config.enabled = True
        config.secrets_enc = secrets_enc
        config.options = clean_options
        config.updated_at = now
    repo.audit(
        AuditEntry(
            tenant_id=tenant.id,
            actor_tg_id=None,
            action="provider.set",
            target=provider,
            allowed=True,
            # Option values are not secret (shortcodes, URLs, instructions); of the secrets only their names.
            details={
                "created": created,
                "options": clean_options,
                "secrets": sorted(key for key in clean_secrets if key not in managed),
            },
            at=now,
        )
    )
    try:
        await session.flush()
    except IntegrityError:
        raise ShopError(f"{provider} was configured for {slug!r} at the same time by someone else: try again") from None
    return config


def decrypt_provider_secrets(vault: Vault, config: ProviderConfig) -> dict[str, str]:
    if not config.secrets_enc:
        return {}
    return {str(key): str(value) for key, value in vault.decrypt_json(config.secrets_enc).items()}


async def managed_secret(
    session: AsyncSession,
    vault: Vault,
    slug: str,
    provider: str,
    field: str,
    make: Callable[[], str],
    now: datetime,
    *,
    rotate: bool = False,
) -> str:
    """A secret the provider makes itself (a ``managed`` field of its settings model, such as M-Pesa's C2B URL
    secret): made with ``make`` when there is none or when ``rotate``, stored in the provider's encrypted bundle.
    The caller's unit of work decides: a refusal after this rolls the new secret back and the old one stays."""
    if field not in setup_model(provider).fields(cli="managed"):
        raise ShopError(f"{provider} makes no secret {field!r}")
    tenant = await require_tenant(session, slug)
    repo = TenantRepository(session)
    config = await repo.provider_config(tenant.id, provider)
    if config is None:
        title = provider_entry(provider).info.title()
        raise ShopError(f"{title} is not set for {slug!r}: dukabot provider set {slug} {provider} ...")
    stored = decrypt_provider_secrets(vault, config)
    if stored.get(field) and not rotate:
        return stored[field]
    stored[field] = make()
    config.secrets_enc = vault.encrypt_json(stored)
    config.updated_at = now
    repo.audit(
        AuditEntry(
            tenant_id=tenant.id,
            actor_tg_id=None,
            action=f"provider.{field}",
            target=provider,
            allowed=True,
            details={"rotated": rotate},
            at=now,
        )
    )
    await session.flush()
    return stored[field]
