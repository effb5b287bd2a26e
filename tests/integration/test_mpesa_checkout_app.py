"""The M-Pesa happy path end to end: the real server (``tests.support.app``), the fake Telegram Bot API, and the
Daraja simulator as a real server calling the real callback route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.db.engine import Database
from core.vault import Vault
from sandbox.mpesa.models import HOLD
from tests.support.app import Person, ShopServer, place_order, shop_server
from tests.support.mpesa import daraja, mpesa_settings

PHONE = "254708374149"  # 0708 374 149, the sandbox test number


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


async def test_a_customer_pays_by_mpesa_through_the_real_app(server: ShopServer, database: Database) -> None:
    async with daraja() as (sim, daraja_url):
        shop = await server.add_shop(providers=mpesa_settings(daraja_url))
        await server.start()
        merchant = server.person(shop, 9001, "Mama")
        customer = server.person(shop, 5001, "Wanjiru")
        await merchant.send("/start")
        await customer.send("/start")
        await customer.tap("Groceries")
        await customer.tap("Pishori Rice 2kg · KES 420")
        await customer.tap("➕ Add to cart")
        await customer.send("/cart")
        await customer.tap("✅ Checkout")
        await customer.send("Wanjiru Kamau")
        await customer.send("0708 374 149")
        await customer.tap("🏪 Pickup")
        placed = await customer.tap("✅ Confirm order")
        assert "📱 M-Pesa" in [text for row in placed.last.buttons for text, _ in row]
        proposal = await customer.tap("📱 M-Pesa")
        assert "We will send the payment request to 0708 374 149" in proposal
        wrong = await customer.send("0733 123 456")
        assert "0733 123 456 is on the Airtel network. M-Pesa works with Safaricom lines only" in wrong
        await customer.tap("✅ Yes, send to 0708 374 149")
        await server.settle()  # the payment job has pushed (the push is no longer part of the tap)
        await sim.settle()  # and the simulator's callback has been answered
        await server.settle()
        (txn,) = sim.transactions.values()
        assert txn.callback is not None and txn.callback.status == 200
        assert customer.count("Sending the M-Pesa payment prompt to 0708 374 149") == 0  # edited into the answer
        receipt = customer.find("Payment received")
        assert f"M-Pesa receipt: {txn.receipt}" in receipt.content and "Amount: KES 420" in receipt.content
        assert merchant.count("is paid: KES 420 by M-Pesa") == 1
        orders = await customer.send("/orders")
        assert "paid" in orders.text


async def _mpesa_shop(server: ShopServer, database: Database, daraja_url: str) -> Person:
    """A shop with M-Pesa (and its merchant), served; its customer, with a placed order of KES 420."""
    shop = await server.add_shop(providers=mpesa_settings(daraja_url))
    await server.start()
    await server.person(shop, 9001, "Mama").send("/start")
    customer = server.person(shop, 5001, "Wanjiru")
    await place_order(customer, phone="0708 374 149")
    return customer


@pytest.mark.parametrize(
    ("result", "shown"),
    [(0, "✅ Payment received"), (1032, "❌ The M-Pesa payment for order")],
    ids=["paid", "cancelled"],
)
async def test_the_answer_takes_the_place_of_the_request_on_the_phone(
    server: ShopServer, database: Database, result: int, shown: str
) -> None:
    async with daraja() as (sim, daraja_url):
        sim.set_outcome(PHONE, HOLD)  # the customer has the request on the phone and has not answered yet
        customer = await _mpesa_shop(server, database, daraja_url)
        await customer.tap("📱 M-Pesa")
        await customer.tap("✅ Yes, send to 0708 374 149")
        await server.settle()
        waiting = customer.find("The M-Pesa request for KES 420")
        assert "Enter your M-Pesa PIN to pay" in waiting.content

        (txn,) = sim.transactions.values()
        await sim.complete(txn.checkout_request_id, result)
        await sim.settle()
        await server.settle()

        answer = customer.find(shown)
        assert answer.message_id == waiting.message_id and answer.edit_date is not None  # the same message, edited
        assert customer.count("The M-Pesa request for KES 420") == 0  # no stale "enter your PIN" left in the chat
        assert customer.count(shown) == 1
        if result == 0:
            assert f"M-Pesa receipt: {txn.receipt}" in answer.content
            assert [[label for label, _ in row] for row in answer.buttons] == [["📄 Receipt (PDF)"]]
        else:
            # Daraja's pause is on: said, and "Try again" comes onto this message when it ends.
            assert "🔁 Try again will appear on this message in" in answer.content
            assert [text for row in answer.buttons for text, _ in row] == ["💳 Other ways to pay"]
        assert not server.errors.messages()
