"""Typing instead of tapping, through the real server: at every step that shows buttons, a button's label (any case,
accents, emoji), its number, or yes/no presses it; other text asks the same question again, with its buttons, and
changes nothing. Also the cart's buttons and quantity bounds, and the help an admin gets (issue 12.6, 12.8)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db.engine import Database
from core.db.tables import CartItem, Customer, Order, Payment, Product
from core.vault import Vault
from tests.integration.test_bad_input import count, step_of, unchanged
from tests.support.app import Person, Replies, ShopServer, order_code, shop_server
from tests.support.mpesa import daraja, mpesa_settings

AGAIN = "Please choose one of the buttons below, or type its name.\n\n"
CATEGORIES = "Mama Mboga Store – choose a category:"
HOUSEHOLD = "Household (page 1 of 1) – tap a product:"
SOAP = "Bar Soap 800g\nKES 120\nMultipurpose laundry bar soap.\n35 in stock"
DELIVERY = [[("🚚 Delivery", "deliv.1:1"), ("🏪 Pickup", "deliv.1:0")]]


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


async def cart_of(database: Database, person: Person) -> dict[str, int]:
    async with database.uow() as uow:
        rows = await uow.session.execute(
            select(Product.name, CartItem.quantity)
            .join(CartItem, CartItem.product_id == Product.id)
            .join(Customer, Customer.id == CartItem.customer_id)
            .where(Customer.tg_user_id == person.id)
        )
        return {name: quantity for name, quantity in rows}


async def asked_again(server: ShopServer, person: Person, typed: str, question: str) -> Replies:
    """Types ``typed``, which chooses nothing: the question comes again as a new message, with the hint and the
    buttons it had, and no table changes."""
    shown = person.find(question)
    again = await unchanged(server, person.send(typed))
    assert again.text == AGAIN + shown.content.removeprefix(AGAIN), typed
    assert again.last.buttons == shown.buttons and again.last.edit_date is None, typed
    return again


def new_message(replies: Replies) -> str:
    """The text of a typed choice's answer, which is always sent as new (a typed message cannot be edited)."""
    assert all(message.edit_date is None for message in replies.messages), replies
    return replies.text


