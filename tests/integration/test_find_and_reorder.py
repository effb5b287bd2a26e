"""Finding products by typing and ordering a past order again, through the real server (issue 21): typos, paging,
the categories when nothing matches, words at a step that waits for a typed answer; and "Order again" with what
changed since (a product gone, less stock, a new price), plus the buttons a customer may not press."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from core.clock import SystemClock
from core.db.engine import Database
from core.db.tables import Customer, Order, OrderItem, Product
from core.vault import Vault
from tests.integration.test_bad_input import unchanged
from tests.integration.test_typed_answers import cart_of
from tests.support.app import Person, Shop, ShopServer, shop_server


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


def labels(message_buttons: list[list[tuple[str, str | None]]]) -> list[str]:
    return [text for row in message_buttons for text, _ in row]


# Twenty teas, for paging: "Tea 01" .. "Tea 20", after the sample shop's own.
TEAS = "".join(f"GRO-TEA-{n:02},Tea {n:02},{100 + n},Teas,Black tea number {n}.,,\n" for n in range(1, 21))


async def test_typing_finds_products_despite_case_accents_and_typos(server: ShopServer) -> None:
    shop = await server.add_shop()
    await server.start()
    customer = server.person(shop, 7301)
    await customer.send("/start")

    found = await customer.send("SUKAR")
    assert found.text == "🔎 1 found for “SUKAR” (page 1 of 1) – tap a product:"
    assert labels(found.last.buttons) == ["Sugar 1kg · KES 190", "📂 Categories", "🛒 Cart"]
    product = await customer.tap("Sugar 1kg · KES 190")
    assert product.text.startswith("Sugar 1kg\nKES 190\nWhite sugar in a 1kg packet.")

    by_description = await customer.send("ugali")
    assert labels(by_description.last.buttons)[0] == "Maize Flour 2kg · KES 210"
    by_sku = await customer.send("hse-soap-800")
    assert labels(by_sku.last.buttons)[0] == "Bar Soap 800g · KES 120"
    narrowed = await customer.send("pishory rice")
    assert labels(narrowed.last.buttons) == ["Pishori Rice 2kg · KES 420", "📂 Categories", "🛒 Cart"]


async def test_many_results_are_paged_with_buttons(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    async with database.uow() as uow:
        from admin.shops import import_catalog
        from tests.support.app import MAMA_CATALOG

        await import_catalog(uow.session, shop.slug, MAMA_CATALOG + TEAS, now=SystemClock().now())
        await uow.commit()
    await server.start()
    customer = server.person(shop, 7302)
    await customer.send("/start")

    first = await customer.send("tea")
    assert first.text == "🔎 21 found for “tea” (page 1 of 3) – tap a product:"
    assert labels(first.last.buttons)[:2] == ["Tea 01 · KES 101", "Tea 02 · KES 102"]  # equal points: short names first
    assert labels(first.last.buttons)[-3:] == ["Next ▶", "📂 Categories", "🛒 Cart"]
    second = await customer.tap("Next ▶")
    assert second.last.content == "🔎 21 found for “tea” (page 2 of 3) – tap a product:"
    assert labels(second.last.buttons)[0] == "Tea 09 · KES 109"
    assert labels(second.last.buttons)[-4:-2] == ["◀ Previous", "Next ▶"]
    third = await customer.tap("Next ▶")
    assert labels(third.last.buttons) == [
        "Tea 17 · KES 117",
        "Tea 18 · KES 118",
        "Tea 19 · KES 119",
        "Tea 20 · KES 120",
        "Kericho Tea 500g · KES 350",
        "◀ Previous",
        "📂 Categories",
        "🛒 Cart",
    ]
    # A page past the end (a tampered button) changes nothing and shows the shop.
    stale = await customer.tap(message=third.last, data="found.1:9")
    assert stale.notice == "That button is no longer valid."
    assert stale.text == "Mama Mboga Store – choose a category:"


async def test_no_match_asks_the_shops_question_again_and_changes_nothing(server: ShopServer) -> None:
    shop = await server.add_shop()
    await server.start()
    customer = server.person(shop, 7303)
    await customer.send("/start")
    none = await unchanged(server, customer.send("kiwis"))
    assert none.text == (
        "Please choose one of the buttons below, or type its name.\n\nMama Mboga Store – choose a category:"
    )
    assert labels(none.last.buttons) == ["Groceries", "Household", "🛒 Cart"]


async def test_words_at_a_typed_question_are_its_answer_not_a_search(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    await server.start()
    customer = server.person(shop, 7304)
    await customer.send("/start")
    await customer.tap("Household")
    await customer.tap("Bar Soap 800g · KES 120")
    await customer.tap("➕ Add to cart")
    cart = await customer.send("/cart")
    await customer.tap(message=cart.last, data=cart.last.buttons[0][1][1])  # the line's quantity button
    answer = await customer.send("sugar")
    assert answer.text.startswith("Please type a whole number from 1 to 35")


async def order_of(
    database: Database, shop: Shop, person: Person, lines: list[tuple[str, int, int]], status: str = "shipped"
) -> int:
    """An order of ``person``'s (delivered unless ``status`` says): (sku, quantity, unit price then) each line."""
    now = SystemClock().now()
    async with database.uow() as uow:
        customer = await uow.session.scalar(
            select(Customer).where(Customer.tenant_id == shop.tenant_id, Customer.tg_user_id == person.id)
        )
        assert customer is not None
        order = Order(
            tenant_id=shop.tenant_id,
            customer_id=customer.id,
            code="MM-AGAIN1",
            status=status,
            total_minor=sum(q * p for _, q, p in lines),
            currency="KES",
            contact_name="Wanjiru",
            contact_phone="+254712345678",
            delivery_method="pickup",
            created_at=now,
            updated_at=now,
        )
        uow.session.add(order)
        await uow.session.flush()
        for sku, quantity, price in lines:
            product = await uow.session.scalar(
                select(Product).where(Product.tenant_id == shop.tenant_id, Product.sku == sku)
            )
            uow.session.add(
                OrderItem(
                    order_id=order.id,
                    product_id=product.id if product else None,
                    sku=sku,
                    name=product.name if product else "Mandazi (6)",
                    unit_price_minor=price,
                    quantity=quantity,
                )
            )
        await uow.commit()
        return order.id


