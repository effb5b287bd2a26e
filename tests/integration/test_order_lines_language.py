"""An order keeps each line's name as the catalog's default said it, but a customer reads the catalog's own variant
of it in their language (``products.translations``) wherever the order's lines are told to them: "Order again"
(a new price, sold out, no longer sold) and a payment refused because a line sold out meanwhile. A product deleted
since is named by the order's own copy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from core.buttons import PayWith
from core.db.engine import Database
from core.db.tables import Order, Product
from core.vault import Vault
from payments.providers import ENTRIES
from tests.integration.test_find_and_reorder import order_of
from tests.support.app import ShopServer, shop_server

CATALOG = (
    "sku,name,price,category,description,photo_url,stock,name_sw\n"
    "GRO-SUG-1KG,Sugar 1kg,190,Groceries,White sugar.,,5,Sukari kilo 1\n"
    "GRO-TEA-500,Tea 500g,350,Groceries,Black tea.,,,Majani ya chai\n"
    "GRO-SALT-1KG,Salt 1kg,55,Groceries,Table salt.,,,Chumvi kilo 1\n"
    "GRO-MILK-500,Milk 500ml,65,Groceries,Fresh milk.,,,\n"
)


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


async def test_a_swahili_customer_reads_the_lines_of_an_order_in_swahili(
    server: ShopServer, database: Database
) -> None:
    shop = await server.add_shop(catalog=CATALOG)
    await server.start()
    customer = server.person(shop, 7401, language_code="sw")
    await customer.send("/start")
    order_id = await order_of(
        database,
        shop,
        customer,
        [("GRO-TEA-500", 1, 30000), ("GRO-SUG-1KG", 1, 19000), ("GRO-SALT-1KG", 1, 5500), ("GRO-MILK-500", 1, 6500)],
    )
    async with database.uow() as uow:
        await uow.session.execute(update(Product).where(Product.sku == "GRO-SUG-1KG").values(stock=0))
        await uow.session.execute(delete(Product).where(Product.sku == "GRO-SALT-1KG"))
        await uow.commit()

    orders = await customer.send("/orders")
    again = await customer.tap(message=orders.last, data=f"again.1:{order_id}")
    assert again.messages[0].content.splitlines()[1:] == [
        "• Majani ya chai: sasa Ksh\xa0350 (ilikuwa Ksh\xa0300)",
        "• Sukari kilo 1: zimeisha",
        "• Salt 1kg: haiuzwi tena",  # deleted: the order's own copy of its name
    ]
    async with database.uow() as uow:  # what the order stores is the default name, as it was
        order = await uow.session.get(Order, order_id)
        assert order is not None
        await uow.session.refresh(order, ["items"])
        assert [item.name for item in order.items] == ["Tea 500g", "Sugar 1kg", "Salt 1kg", "Milk 500ml"]
        await uow.session.execute(update(Order).where(Order.id == order_id).values(status="awaiting_payment"))
        await uow.commit()

    manual = ENTRIES["manual"].info.button_code
    assert manual is not None
    refused = await customer.tap(message=orders.last, data=PayWith(order_id, manual).pack())
    assert refused.text.startswith("Samahani, Sukari kilo 1 ziliisha kabla oda hii haijalipiwa.")
    async with database.uow() as uow:
        assert await uow.session.scalar(select(Order.status).where(Order.id == order_id)) == "cancelled"
