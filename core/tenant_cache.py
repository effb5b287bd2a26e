"""Per-process copies of tenant state read where no tenant row is at hand: the Telegram webhook's tenant and secret.

The invalidation rule (the same one for every per-tenant cache in dukabot):

1. Every change to a tenant's cached state gives the tenant a new ``config_version`` in the change's own transaction
   (:mod:`core.db.config_version`: provider settings, ``/testmode``, ``tenant edit``, ``keys rotate``, secrets, and
   what browsing shows of its products: :mod:`core.catalog_cache`).
2. A cache that is handed the tenant's row, read in the caller's transaction, uses an entry only when the row's
   version is the entry's: exact, and free (the provider registry, :mod:`payments.registry`, which is what
   payment callbacks and webhooks use, so a changed or rotated provider secret is never used after its change
   commits; and the shops' shelves, :mod:`core.catalog_cache`, which conversation steps browse).
3. A cache without the row (this one, for the Telegram webhook) uses an entry only while it was checked against the
   database less than ``recheck_after`` ago (5 seconds by default): the first lookup after that reads every tenant's
   version in one query and drops what changed. On PostgreSQL the process also listens for the ``NOTIFY`` each
   change sends on commit, and drops the tenant's entry as soon as it arrives; the re-check remains the bound when
   the listening connection is lost (and on SQLite, where there is none).

Why PostgreSQL's NOTIFY and not Redis pub/sub: a notification must go out exactly when the change commits. NOTIFY
is sent by the change's own transaction (so never for a rolled-back change, and never lost because the process that
made the change, say ``dukabot provider set``, exits right after its commit), and every process on PostgreSQL has
the database already; a Redis message would be published by the writer after its commit, by each writer. Processes
sharing a SQLite file, or a PostgreSQL behind a pooler that drops LISTEN, rely on the re-check alone.

So a ``serve`` process sees a new webhook secret at once on PostgreSQL, and within ``recheck_after`` in any case. A
stale webhook secret costs nothing but time: Telegram's delivery with the new secret is refused 401 and delivered
again later; no update is applied with a secret that does not match the one it was sent with.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.engine import make_url

from core.clock import Clock
from core.db.config_version import ALL_TENANTS, NOTIFY_CHANNEL
from core.db.engine import Database
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from core.vault import Vault

log = logging.getLogger(__name__)

RECHECK_AFTER = timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class WebhookIdentity:
    """Who ``/tg/{slug}`` is for, and the secret Telegram must send with its updates."""

    tenant_id: int
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class _Entry:
    identity: WebhookIdentity
    version: int


class TenantCache:
    """``on_change`` callbacks hear every tenant id dropped (None: every tenant), to free their own copies."""

    def __init__(
        self, database: Database, vault: Vault, clock: Clock, *, recheck_after: timedelta = RECHECK_AFTER
    ) -> None:
        self._database = database
        self._vault = vault
        self._clock = clock
        self._recheck_after = recheck_after
        self._entries: dict[str, _Entry] = {}  # by slug; slugs never change
        self._checked_at: datetime | None = None  # when the last re-check began
        self._drops = 0  # bumped by every drop, so a load that raced a notification is not kept
        self._rechecking = asyncio.Lock()
        self._listener: Any = None  # the asyncpg connection LISTENing on PostgreSQL
        self._listen_tried = False
        self.on_change: list[Callable[[int | None], None]] = []
        self.loads = 0  # lookups that went to the database (read by tests and benchmarks)

    async def webhook_identity(self, slug: str) -> WebhookIdentity | None:
        """The tenant at ``slug`` and its webhook secret; None when there is no such shop (never kept)."""
        await self._recheck_if_due()
        entry = self._entries.get(slug)
        if entry is not None:
            return entry.identity
        drops = self._drops
        self.loads += 1
        async with self._database.uow(read_only=True) as uow:  # no write lock: forged requests queue behind nothing
            tenant = await TenantRepository(uow.session).by_slug(slug)
            if tenant is None:
                return None
            identity = WebhookIdentity(tenant.id, self._vault.decrypt(tenant.webhook_secret_enc))
            version = tenant.config_version
        if drops == self._drops:  # else a change was announced meanwhile: what was read may predate it
            self._entries[slug] = _Entry(identity, version)
        return identity

    def drop(self, tenant_id: int | None = None) -> None:
        """Forget a tenant (every tenant when None); the next lookup reads the database."""
        self._drops += 1
        if tenant_id is None:
            self._entries.clear()
        else:
            for slug in [slug for slug, entry in self._entries.items() if entry.identity.tenant_id == tenant_id]:
                del self._entries[slug]
        for callback in self.on_change:
            callback(tenant_id)

    async def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.remove_termination_listener(self._lost)  # closing it is no loss to report
            await listener.close()

    # --- the bounded re-check ---------------------------------------------------------------------------------

    async def _recheck_if_due(self) -> None:
        if not self._listen_tried:
            self._listen_tried = True
            await self._listen()
        if not self._due(self._clock.now()):
            return
        async with self._rechecking:
            started = self._clock.now()
            if not self._due(started):  # another lookup re-checked while this one waited
                return
            if self._entries:
                await self._recheck()
            self._checked_at = started
            if self._listener is None and self._database.dialect == "postgresql":
                await self._listen()  # the connection was lost: try again, once per re-check

    def _due(self, now: datetime) -> bool:
        return self._checked_at is None or now - self._checked_at >= self._recheck_after

    async def _recheck(self) -> None:
        async with self._database.uow(read_only=True) as uow:  # no write lock: forged requests queue behind nothing
            rows = await uow.session.execute(select(Tenant.id, Tenant.config_version))
            versions = {tenant_id: version for tenant_id, version in rows}
        changed = {
            e.identity.tenant_id for e in self._entries.values() if versions.get(e.identity.tenant_id) != e.version
        }
        for tenant_id in changed:
            self.drop(tenant_id)

    # --- PostgreSQL notifications ------------------------------------------------------------------------------

    async def _listen(self) -> None:
        if self._database.dialect != "postgresql":
            return
        dsn = make_url(self._database.url).set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            listener = await asyncpg.connect(dsn, timeout=5)
            await listener.add_listener(NOTIFY_CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            log.warning(
                "cannot listen for tenant changes (%s): re-checking every %s", type(error).__name__, self._recheck_after
            )
            return
        listener.add_termination_listener(self._lost)
        self._listener = listener
        self.drop()  # whatever was kept before listening may have missed a notification

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: object) -> None:
        text = str(payload)
        if text == ALL_TENANTS:
            self.drop()
        elif text.isdigit():
            self.drop(int(text))

    def _lost(self, _connection: Any) -> None:
        log.warning("the connection listening for tenant changes was lost: re-checking every %s", self._recheck_after)
        self._listener = None
