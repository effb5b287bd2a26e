"""One aiogram Bot per tenant, built on demand from the tenant's encrypted token and kept for the process; and the
switch that takes a bot out of service when Telegram refuses its token.

Every tenant's Bot shares one aiogram ``AiohttpSession``: one aiohttp connection pool and one SSL context (the CA
bundle loaded once) for the whole process. A Bot is then only its token and a reference to that session, so a
thousand shops cost a thousand small objects, not a thousand connection pools. aiogram builds each request's URL from
the calling Bot's token, so sharing the session shares nothing else between shops."""

from __future__ import annotations

import asyncio
from datetime import datetime

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import update

from core.db.engine import Database
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from core.vault import Vault


class UnknownTenant(LookupError):
    pass


class TenantBots:
    def __init__(self, database: Database, vault: Vault, api_base: str) -> None:
        self.database = database
        self.vault = vault
        self.api = TelegramAPIServer.from_base(api_base)
        self._session: AiohttpSession | None = None  # built with the first bot: a process may need none
        self._bots: dict[int, tuple[Bot, str]] = {}  # tenant id: the bot and the encrypted token it was built from
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"TenantBots({len(self._bots)} bots)"

    async def bot_for(self, tenant_id: int) -> Bot:
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
                bot = Bot(self.vault.decrypt(token_enc), session=self.session)
                self._bots[tenant_id] = (bot, token_enc)
            return self._bots[tenant_id][0]

    @property
    def session(self) -> AiohttpSession:
        """The HTTP session every tenant's bot sends through. No connection limit: a long-polling bot holds one
        connection for as long as its getUpdates waits, so a cap would let a thousand polling shops starve every
        send (sends are bounded by pacing instead)."""
        if self._session is None:
            self._session = AiohttpSession(api=self.api, limit=0)
        return self._session

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
        """Drops the cached bot, so that the next ``bot_for`` reads the token again. The shared session stays open:
        a message on its way through the old bot (the relay's) is not cut off."""
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

    async def close(self) -> None:
        session, self._session, self._bots = self._session, None, {}
        if session is not None:
            await session.close()
