"""One bot per tenant, built on demand from the tenant's encrypted token and kept for the process; and the switch that
takes a bot out of service when Telegram refuses its token. Whatever the library: a channel (``bot/aiogram``,
``bot/ptb``) passes ``make``, which builds its library's bot from a token on the HTTP session it shares between every
tenant's bot (one connection pool for the process: a thousand shops cost a thousand small objects, not a thousand
pools)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import update

from core.db.engine import Database
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from core.vault import Vault

B = TypeVar("B")


class UnknownTenant(LookupError):
    pass


class TenantBots(Generic[B]):
    def __init__(self, database: Database, vault: Vault, make: Callable[[str], B]) -> None:
        self.database = database
        self.vault = vault
        self.make = make
        self._bots: dict[int, tuple[B, str]] = {}  # tenant id: the bot and the encrypted token it was built from
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"TenantBots({len(self._bots)} bots)"

    async def bot_for(self, tenant_id: int) -> B:
        cached = self._bots.get(tenant_id)
        if cached is not None:
            return cached[0]
        async with self._lock:
            if tenant_id not in self._bots:
                async with self.database.uow(read_only=True) as uow:
                    tenant = await TenantRepository(uow.session).by_id(tenant_id)
                    if tenant is None:
                        raise UnknownTenant(tenant_id)
                    token_enc = tenant.bot_token_enc
                bot = self.make(self.vault.decrypt(token_enc))
                self._bots[tenant_id] = (bot, token_enc)
            return self._bots[tenant_id][0]

    def adopt(self, tenant_id: int, token: str) -> B:
        """The tenant's bot built from ``token`` as given, not from the database (a test's or a tool's own bot)."""
        bot = self.make(token)
        self._bots[tenant_id] = (bot, "")
        return bot

    async def token_changed(self, tenant_id: int) -> bool:
        """Whether the tenant's token in the database is not the one its cached bot uses (the operator set a new one
        while this process held the old)."""
        cached = self._bots.get(tenant_id)
        if cached is None:
            return False
        async with self.database.uow(read_only=True) as uow:
            tenant = await TenantRepository(uow.session).by_id(tenant_id)
            return tenant is not None and tenant.bot_token_enc != cached[1]

    def forget(self, tenant_id: int) -> None:
        """Drops the cached bot, so that the next ``bot_for`` reads the token again. The channel's shared session
        stays open: a message on its way through the old bot (the relay's) is not cut off."""
        self._bots.pop(tenant_id, None)

    async def disable(self, tenant_id: int, reason: str, now: datetime) -> bool:
        """Takes the tenant's bot out of service; False when it already was (so the caller tells it once).
        ``reason`` is shown to the operator: our own words, never a token or Telegram's text."""
        async with self.database.uow() as uow:
            result = await uow.session.execute(
                update(Tenant)
                .where(Tenant.id == tenant_id, Tenant.bot_disabled_at.is_(None))
                .values(bot_disabled_at=now, bot_disabled_reason=reason[:200])
            )
            await uow.commit()
        self.forget(tenant_id)
        return bool(getattr(result, "rowcount", 0))

    async def enable(self, tenant_id: int) -> bool:
        """Puts a disabled bot back in service (its token works again); False when it was not disabled."""
        async with self.database.uow() as uow:
            result = await uow.session.execute(
                update(Tenant)
                .where(Tenant.id == tenant_id, Tenant.bot_disabled_at.is_not(None))
                .values(bot_disabled_at=None, bot_disabled_reason=None)
            )
            await uow.commit()
        return bool(getattr(result, "rowcount", 0))

    def clear(self) -> None:
        """Forgets every bot (the channel closes the session they share)."""
        self._bots = {}


class TenantBotsOfChannel(Generic[B]):
    """The tenants' part of a channel (``bot.channel.Channel``), the same whatever the library: its ``bots``."""

    bots: TenantBots[B]

    async def token_changed(self, tenant_id: int) -> bool:
        return await self.bots.token_changed(tenant_id)

    def forget(self, tenant_id: int) -> None:
        self.bots.forget(tenant_id)

    async def disable(self, tenant_id: int, reason: str, now: datetime) -> bool:
        return await self.bots.disable(tenant_id, reason, now)

    async def enable(self, tenant_id: int) -> bool:
        return await self.bots.enable(tenant_id)