async def test_order_again_says_what_changed(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    await server.start()
    customer = server.person(shop, 7305)
    await customer.send("/start")
    order_id = await order_of(
        database,
        shop,
        customer,
        [
            ("GRO-RICE-2KG", 2, 40000),  # KES 400 then, 420 today
            ("GRO-SUGAR-1KG", 5, 19000),  # 3 in stock today
            ("HSE-BLEACH-750", 1, 21500),  # sold out today
            ("BAK-MANDAZI-6", 1, 5000),  # no longer sold
            ("GRO-SALT-1KG", 1, 5500),  # as it was
        ],
    )
    orders = await customer.send("/orders")
    assert "🔁 Order MM-AGAIN1 again" in labels(orders.last.buttons)
    again = await customer.tap("🔁 Order MM-AGAIN1 again")
    assert again.messages[0].content == (
        "🔁 Order MM-AGAIN1 is back in your cart, with these changes:\n"
        "• Pishori Rice 2kg: now KES 420 (was KES 400)\n"
        "• Sugar 1kg: only 3 in stock (you had 5)\n"
        "• Bleach 750ml: sold out\n"
        "• Mandazi (6): no longer sold"
    )
    assert again.last.content.startswith("🛒 Your cart:\n• Pishori Rice 2kg × 2 = KES 840\n• Sugar 1kg × 3 = KES 570")
    assert await cart_of(database, customer) == {"Pishori Rice 2kg": 2, "Sugar 1kg": 3, "Salt 1kg": 1}
    # Twice is not double: each line keeps the larger of the cart's quantity and the order's.
    await customer.tap("🔁 Order MM-AGAIN1 again", message=orders.last)
    assert await cart_of(database, customer) == {"Pishori Rice 2kg": 2, "Sugar 1kg": 3, "Salt 1kg": 1}

    # Nothing left to order: said so, and the cart is untouched.
    async with database.uow() as uow:
        await uow.session.execute(update(Product).where(Product.tenant_id == shop.tenant_id).values(active=False))
        await uow.commit()
    nothing = await customer.tap(message=orders.last, data=f"again.1:{order_id}")
    assert nothing.text.startswith("Sorry, nothing from order MM-AGAIN1 can be ordered today:\n• Pishori Rice 2kg: no")


async def test_order_again_refuses_another_customers_order(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    await server.start()
    owner, other = server.person(shop, 7306), server.person(shop, 7307, "Otieno")
    await owner.send("/start")
    order_id = await order_of(database, shop, owner, [("GRO-SALT-1KG", 1, 5500)])
    shown = await other.send("/orders")
    refused = await unchanged(server, other.tap(message=shown.last, data=f"again.1:{order_id}"))
    assert refused.notice == "That button is no longer valid."
    assert refused.messages == []
    assert await cart_of(database, other) == {}


async def test_a_product_is_found_by_its_name_in_another_language(server: ShopServer) -> None:
    catalog = (
        "sku,name,price,category,description,photo_url,stock,name_sw\n"
        "GRO-SUG-1KG,Sugar 1kg,190,Groceries,White sugar.,,,Sukari kilo 1\n"
        "GRO-TEA-500,Tea 500g,350,Groceries,Black tea.,,,Majani ya chai\n"
    )
    shop = await server.add_shop(catalog=catalog)
    await server.start()
    customer = server.person(shop, 7309)
    await customer.send("/start")
    found = await customer.send("sukari")  # the catalog's name_sw
    assert labels(found.last.buttons) == ["Sugar 1kg · KES 190", "📂 Categories", "🛒 Cart"]
    assert labels((await customer.send("majani")).last.buttons)[0] == "Tea 500g · KES 350"
