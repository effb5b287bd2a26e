"""Test mode switched from the chat changes the hosts and credentials the tenant's providers are built with
(through ``payments.registry``, as checkout and the reconciler build them)."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from admin import shops
from core.clock import FakeClock
from core.db.engine import Database
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from core.vault import Vault
from payments.providers import provider_factories
from payments.registry import ProviderDeps, ProviderRegistry
from tests.support.app import ShopServer, shop_server


async def provider_hosts(database: Database, vault: Vault, slug: str) -> tuple[str, str]:
    async with httpx.AsyncClient() as http, database.uow() as uow:
        registry = ProviderRegistry(
            vault, ProviderDeps(http, FakeClock(), "http://127.0.0.1:8080"), provider_factories()
        )
        tenant = await TenantRepository(uow.session).by_slug(slug)
        assert tenant is not None
        mpesa = await registry.for_tenant(uow.session, tenant, "mpesa")
        assert mpesa is not None
        return str(getattr(mpesa, "settings").base_url), str(getattr(mpesa, "settings").shortcode)  # noqa: B009


async def test_testmode_from_the_chat_switches_the_mpesa_host(database: Database, vault: Vault, tmp_path: Path) -> None:
    server: ShopServer
    async with shop_server(database, vault, tmp_path, webhooks=True) as server:
        shop = await server.add_shop()
        async with database.uow() as uow:
            await shops.set_provider(
                uow.session,
                vault,
                shop.slug,
                "mpesa",
                {"consumer_key": "ck-live", "consumer_secret": "cs-live", "passkey": "pk-live"},
                {"shortcode": "600111"},
                FakeClock().now(),
            )
            await uow.commit()
        await server.start()
        admin = server.person(shop, 9001, "Mama")
        assert await provider_hosts(database, vault, shop.slug) == ("https://api.safaricom.co.ke", "600111")

        await admin.send("/testmode on")
        await admin.tap("🧪 Yes, turn test mode on")
        assert await provider_hosts(database, vault, shop.slug) == ("https://sandbox.safaricom.co.ke", "174379")

        await admin.send("/testmode off")
        await admin.tap("🟢 Yes, go live")
        assert await provider_hosts(database, vault, shop.slug) == ("https://api.safaricom.co.ke", "600111")
        async with database.uow() as uow:
            assert (await uow.session.scalar(select(Tenant.test_mode).where(Tenant.id == shop.tenant_id))) is False
