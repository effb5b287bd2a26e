"""Shop administration: the operations behind the operator CLI, the playground's seeding and the tests.

Every function works inside the caller's session and never commits: the caller's unit of work does, once, when the
whole operation has succeeded. A refused operation raises :class:`ShopError` with a message fit for an operator
(one line, never a secret) and leaves nothing to commit that the caller should keep: roll back on ``ShopError``.

Every change writes an :class:`~core.db.tables.AuditEntry` with ``actor_tg_id=None`` (the operator) and no secrets.

The operations live in one module each (:mod:`.tenants`, :mod:`.overview`, :mod:`.providers`, :mod:`.catalog`,
:mod:`.key_rotation`); this package gathers them because its callers use them as ``shops.create_tenant``,
``shops.set_provider`` and so on.
"""

from __future__ import annotations

from admin.shops.catalog import CATALOG_COLUMNS, ImportReport, OffStep, import_catalog
from admin.shops.errors import ShopError
from admin.shops.key_rotation import rotate_keys
from admin.shops.overview import TenantSummary, describe_tenant, list_tenants
from admin.shops.providers import PROVIDERS, decrypt_provider_secrets, managed_secret, set_provider
from admin.shops.tenants import (
    create_tenant,
    decrypt_bot_token,
    decrypt_webhook_secret,
    require_tenant,
    set_bot_token,
)

__all__ = [
    "CATALOG_COLUMNS",
    "PROVIDERS",
    "ImportReport",
    "OffStep",
    "ShopError",
    "TenantSummary",
    "create_tenant",
    "decrypt_bot_token",
    "decrypt_provider_secrets",
    "decrypt_webhook_secret",
    "describe_tenant",
    "import_catalog",
    "list_tenants",
    "managed_secret",
    "require_tenant",
    "rotate_keys",
    "set_bot_token",
    "set_provider",
]
