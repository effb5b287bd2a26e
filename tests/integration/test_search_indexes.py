"""The process's search indexes: one read per shop and catalog version, a product's new description found at the
next search (it moves the version), and at most ``limit`` shops held, the least recently searched dropped first."""

from __future__ import annotations

from sqlalchemy import select

from core.catalog_search import SearchCache
from core.db.engine import Database
from core.db.tables import Product, Tenant
from core.vault import Vault
from tests.support.clocks import MovableClock
from tests.support.seed import seed_shop


async def version_of(database: Database, tenant_id: int) -> int:
    async with database.uow(read_only=True) as uow:
        version = await uow.session.scalar(select(Tenant.config_version).where(Tenant.id == tenant_id))
    assert isinstance(version, int)
    return version


async def searched(database: Database, cache: SearchCache, tenant_id: int, query: str) -> list[str]:
    async with database.uow(read_only=True) as uow:
        index = await cache.index(uow.session, tenant_id, await version_of(database, tenant_id))
    return [found.name for found in index.search(query)]


async def test_indexes_are_kept_per_version_and_bounded(database: Database, vault: Vault) -> None:
    clock = MovableClock()
    shops = [
        await seed_shop(database, vault, clock, slug=f"shop-{n}", bot_token=f"11111{n}:AAE-test-token-{n:030}")
        for n in range(3)
    ]
    cache = SearchCache(limit=2)
    first = shops[0].tenant_id
    names = await searched(database, cache, first, "soap")
    assert await searched(database, cache, first, "soap") == names
    assert cache.fills == 1

    async with database.uow() as uow:  # a new description moves the version: the next search reads again
        product = await uow.session.scalar(select(Product).where(Product.tenant_id == first).limit(1))
        assert product is not None
        product.description = "Zanzibar cloves"
        await uow.commit()
        changed = product.name
    assert await searched(database, cache, first, "zanzibar") == [changed]
    assert cache.fills == 2

    await searched(database, cache, shops[1].tenant_id, "soap")
    await searched(database, cache, shops[2].tenant_id, "soap")
    assert len(cache) == 2 and cache.fills == 4
    await searched(database, cache, first, "zanzibar")  # the least recently searched was dropped: read again
    assert cache.fills == 5
