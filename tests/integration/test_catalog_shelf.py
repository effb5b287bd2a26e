"""Browsing reads each shop's shelf from the serving process's cache, and a catalog change made elsewhere (``dukabot
catalog import``, ``tenant edit``, on its own connection as the CLI runs) is shown by the very next step: the shelf
is checked against the tenant row each step reads, whose version every such change moves in its own transaction.
Stock is not on the shelf, so a payment taking stock moves no version; a product's page still shows today's stock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from admin.shops import import_catalog
from admin.shops.tenant_edit import edit_tenant
from core.clock import SystemClock
from core.db.engine import Database
from core.db.repos.catalog import CatalogRepository
from core.db.tables import Product, Tenant
from core.vault import Vault
from tests.support.app import MAMA_CATALOG, Shop, ShopServer, shop_server


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


def fills(server: ShopServer) -> int:
    assert server.runtime is not None
    return server.runtime.processor.catalog.fills


def labels(buttons: list[list[tuple[str, str | None]]]) -> list[str]:
    return [text for row in buttons for text, _ in row]


async def version_of(database: Database, shop: Shop) -> int:
    async with database.uow(read_only=True) as uow:
        version = await uow.session.scalar(select(Tenant.config_version).where(Tenant.id == shop.tenant_id))
    assert isinstance(version, int)
    return version


async def imported(database: Database, shop: Shop, csv_text: str) -> None:
    async with database.uow() as uow:
        await import_catalog(uow.session, shop.slug, csv_text)
        await uow.commit()


async def test_browsing_reads_the_shelf_once_and_sees_every_catalog_change_at_the_next_step(
    server: ShopServer, database: Database
) -> None:
    shop = await server.add_shop()
    await server.start()
    customer = server.person(shop, 5301)
    menu = await customer.send("/shop")
    assert labels(menu.last.buttons) == ["Groceries", "Household", "🛒 Cart"]
    groceries = await customer.tap("Groceries")
    assert "Pishori Rice 2kg · KES 420" in labels(groceries.last.buttons)
    await customer.tap("📂 Categories")
    assert "Bar Soap 800g · KES 120" in labels((await customer.tap("Household")).last.buttons)
    assert fills(server) == 1  # four steps, one read of the catalog

    # A new price, a new category and a new product, imported on the CLI's own connection.
    changed = MAMA_CATALOG.replace("Pishori Rice 2kg,420,", "Pishori Rice 2kg,445,") + (
        "BAK-BREAD-400,White Bread 400g,65,Bakery,Sliced white bread.,,\n"
    )
    await imported(database, shop, changed)
    menu = await customer.send("/shop")
    assert labels(menu.last.buttons) == ["Bakery", "Groceries", "Household", "🛒 Cart"]
    groceries = await customer.tap("Groceries")
    assert "Pishori Rice 2kg · KES 445" in labels(groceries.last.buttons)
    assert "Pishori Rice 2kg · KES 420" not in labels(groceries.last.buttons)
    assert fills(server) == 2

    # A change of currency hides the products priced in the old one: the shop is empty at the next step.
    async with database.uow() as uow:
        await edit_tenant(uow.session, shop.slug, currency="TZS", now=SystemClock().now())
        await uow.commit()
    assert (await customer.send("/shop")).last.content == "The shop has no products yet. Please check back soon."
    assert fills(server) == 3


async def test_stock_moves_no_version_and_a_product_page_shows_todays_stock(
    server: ShopServer, database: Database
) -> None:
    shop = await server.add_shop()
    await server.start()
    customer = server.person(shop, 5302)
    await customer.send("/shop")
    await customer.tap("Groceries")
    before = await version_of(database, shop)

    # Stock changed by an import, and stock taken as a payment takes it (a conditional UPDATE): no new version.
    await imported(database, shop, MAMA_CATALOG.replace("1kg packet.,,3\n", "1kg packet.,,2\n"))
    assert await version_of(database, shop) == before
    async with database.uow() as uow:
        rice = await uow.session.scalar(
            select(Product).where(Product.tenant_id == shop.tenant_id, Product.sku == "GRO-RICE-2KG")
        )
        assert rice is not None
        assert await CatalogRepository(uow.session).take_stocks(shop.tenant_id, {rice.id: 5}) == set()
        await uow.commit()
    assert await version_of(database, shop) == before

    rice_page = (await customer.tap("Pishori Rice 2kg · KES 420")).last
    assert rice_page.content.endswith("35 in stock")
    assert fills(server) == 1

    # A product hidden (an inactive row) leaves the shelf at once.
    async with database.uow() as uow:
        rice = await uow.session.scalar(
            select(Product).where(Product.tenant_id == shop.tenant_id, Product.sku == "GRO-RICE-2KG")
        )
        assert rice is not None
        rice.active = False
        await uow.commit()
    assert await version_of(database, shop) != before
    await customer.send("/shop")
    groceries = await customer.tap("Groceries")
    assert not any("Pishori" in label for label in labels(groceries.last.buttons))
