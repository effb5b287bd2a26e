"""“Talk to the shop” through the real server (issue 21): the customer's words and photos reach the admins with a
Reply button, the admin's reply reaches the customer through the bot, the shop's menus stay quiet meanwhile, and the
talk ends by the admin's End or after 24 hours (the server's clock moved). Refusals: a customer pressing the admin's
buttons, an admin answering a talk that is over; every message is kept in the order's history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.db.engine import Database
from core.vault import Vault
from tests.integration.test_bad_input import unchanged
from tests.integration.test_find_and_reorder import order_of
from tests.support.app import FUNDI_CATALOG, Person, Shop, ShopServer, shop_server
from tests.support.clocks import MovableClock

STARTED = (
    "💬 You are talking to Mama Mboga Store. Type your message or send a photo: the shop's people will answer here. "
    "The shop's menus stay quiet until they end the talk (or after 24 hours)."
)


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        running.clock = MovableClock()
        yield running


async def talking(server: ShopServer, shop: Shop, customer_id: int, name: str) -> tuple[Person, Person]:
    """The shop's admin and a customer who pressed Talk to the shop (the server started)."""
    merchant = server.person(shop, 9001, "Mama")
    await merchant.send("/start")
    customer = server.person(shop, customer_id, name)
    await customer.send("/help")
    assert (await customer.tap("💬 Talk to the shop")).text == STARTED
    return merchant, customer


async def test_a_talk_both_ways_until_the_admin_ends_it(server: ShopServer) -> None:
    shop = await server.add_shop()
    await server.start()
    merchant = server.person(shop, 9001, "Mama")
    await merchant.send("/start")
    customer = server.person(shop, 7401, "Wanjiru")
    await customer.send("/start")

    help_ = await customer.send("/help")
    assert [text for row in help_.last.buttons for text, _ in row][-3:] == [
        "💬 Talk to the shop",
        "📦 My orders",
        "🌐 Language",
    ]
    started = await customer.tap("💬 Talk to the shop")
    assert started.text == STARTED

    # The customer's words go to the admin, and the bot says nothing back (not even a search for "rice").
    quiet = await customer.send("Is the rice fresh?")
    assert quiet.messages == []
    await server.settle()
    asked = merchant.find("💬 Wanjiru (7401) writes")
    assert asked.content == "💬 Wanjiru (7401) writes – no open order:\nIs the rice fresh?"
    assert [text for row in asked.buttons for text, _ in row] == ["↩️ Reply", "✔ End the talk"]
    await customer.photo(caption="this one")
    await server.settle()
    assert merchant.find("this one").content == "💬 Wanjiru (7401) writes – no open order:\nthis one"

    # A customer pressing the admin's Reply button is refused.
    refused = await customer.tap(message=customer.messages[-1], data=asked.buttons[0][0][1])
    assert refused.notice == "This command is for the shop's admins."

    # The admin replies: the button, then the next message, which reaches the customer through the bot.
    prompt = await merchant.tap("↩️ Reply", message=asked)
    assert prompt.text == (
        "Type your reply to Wanjiru (text, a photo or a document). It goes to them from the shop's bot."
    )
    sent = await merchant.send("Yes, picked this morning.")
    assert sent.text == "↩️ Sent to Wanjiru."
    await server.settle()
    assert customer.messages[-1].content == "💬 Mama Mboga Store:\nYes, picked this morning."

    # The admin ends it: the customer is told, and the shop answers typed words again.
    ended = await merchant.tap("✔ End the talk", message=asked)
    assert ended.text == "✔ The talk with Wanjiru is over; the shop's menus answer them again."
    await server.settle()
    assert customer.messages[-1].content == "✔ Mama Mboga Store ended the talk. Type /shop to browse, or /help."
    found = await customer.send("rice")
    assert found.text == "🔎 1 found for “rice” (page 1 of 1) – tap a product:"

    # Replying to a talk that is over sends nothing.
    late = await unchanged(server, merchant.tap("↩️ Reply", message=asked))
    assert late.text == "This talk is over (ended, or more than 24 hours old). Nothing was sent."


async def test_a_talk_ends_by_itself_after_24_hours(server: ShopServer) -> None:
    shop = await server.add_shop()
    await server.start()
    merchant, customer = await talking(server, shop, 7402, "Otieno")
    assert (await customer.send("hello")).messages == []
    await server.settle()
    asked = merchant.find("💬 Otieno (7402) writes")
    await merchant.tap("↩️ Reply", message=asked)

    assert isinstance(server.clock, MovableClock)
    server.clock.advance(hours=24, seconds=1)
    late = await merchant.send("Sorry for the wait")
    assert late.text == "This talk is over (ended, or more than 24 hours old). Nothing was sent."
    back = await customer.send("sugar")  # the shop answers again
    assert back.text == "🔎 1 found for “sugar” (page 1 of 1) – tap a product:"


async def test_the_talk_is_kept_in_the_open_orders_history(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    await server.start()
    placed = server.person(shop, 7403, "Akinyi")
    await placed.send("/start")
    await order_of(database, shop, placed, [("GRO-SALT-1KG", 1, 5500)], status="paid")
    merchant, customer = await talking(server, shop, 7403, "Akinyi")
    await customer.send("Is my salt on the way?")
    await server.settle()
    asked = merchant.find("💬 Akinyi (7403) writes")
    assert asked.content == "💬 Akinyi (7403) writes – order MM-AGAIN1, paid:\nIs my salt on the way?"
    await merchant.tap("↩️ Reply", message=asked)
    await merchant.send("Leaving now.")
    await server.settle()
    card = await merchant.send("/order MM-AGAIN1")
    said = [line.split(" EAT ", 1)[1] for line in card.text.split("\n") if " EAT Message " in line]
    assert said == [
        "Message sent to the shop: “💬 Akinyi (7403) writes – order MM-AGAIN1, paid: Is my salt…”",
        "Message sent to the customer: “💬 Mama Mboga Store: Leaving now.”",
    ]


async def test_another_shops_talk_and_input_a_talk_does_not_take(server: ShopServer) -> None:
    mama = await server.add_shop()
    fundi = await server.add_shop("fundi-phones", "Fundi Phones", catalog=FUNDI_CATALOG, instructions=None)
    await server.start()
    at_mama, customer = await talking(server, mama, 7404, "Njeri")
    at_fundi = server.person(fundi, 9001, "Mama")
    await at_fundi.send("/start")

    # A sticker is not passed on: the customer is told what is.
    sticker = await unchanged(server, customer.sticker())
    assert sticker.text == "Please type a message or send a photo or a document."
    await customer.send("Hello")
    await server.settle()
    asked = at_mama.find("💬 Njeri (7404) writes")

    # Mama's Reply button pressed in Fundi's chat (the same admin runs both) finds no talk there.
    foreign = await unchanged(server, at_fundi.tap(message=at_fundi.messages[-1], data=asked.buttons[0][0][1]))
    assert foreign.text == "This talk is over (ended, or more than 24 hours old). Nothing was sent."
    foreign_end = await unchanged(server, at_fundi.tap(message=at_fundi.messages[-1], data=asked.buttons[0][1][1]))
    assert foreign_end.text == "This talk is over (ended, or more than 24 hours old). Nothing was sent."
