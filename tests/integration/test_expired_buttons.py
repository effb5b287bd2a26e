"""Buttons sent before an upgrade, pressed after it (through the real server and the fake Telegram): the callback
data of the hand-written form (``inc:7``, ``mo:12``) is answered "that button has expired" with where things stand
now, and no row changes. Today's buttons of another version get the same answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db.engine import Database
from core.db.tables import CartItem, Order, Product, Proof
from core.texts import text
from core.vault import Vault
from tests.integration.test_bad_input import unchanged
from tests.support.app import Shop, ShopServer, place_order, send_proof, shop_server

EXPIRED = "That button has expired (the bot was updated). Here is where things stand now."
EXPIRED_NOTE = "That button has expired (the bot was updated). Please ask again."


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


@pytest.fixture
async def shop(server: ShopServer) -> Shop:
    shop = await server.add_shop()
    await server.start()
    return shop


def test_the_wording_is_the_catalogs() -> None:
    assert text("callbacks.expired") == EXPIRED and text("callbacks.expired_note") == EXPIRED_NOTE


@pytest.mark.every_channel
async def test_a_customers_old_buttons_show_the_cart_the_shop_and_the_orders(
    server: ShopServer, shop: Shop, database: Database
) -> None:
    customer = server.person(shop, 6101, "Amina")
    code = await place_order(customer)
    await customer.send("/shop")
    await customer.tap("Groceries")
    await customer.tap("Pishori Rice 2kg · KES 420")
    await customer.tap("➕ Add to cart")
    async with database.uow() as uow:
        rice = await uow.session.scalar(select(Product.id).where(Product.name == "Pishori Rice 2kg"))
        order_id = await uow.session.scalar(select(Order.id).where(Order.code == code))
    cart, shop_now = (await customer.send("/cart")).text, (await customer.send("/shop")).text
    orders = (await customer.send("/orders")).text
    pressed_on = customer.messages[-1]

    more = await unchanged(server, customer.tap(message=pressed_on, data=f"inc:{rice}"))  # "+" on a cart line
    assert more.notice == EXPIRED and more.text == cart
    browse = await unchanged(server, customer.tap(message=pressed_on, data="cat:0:0"))
    assert browse.notice == EXPIRED and browse.text == shop_now
    pay_again = await unchanged(server, customer.tap(message=pressed_on, data=f"retry:{order_id}"))
    assert pay_again.notice == EXPIRED and pay_again.text == orders
    # Another version of today's form is as old; a typed button of today still works after them.
    older = await unchanged(server, customer.tap(message=pressed_on, data=f"add.0:{rice}"))
    assert older.notice == EXPIRED and older.text == cart
    async with database.uow() as uow:
        assert await uow.session.scalar(select(CartItem.quantity).where(CartItem.product_id == rice)) == 1
    today = await customer.tap(message=pressed_on, data=f"inc.1:{rice}")
    assert today.notice is None and "• Pishori Rice 2kg × 2 = KES 840" in today.text
    async with database.uow() as uow:
        assert await uow.session.scalar(select(CartItem.quantity).where(CartItem.product_id == rice)) == 2


async def test_a_merchants_old_buttons_show_the_order_card_and_the_proofs(
    server: ShopServer, shop: Shop, database: Database
) -> None:
    merchant, customer = server.person(shop, 9001), server.person(shop, 6102, "Chebet")
    await merchant.send("/start")
    code = await place_order(customer, name="Chebet Kirui")
    await send_proof(customer, "CHB2222222")
    await server.settle()
    async with database.uow() as uow:
        order_id = await uow.session.scalar(select(Order.id).where(Order.code == code))
        proof_id = await uow.session.scalar(select(Proof.id))
    card, listing = (await merchant.send(f"/order {code}")).text, await merchant.send_settled("/pending")
    pressed_on = merchant.messages[-1]

    view = await unchanged(server, merchant.tap(message=pressed_on, data=f"mo:{order_id}"))
    assert view.notice == EXPIRED and view.text == card
    ship = await unchanged(server, merchant.tap(message=pressed_on, data=f"sh:{order_id}"))  # never shipped by it
    assert ship.notice == EXPIRED and ship.text == card
    # An old Approve (never approved by it) lists the proofs waiting again, through the outbox like /pending (copies
    # their decision will edit): that is all it changes.
    await server.settle()
    before = await server.snapshot(skip=("processed_updates", "outbox"))
    approve = await merchant.tap(message=pressed_on, data=f"ap:{proof_id}")
    await server.settle()
    assert await server.snapshot(skip=("processed_updates", "outbox")) == before
    assert approve.notice == EXPIRED_NOTE and approve.messages == []
    listed_again = merchant.messages[-len(listing.messages) :]
    assert [m.content for m in listed_again] == [m.content for m in listing.messages]
    assert [m.buttons for m in listed_again] == [m.buttons for m in listing.messages]
    confirm = await unchanged(server, merchant.tap(message=pressed_on, data="rfy:1"))  # a refund question: ask again
    assert confirm.notice == EXPIRED_NOTE and confirm.messages == []
    # An old merchant's button from a customer is still the merchant's: refused as such (and audited).
    refused = await customer.tap(message=customer.messages[-1], data=f"mo:{order_id}")
    assert refused.notice == "This command is for the shop's admins."