async def test_typing_in_the_shop_and_the_cart(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    await server.start()
    customer = server.person(shop, 7101)
    await customer.send("/start")

    # The categories: nonsense asks again; the label in any case presses it.
    await asked_again(server, customer, "something to eat", CATEGORIES)
    assert new_message(await customer.send("HOUSEHOLD")).startswith(HOUSEHOLD)
    # A page of products: part of a product's label will do.
    await asked_again(server, customer, "do you sell kiwis?", HOUSEHOLD)
    assert new_message(await customer.send("bar soap")) == SOAP
    # A product: its buttons by name; the notice a tap would show comes as a message.
    await asked_again(server, customer, "is it good?", SOAP)
    assert await cart_of(database, customer) == {}
    assert new_message(await customer.send("➕ add to cart")) == "Added Bar Soap 800g to your cart"
    assert await cart_of(database, customer) == {"Bar Soap 800g": 1}
    # The cart: nonsense asks again; a number presses the button with that number (the +, −, ✕ have none).
    cart = new_message(await customer.send("Cart"))
    assert cart == "🛒 Your cart:\n• Bar Soap 800g × 1 = KES 120\nTotal: KES 120"
    await asked_again(server, customer, "how much is delivery", "🛒 Your cart:")
    assert new_message(await customer.send("1")) == (
        "How many Bar Soap 800g would you like? Only 35 in stock: type a number from 1 to 35. "
        "(To take it out of the cart, press ✕ in the cart.)"
    )
    assert "• Bar Soap 800g × 2 = KES 240" in await customer.send("2")
    assert "What name should we put on the order?" in new_message(await customer.send("checkout"))
    assert await step_of(database, shop, customer) == "checkout.name"


async def to_delivery(customer: Person, name: str = "Halima Yusuf", phone: str = "0722 111 222") -> None:
    await customer.send("/start")
    await customer.tap("Household")
    await customer.tap("Bar Soap 800g · KES 120")
    await customer.tap("➕ Add to cart")
    await customer.send("/cart")
    await customer.tap("✅ Checkout")
    await customer.send(name)
    assert "Delivery or pickup?" in await customer.send(phone)


async def test_typing_at_every_checkout_step(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    await server.start()
    customer = server.person(shop, 7102, first_name="Halima")

    # The name: "1" is the suggested name's button (any other text is a name).
    await customer.send("/start")
    await customer.tap("Household")
    await customer.tap("Bar Soap 800g · KES 120")
    await customer.tap("➕ Add to cart")
    await customer.send("/cart")
    asked = await customer.tap("✅ Checkout")
    assert asked.last.buttons == [[("Halima", "usename.1")]]
    assert "Your phone number" in new_message(await customer.send("1"))
    # Delivery or pickup: nonsense asks again; the label in any form presses it.
    assert "Delivery or pickup?" in await customer.send("0722 111 222")
    for nonsense in ["tomorrow", "delivery or pickup", "3", "0", "🚚", "yes"]:
        await asked_again(server, customer, nonsense, "Delivery or pickup?")
    assert await step_of(database, shop, customer) == "checkout.delivery"
    summary = new_message(await customer.send("  PÍCK-UP! "))
    assert summary.startswith("Please check your order:\n• Bar Soap 800g × 1 = KES 120\nTotal: KES 120\nName: Halima\n")
    assert summary.endswith("Delivery: pickup at the shop")
    # The summary: nonsense asks again, and no order is made; "yes" confirms.
    await asked_again(server, customer, "hmm, wait", "Please check your order:")
    assert await count(database, Order) == 0
    placed = new_message(await customer.send("Yes"))
    code = order_code(placed)
    assert placed == f"Order {code} is placed. Amount to pay: KES 120.\nHow would you like to pay?"
    # How to pay: nonsense asks again and starts no payment; part of a method's label chooses it.
    await asked_again(server, customer, "later", "How would you like to pay?")
    await asked_again(server, customer, "cash", "How would you like to pay?")
    assert await count(database, Payment) == 0
    instructions = new_message(await customer.send("pay by hand"))
    assert instructions.startswith(f"To pay KES 120 for order {code}:\nSend the amount to Till 123456 (Mama Mboga)")
    assert await step_of(database, shop, customer) == "pay.proof"
    assert await count(database, Payment) == 1


async def test_typing_numbers_and_no(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    await server.start()
    customer = server.person(shop, 7103)
    await to_delivery(customer)
    assert new_message(await customer.send("1")) == "Where should we deliver? Type the address with a landmark."
    await customer.send("/cancel")
    await to_delivery(customer)  # the cart kept its soap, and gets another
    assert "Delivery: pickup at the shop" in new_message(await customer.send("2"))
    placed = order_code(new_message(await customer.send("confirm")))
    # "1" is the first way to pay.
    assert f"To pay KES 240 for order {placed}:" in new_message(await customer.send("1"))

    # A second order: the phone given last time is a yes away; "no" at the summary cancels, keeping the cart.
    await customer.send("/shop")
    await customer.tap("Household")
    await customer.tap("Bar Soap 800g · KES 120")
    await customer.tap("➕ Add to cart")
    await customer.send("/cart")
    await customer.tap("✅ Checkout")
    await customer.send("Halima Yusuf")
    assert new_message(await customer.send("ok")).startswith("Delivery or pickup?")
    await customer.send("pickup")
    cancelled = new_message(await customer.send("No"))
    assert cancelled.startswith("Okay, stopped. Nothing was lost: your cart is still there.")
    assert await step_of(database, shop, customer) == "idle"
    assert await count(database, Order) == 1
    assert await cart_of(database, customer) == {"Bar Soap 800g": 1}


async def test_typing_a_way_to_pay_and_yes_to_mpesa(server: ShopServer, database: Database) -> None:
    async with daraja() as (sim, daraja_url):
        shop = await server.add_shop(providers=mpesa_settings(daraja_url))
        await server.start()
        customer = server.person(shop, 7106)
        await to_delivery(customer, phone="0708 374 149")
        await customer.send("pickup")
        await customer.send("yes")
        await asked_again(server, customer, "mobile money", "How would you like to pay?")
        proposal = new_message(await customer.send("M-PESA"))
        assert "We will send the payment request to 0708 374 149" in proposal
        assert await count(database, Payment) == 0
        await customer.send("yes")  # the proposed number
        await server.settle()  # the job has pushed,
        await sim.settle()  # Daraja has called back,
        await server.settle()  # and the receipt is in the chat
        assert "Payment received" in customer.messages[-1].content
        async with database.uow() as uow:
            providers = list(await uow.session.scalars(select(Payment.provider)))
        assert providers == ["mpesa"]
        # The payment's own messages follow: the menu is no longer the question, and is not asked again.
        lost = await unchanged(server, customer.send("thanks"))
        assert lost.text.startswith("Sorry, I did not understand that.\n\nMama Mboga Store\n/shop")


TEA_SHOP = """\
sku,name,price,category,description,photo_url,stock
GRO-TEA-250,Kenyan Black Tea 250g,160,Groceries,Loose black tea leaves.,,57
HSE-MATCH-10,Matchboxes (10 pack),50,Groceries,Ten boxes of safety matches.,,
"""


async def test_cart_buttons_keep_names_and_quantities_apart(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop(catalog=TEA_SHOP)
    await server.start()
    customer = server.person(shop, 7104)
    await customer.send("/start")
    await customer.tap("Groceries")
    await customer.tap("Kenyan Black Tea 250g · KES 160")
    await customer.tap("➕ Add to cart")
    await customer.tap("◀ Back")
    await customer.tap("Matchboxes (10 pack) · KES 50")
    await customer.tap("➕ Add to cart")
    cart = (await customer.send("/cart")).last
    assert [[text for text, _ in row] for row in cart.buttons] == [
        ["−", "Kenyan Black Tea… · 1 × KES 160", "+", "✕"],
        ["−", "Matchboxes… · 1 × KES 50", "+", "✕"],
        ["✅ Checkout"],
        ["🛍 Shop"],
    ]
    # The bound is the stock when there is less of it than one line may hold, and the question says so.
    asked = await customer.tap("Kenyan Black Tea… · 1 × KES 160")
    assert asked.text == (
        "How many Kenyan Black Tea 250g would you like? Only 57 in stock: type a number from 1 to 57. "
        "(To take it out of the cart, press ✕ in the cart.)"
    )
    assert "Sorry, only 57 left in stock." in await unchanged(server, customer.send("58"))
    refused = await unchanged(server, customer.send("lots"))
    assert refused.text == (
        "Please type a whole number from 1 to 57 (only 57 in stock), for example 2. "
        "To take it out of the cart, press ✕."
    )
    assert "• Kenyan Black Tea 250g × 57 = KES 9,120" in await customer.send("57")
    # Without a stock count, the most one line may hold.
    asked = await customer.send("matchboxes")
    assert asked.text == (
        "How many Matchboxes (10 pack) would you like? Up to 99 of one product: type a number from 1 to 99. "
        "(To take it out of the cart, press ✕ in the cart.)"
    )
    assert "You can order at most 99 of one product." in await unchanged(server, customer.send("100"))
    assert await cart_of(database, customer) == {"Kenyan Black Tea 250g": 57, "Matchboxes (10 pack)": 1}


ADMIN_HELP = "Shop admin:\n/admin – the menu: what needs you, and buttons for everything\n"


async def test_an_admin_who_is_not_understood_gets_the_merchant_help(server: ShopServer) -> None:
    shop = await server.add_shop(admins=(9001,))
    await server.start()
    merchant = server.person(shop, 9001, "Mama")
    customer = server.person(shop, 7105)

    assert (await merchant.send("/help")).text.startswith(ADMIN_HELP)
    lost = await unchanged(server, merchant.send("pending proofs?"))
    assert lost.text.startswith(f"Sorry, I did not understand that.\n\n{ADMIN_HELP}")
    assert lost.text.endswith(
        "Mama Mboga Store\n/shop – browse products\n/cart – your cart\n"
        "/orders – your orders and their status\n/cancel – leave what you are doing\n/language – change the language"
        "\n/stop – no more offers (/start to get them again)"
    )
    # At the shop's menus too: a merchant typing there more likely meant a command.
    await merchant.send("/start")
    assert (await unchanged(server, merchant.send("sales"))).text.startswith(
        f"Sorry, I did not understand that.\n\n{ADMIN_HELP}"
    )
    unknown = await unchanged(server, merchant.send("/sale"))
    assert unknown.text.startswith(f"Unknown command /sale.\n\n{ADMIN_HELP}")
    # A customer still gets the customer's help, and the question at the menus.
    await customer.send("/help")
    assert (await unchanged(server, customer.send("pending proofs?"))).text == (
        "Sorry, I did not understand that.\n\nMama Mboga Store\n/shop – browse products\n/cart – your cart\n"
        "/orders – your orders and their status\n/cancel – leave what you are doing\n/language – change the language"
        "\n/stop – no more offers (/start to get them again)"
    )
