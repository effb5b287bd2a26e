"""What an M-Pesa customer sees around the push itself (issue 12.3, 12.7, 12.8): a price with cents is explained,
never hidden; Daraja's pause belongs to the phone, not the customer; the receipt is in the shop's own time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Tenant
from core.vault import Vault
from sandbox.mpesa.models import HOLD
from sandbox.mpesa.server import SimulatorServer
from sandbox.mpesa.simulator import SANDBOX_PASSKEY, DarajaSimulator
from tests.integration.test_mpesa_checkout_kit import PHONE, Rig, labels, mpesa_rig, texts
from tests.support.app import ShopServer, order_code, place_order, shop_server

CENTS_CATALOG = """\
sku,name,price,category,description,photo_url,stock
TEA-250,Kenyan Black Tea 250g,199.50,Groceries,Loose black tea.,,
"""
MPESA = (
    {"consumer_key": "app-key", "consumer_secret": "app-secret", "passkey": SANDBOX_PASSKEY},
    {"shortcode": "174379", "base_url": "http://127.0.0.1:9", "ip_allowlist": "127.0.0.1"},
)


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Rig]:
    async with mpesa_rig(database, vault, clock, tmp_path) as running:
        await running.seed()
        yield running


async def test_a_total_with_cents_says_why_mpesa_is_not_offered(server: ShopServer) -> None:
    shop = await server.add_shop(catalog=CENTS_CATALOG, providers={"mpesa": MPESA})
    await server.start()
    customer = server.person(shop, 5001, "Wanjiru")
    await customer.send("/start")
    await customer.tap("Groceries")
    await customer.tap("Kenyan Black Tea 250g · KES 199.50")
    await customer.tap("➕ Add to cart")
    await customer.send("/cart")
    await customer.tap("✅ Checkout")
    await customer.send("Wanjiru Kamau")
    await customer.send("0712 345 678")
    await customer.tap("🏪 Pickup")
    placed = await customer.tap("✅ Confirm order")

    code = order_code(placed.text)
    assert placed.text == (
        f"Order {code} is placed. Amount to pay: KES 199.50.\n"
        "M-Pesa is not offered for this order: M-Pesa takes whole shillings only, and KES 199.50 has cents.\n"
        "How would you like to pay?"
    )
    assert [text for row in placed.last.buttons for text, _ in row] == [
        "💵 Pay by hand and upload proof",
        "✖ Cancel order",
    ]


async def test_the_pause_belongs_to_the_phone_not_the_customer(rig: Rig) -> None:
    rig.sim.set_outcome(PHONE, 2001)  # wrong PIN
    await rig.checkout()
    await rig.settle()
    order = await rig.order()

    # The same phone is refused until Daraja's minute is over, and the answer names it.
    same = await rig.tap(f"mpretry.1:{order.id}")
    assert texts(same) == (
        "M-Pesa allows a new request to 0708 374 149 only a short pause after the last one. "
        "Please try again in 60 s (at 12:01 EAT)."
    )
    # Another number of the same customer gets its push at once.
    rig.sim.set_outcome("254712345678", HOLD)
    other = await rig.tap(f"mpphone.1:{order.id}")
    assert texts(other) == "Type the Safaricom number that should get the M-Pesa request, for example 0712 345 678."
    sent = await rig.say("0712345678")
    assert f"Sending the M-Pesa payment prompt to 0712 345 678 for KES 420 (order {order.code})" in texts(sent)
    assert texts(sent).endswith(
        f"📲 The M-Pesa request for KES 420 (order {order.code}) is on your phone 0712 345 678. "
        "Enter your M-Pesa PIN to pay."
    )
    assert [txn.phone for txn in rig.sim.transactions.values()] == [PHONE, "254712345678"]
    assert labels(sent.messages[-1]) == ["🔄 Check status"]


async def test_the_receipt_shows_the_shops_own_time(rig: Rig) -> None:
    async with rig.database.uow() as uow:
        tenant = await uow.session.get(Tenant, rig.tenant_id)
        assert tenant is not None
        tenant.timezone = "Africa/Lagos"
        await uow.commit()
    await rig.checkout()
    await rig.settle()
    receipt = (await rig.to_customer())[-1].text
    assert receipt.endswith("Time: 15 Jan 2026, 10:00 WAT")  # 09:00 UTC


@pytest.mark.every_channel
async def test_one_message_per_push_edited_into_its_receipt(server: ShopServer, database: Database) -> None:
    sim = DarajaSimulator(seed=3)
    sim.add_app("app-key", "app-secret")
    sim.set_outcome(PHONE, HOLD)  # the request is on the phone, the PIN not entered yet
    async with SimulatorServer(sim) as daraja:
        secrets, options = MPESA
        shop = await server.add_shop(providers={"mpesa": (secrets, {**options, "base_url": daraja.url})})
        await server.start()
        customer = server.person(shop, 5001, "Wanjiru")
        code = await place_order(customer, phone="0708 374 149")
        await customer.tap("📱 M-Pesa")
        await customer.tap("✅ Yes, send to 0708 374 149")
        await server.settle()
        push = customer.find("📲")
        assert push.content == (
            f"📲 The M-Pesa request for KES 420 (order {code}) is on your phone 0708 374 149. "
            "Enter your M-Pesa PIN to pay."
        )

        # Asked again from the payment menu, or "Check status": no second "📲" message in the chat.
        again = await customer.tap("📱 M-Pesa")
        assert again.messages == [] and again.notice == (
            f"The M-Pesa request for order {code} is still on your phone 0708 374 149: "
            "enter your PIN there, or wait for its result."
        )
        status = await customer.tap("🔄 Check status")
        assert [m.message_id for m in status.messages] == [push.message_id]
        assert status.last.content.endswith("Status: ⏳ waiting for your PIN…")

        (txn,) = sim.transactions.values()
        await sim.complete(txn.checkout_request_id, 0)
        await sim.settle()
        await server.settle()
        receipt = customer.find("Payment received")
        assert receipt.message_id == push.message_id  # the push's one message, edited into its receipt
        assert customer.count("📲") == 0 and customer.count("Enter your M-Pesa PIN") == 0
        assert f"M-Pesa receipt: {txn.receipt}" in receipt.content
