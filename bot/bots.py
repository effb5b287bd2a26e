"""One aiogram Bot per tenant, built on demand from the tenant's encrypted token and kept for the process."""

from __future__ import annotations

import asyncio

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from core.db.engine import Database
from core.db.repos.tenants import TenantRepository
from core.vault import Vault


class UnknownTenant(LookupError):
    pass


class TenantBots:
    def __init__(self, database: Database, vault: Vault, api_base: str) -> None:
        self.database = database
        self.vault = vault
        self.api = TelegramAPIServer.from_base(api_base)
        self._bots: dict[int, Bot] = {}
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"TenantBots({len(self._bots)} bots)"

    async def bot_for(self, tenant_id: int) -> Bot:
        bot = self._bots.get(tenant_id)
        if bot is not None:
            return bot
        async with self._lock:
            if tenant_id not in self._bots:
                async with self.database.uow() as uow:
                    tenant = await TenantRepository(uow.session).by_id(tenant_id)
                    if tenant is None:
                        raise UnknownTenant(tenant_id)
                    token = self.vault.decrypt(tenant.bot_token_enc)
                self._bots[tenant_id] = Bot(token, session=AiohttpSession(api=self.api))
            return self._bots[tenant_id]

    async def close(self) -> None:
        bots, self._bots = list(self._bots.values()), {}
        for bot in bots:
            await bot.session.close()
