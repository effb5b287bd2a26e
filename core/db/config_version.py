"""A tenant's configuration version: the one value a cache of that tenant's state is checked against.

``tenants.config_version`` gets a new value in the same transaction as every change to what processes cache about
the tenant: its provider configurations (any row of ``provider_configs``), its test mode, name, currency, slug, bot
token and webhook secret. The ORM does it on its own (the mapper events in :mod:`core.db.tables.config_events`); a
bulk UPDATE of those columns calls :func:`stamp` in its transaction.

A new value is random, not the old one plus one: a transaction that stamped and then rolled back may have left a
cache entry under its value, and no committed state will ever carry that value again. On PostgreSQL each stamp also
sends ``NOTIFY`` on :data:`NOTIFY_CHANNEL` with the tenant's id; PostgreSQL delivers it when (and only if) the
transaction commits, so listening processes drop their copy at once (:mod:`core.tenant_cache`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from sqlalchemy import Connection, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

NOTIFY_CHANNEL = "dukabot_tenant_config"
ALL_TENANTS = "*"  # the notification's payload when every tenant changed (key rotation)
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


def new_config_version() -> int:
    """A fresh version: 62 random bits, so it fits a signed BIGINT and two stamps never meet."""
    return secrets.randbits(62)


def notify(connection: Connection, tenant_ids: Iterable[int] | None) -> None:
    """Tell the other processes, on commit, that these tenants (every tenant when None) changed: PostgreSQL only;
    elsewhere the caches' bounded re-check is what sees the change."""
    if connection.dialect.name != "postgresql":
        return
    payloads = [ALL_TENANTS] if tenant_ids is None else sorted({str(tenant_id) for tenant_id in tenant_ids})
    for payload in payloads:
        connection.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": NOTIFY_CHANNEL, "payload": payload}
        )


async def stamp(session: AsyncSession, tenant_ids: Iterable[int] | None = None) -> None:
    """Give these tenants (every tenant when None) a new configuration version, in the caller's transaction: for
    changes made with a bulk UPDATE, which the ORM's events do not see. Each tenant gets its own value."""
    from core.db.tables import Tenant  # the tables import this module

    wanted = None if tenant_ids is None else sorted(set(tenant_ids))
    ids = wanted if wanted is not None else list(await session.scalars(select(Tenant.id)))
    for tenant_id in ids:
        # The ORM's UPDATE also moves a copy of the tenant loaded in this session, so it reads the new version.
        await session.execute(update(Tenant).where(Tenant.id == tenant_id).values(config_version=new_config_version()))
    connection = await session.connection()
    await connection.run_sync(lambda sync: notify(sync, wanted))
