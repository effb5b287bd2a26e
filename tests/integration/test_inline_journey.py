"""Inline mode through the real server: ``@mama_mboga_bot sukuma`` typed in any chat lists the shop's active products in
the asker's language, a page at a time, each with a button that opens it in the shop (``/start p_<id>``); the link
opens the product's card, and a link to a product the shop does not sell now says so and changes nothing. Typed
search shows the reader's name variant too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db.engine import Database
from core.db.tables import Customer, Product
from core.vault import Vault
from sandbox.telegram.inline import InlineAsked
from tests.support.app import FUNDI_CATALOG, Shop, ShopServer, shop_server

# Twenty-six products, one hidden: a page of twenty, then five. Kale is "Sukuma wiki" to a Swahili reader.
CATALOG = "sku,name,price,category,description,photo_url,stock,name_sw\n" + "".join(
    [
        "VEG-KALE,Kale bunch,30,Vegetables,Fresh kale from Limuru.,,,Sukuma wiki\n",
        "VEG-SPINACH,Spinach bunch,40,Vegetables,Fresh spinach.,,,Mchicha\n",
        "VEG-OLD,Sukuma seedlings,15,Vegetables,No longer sold.,,,Miche ya sukuma\n",
    ]
    + [f"GRO-{n:02d},Grocery item {n:02d},{100 + n},Groceries,Item {n}.,,,\n" for n in range(1, 24)]
)


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


async def product_ids(database: Database, shop: Shop) -> dict[str, int]:
    async with database.uow() as uow:
        rows = await uow.session.execute(select(Product.sku, Product.id).where(Product.tenant_id == shop.tenant_id))
        return {sku: product_id for sku, product_id in rows}


async def hide(database: Database, shop: Shop, sku: str) -> None:
    async with database.uow() as uow:
        product = await uow.session.scalar(
            select(Product).where(Product.tenant_id == shop.tenant_id, Product.sku == sku)
        )
        assert product is not None and product.active is True
        product.active = False
        await uow.commit()


async def customers(database: Database, shop: Shop) -> int:
    async with database.uow() as uow:
        count = await uow.session.scalar(select(func.count()).where(Customer.tenant_id == shop.tenant_id))
    return int(count or 0)


def titles(asked: InlineAsked) -> list[str]:
    return [result.title for result in asked.results]


@pytest.mark.every_channel
async def test_inline_results_are_the_askers_language_page_by_page_and_open_the_product(
    server: ShopServer, database: Database
) -> None:
    shop = await server.add_shop(catalog=CATALOG)
    await hide(database, shop, "VEG-OLD")
    await server.start()
    ids = await product_ids(database, shop)
    neema = server.person(shop, 5101, "Neema", language_code="sw")  # not a customer yet: her app speaks Swahili
    john = server.person(shop, 5102, "John", language_code="en")

    found = await neema.user.ask_inline("sukuma")
    # Found by its Swahili name, shown in it; the hidden seedlings match the word and are never listed.
    assert titles(found) == ["Sukuma wiki"]
    [kale] = found.results
    assert (kale.id, kale.description) == (str(ids["VEG-KALE"]), "Ksh\xa030 · Vegetables")
    assert kale.text == "Sukuma wiki · Ksh\xa030\nKatika Mama Mboga Store"
    link = f"https://t.me/mama_mboga_bot?start=p_{ids['VEG-KALE']}"
    assert [[(b.text, b.url) for b in row] for row in kale.buttons] == [[("🛒 Fungua katika Mama Mboga Store", link)]]
    assert (found.next_offset, found.is_personal) == ("", True)
    assert titles(await john.user.ask_inline("sukuma")) == ["Kale bunch"]

    # No words yet: the catalog from its start, twenty at a time; the chat sends next_offset back for more.
    first = await john.user.ask_inline("")
    assert len(first.results) == 20 and first.next_offset == "20"
    rest = await john.user.ask_inline("", first.next_offset)
    assert (len(rest.results), rest.next_offset) == (5, "")
    listed = titles(first) + titles(rest)
    assert len(set(listed)) == 25 and "Sukuma seedlings" not in listed and "Kale bunch" in listed
    assert await customers(database, shop) == 0  # asking made nobody a customer

    # The friend opens the shared product: its card, in their language.
    opened = await john.send(f"/start p_{ids['VEG-KALE']}")
    assert "Kale bunch\nKES 30\nFresh kale from Limuru." in opened.last.content
    assert "➕ Add to cart" in [text for row in opened.last.buttons for text, _ in row]


async def test_a_chosen_language_and_typed_search_show_the_readers_name(server: ShopServer) -> None:
    shop = await server.add_shop(catalog=CATALOG)
    await server.start()
    amani = server.person(shop, 5103, "Amani", language_code="en")  # an English app, Swahili chosen in the shop
    await amani.send("/language sw")

    assert titles(await amani.user.ask_inline("kale")) == ["Sukuma wiki"]  # the customer's language, not the app's
    searched = await amani.send("sukuma")
    assert [text for row in searched.last.buttons for text, _ in row][:1] == ["Sukuma wiki · Ksh\xa030"]


async def test_hostile_queries_and_links_get_a_clear_answer_and_change_nothing(
    server: ShopServer, database: Database
) -> None:
    shop = await server.add_shop(catalog=CATALOG)
    fundi = await server.add_shop("fundi-electronics", "Fundi Electronics", admins=[9101], catalog=FUNDI_CATALOG)
    await hide(database, shop, "VEG-OLD")
    await server.start()
    ids, fundi_ids = await product_ids(database, shop), await product_ids(database, fundi)
    mallory = server.person(shop, 5104, "Mallory")

    huge = await mallory.user.ask_inline("", query="sukuma " * 2000)  # no app sends more than 256 characters
    assert titles(huge) == ["Kale bunch"]
    for forged in ("abc", "-20", "9" * 64, "20; DROP TABLE products"):
        refused = await mallory.user.ask_inline("", forged)
        assert (refused.results, refused.next_offset) == ([], "")
    beyond = await mallory.user.ask_inline("", "400")
    assert (beyond.results, beyond.next_offset) == ([], "")
    assert await customers(database, shop) == 0

    await mallory.send("/start")
    for payload in (f"p_{ids['VEG-OLD']}", f"p_{fundi_ids['ACC-USBC-1M']}", "p_abc", "p_" + "9" * 40, "p_"):
        answer = await mallory.send(f"/start {payload}")
        assert "That product is not in the shop now. Here is what there is:" in answer
        assert answer.last.content == "Mama Mboga Store – choose a category:"
    async with database.uow() as uow:
        still_hidden = await uow.session.scalar(select(Product.active).where(Product.id == ids["VEG-OLD"]))
    assert still_hidden is False
