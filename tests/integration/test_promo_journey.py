"""Promo codes through the real server, on both databases: the merchant makes and runs them from the chat, the
customer applies one at checkout (typed, or from a ``/start promo_CODE`` link), and the discount is on the summary,
the order, the amount to pay, the receipt and /sales. Every refusal says why and changes nothing; a cancelled order
or an ended payment gives its use back once, and a new attempt takes it again (or loses the discount)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core.clock import SystemClock
from core.db.engine import Database
from core.db.tables import Order, Payment, PromoCode, PromoRedemption
from core.vault import Vault
from payments.base import Outcome, ProviderEvent
from payments.service import EventResult, apply_event
from tests.support.app import FUNDI_CATALOG, FUNDI_INSTRUCTIONS, Person, Shop, ShopServer, order_code, shop_server

RICE = "Pishori Rice 2kg · KES 420"
PICKUP = "Name: Wanjiru Kamau\nPhone: 0712 345 678\nDelivery: pickup at the shop"
TEA_SUMMARY = "Please check your order:\n• Kericho Tea 500g × 1 = KES 350\nTotal: KES 350\n"


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


async def to_summary(person: Person, *, product: str = RICE, category: str = "Groceries", taps: int = 1) -> str:
    await person.send("/start")
    await person.tap(category)
    await person.tap(product)
    for _ in range(taps):
        await person.tap("➕ Add to cart")
    await person.send("/cart")
    await person.tap("✅ Checkout")
    await person.send("Wanjiru Kamau")
    await person.send("0712 345 678")
    return (await person.tap("🏪 Pickup")).text


async def shop_with(server: ShopServer, command: str) -> Shop:
    """A started shop whose merchant made a code with ``command``."""
    shop = await server.add_shop()
    await server.start()
    merchant = server.person(shop, 9001, "Mama")
    await merchant.send("/start")
    assert "Promo code created" in await merchant.send(command)
    return shop


async def code_row(database: Database, tenant_id: int, code: str) -> PromoCode:
    async with database.uow() as uow:
        row = await uow.session.scalar(
            select(PromoCode).where(PromoCode.tenant_id == tenant_id, PromoCode.code == code)
        )
    assert row is not None
    return row


async def order_row(database: Database, code: str) -> Order:
    async with database.uow() as uow:
        row = await uow.session.scalar(select(Order).where(Order.code == code))
    assert row is not None
    return row


async def test_a_code_made_in_the_chat_takes_its_discount_from_summary_to_receipt_and_sales(
    server: ShopServer, database: Database
) -> None:
    shop = await server.add_shop()
    await server.start()
    merchant = server.person(shop, 9001, "Mama")
    customer = server.person(shop, 5001, "Wanjiru")
    await merchant.send("/start")

    made = await merchant.send("/promo add Karibu10 10% min=300 uses=5 per=1")
    assert made.text.startswith("Promo code created: KARIBU10 · 10% · active · 0/5 used · min KES 300 · 1 per customer")

    summary = await to_summary(customer, taps=3)
    assert summary.endswith(f"🏷 Have a promo code? Type it here.\n{PICKUP}")
    # Typed in any case; 10 % of KES 1,260 is KES 126.
    applied = await customer.send("karibu10")
    assert applied.messages[0].content == "🏷 Code KARIBU10 applied: −KES 126."
    assert applied.last.content == (
        "Please check your order:\n• Pishori Rice 2kg × 3 = KES 1,260\nTotal: KES 1,260\n"
        f"Promo KARIBU10: −KES 126\nTo pay: KES 1,134\n{PICKUP}"
    )
    placed = await customer.tap("✅ Confirm order")
    code = order_code(placed.text)
    assert placed.text.startswith(f"Order {code} is placed. Amount to pay: KES 1,134.")
    order = await order_row(database, code)
    assert (order.total_minor, order.discount_minor, order.promo_code) == (113_400, 12_600, "KARIBU10")
    assert (await code_row(database, shop.tenant_id, "KARIBU10")).uses == 1

    # The discount was fixed when the order was placed: the payment is for the order's total after it.
    instructions = await customer.tap("💵 Pay by hand and upload proof")
    assert "KES 1,134" in instructions.text
    async with database.uow() as uow:
        payment = await uow.session.scalar(select(Payment).where(Payment.order_id == order.id))
    assert payment is not None and (payment.amount_minor, payment.currency) == (113_400, "KES")
    assert "was sent to the shop" in await customer.photo(caption="QK12ABC345")
    assert "✅ Approved." in await merchant.send(f"/approve {code}")
    await server.settle()
    receipt = customer.find("Promo KARIBU10: −KES 126")
    assert "KES 1,134" in receipt.content

    sales = await merchant.send("/sales today")
    assert "Promo discounts on the paid orders (−KES 126):\n• KARIBU10: −KES 126" in sales.messages[0].content

    # The same customer again: one use per customer.
    await to_summary(customer)
    again = await customer.send("KARIBU10")
    assert again.messages[0].content == "You have already used code KARIBU10 as many times as it allows."


async def test_each_refusal_says_why_and_changes_nothing(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    fundi = await server.add_shop(
        "fundi", "Fundi Electronics", admins=(9002,), catalog=FUNDI_CATALOG, instructions=FUNDI_INSTRUCTIONS
    )
    await server.start()
    merchant = server.person(shop, 9001, "Mama")
    await merchant.send("/start")
    for command in (
        "/promo add LATER 10% from=2030-01-02",
        "/promo add OLD 10% until=2020-01-01",
        "/promo add RESTING 10%",
        "/promo add BIG 50 min=5000",
        "/promo add SOAPY 20% cat=Household",
        "/promo add RICEONLY 30 sku=GRO-RICE-2KG",
    ):
        assert "Promo code created" in await merchant.send(command)
    assert "Code RESTING is paused" in await merchant.send("/promo pause resting")
    assert "Promo code created" in await server.person(fundi, 9002, "Fundi").send("/promo add FUNDI5 5%")

    customer = server.person(shop, 5001, "Wanjiru")
    await to_summary(customer, product="Kericho Tea 500g · KES 350")
    before = await server.snapshot(skip=("conversations", "outbox", "processed_updates", "audit_log"))
    refusals = {
        "NOSUCH": "There is no promo code NOSUCH in this shop. Check the spelling and try again.",
        "no way!": "There is no promo code no way! in this shop. Check the spelling and try again.",
        "FUNDI5": "Code FUNDI5 belongs to another shop: it does not work here.",
        "LATER": "Code LATER starts on 02 Jan 00:00 EAT. Try it again then.",
        "OLD": "Code OLD has expired (it ended on 02 Jan 00:00 EAT).",
        "RESTING": "Code RESTING is paused by the shop for now.",
        "BIG": "Code BIG needs an order of at least KES 5,000.",
        "SOAPY": "Code SOAPY does not apply to anything in your cart.",
    }
    for typed, words in refusals.items():
        answer = await customer.send(typed)
        assert answer.messages[0].content == words, typed
        assert answer.last.content.startswith(TEA_SUMMARY)
    await server.settle()
    assert await server.snapshot(skip=("conversations", "outbox", "processed_updates", "audit_log")) == before

    # Limited to a product the cart does not hold.
    assert "Code RICEONLY does not apply to anything in your cart." in await customer.send("riceonly")

    # Ended codes stay ended; the list's buttons act on this shop's codes only.
    assert "Code OLD has ended for good." in await merchant.send("/promo end OLD")
    assert "Code OLD is ended: that cannot be done now." in await merchant.send("/promo resume OLD")
    assert "This shop has no code FUNDI5." in await merchant.send("/promo pause FUNDI5")
    listing = await merchant.send("/promo list")
    assert listing.last.content.splitlines()[0] == "Promo codes:"
    assert "RESTING · 10% · paused · 0/∞ used" in listing.last.content
    resumed = await merchant.tap("▶ Resume RESTING")
    assert resumed.messages[0].content == "Code RESTING is active again."
    assert (await code_row(database, shop.tenant_id, "RESTING")).status == "active"

    # Customers cannot run the merchant's command; bad specs are explained.
    assert "This command is for the shop's admins." in await customer.send("/promo add MINE 100%")
    bad = {
        "/promo add X 10%": '"X" cannot be a code: use 3 to 32 letters, digits, - or _.',
        "/promo add SAVE 120%": '"120%": a percentage is a whole number from 1% to 100%.',
        "/promo add SAVE -5": '"-5" is not an amount above zero in the shop\'s currency.',
        "/promo add SAVE 5 color=red": (
            '"color=red" is not an option. Options: min=, from=, until=, uses=, per=, sku=, cat=.'
        ),
        "/promo add SAVE 5 until=31/12/2026": (
            '"until=31/12/2026": write dates as 2026-12-31 or 2026-12-31T18:00 (shop time).'
        ),
        "/promo add SAVE 5 uses=0": '"uses=0": a count is a whole number from 1 to 1000000.',
        "/promo add SAVE 5 from=2026-12-10 until=2026-12-01": "The end must come after the start.",
        "/promo add resting 5": "This shop already has a code RESTING.",
    }
    for command, words in bad.items():
        assert (await merchant.send(command)).text == words, command


async def test_a_link_keeps_the_code_for_checkout_and_a_cancelled_order_gives_the_last_use_back(
    server: ShopServer, database: Database
) -> None:
    shop = await shop_with(server, "/promo add LAST1 50 uses=1")
    first = server.person(shop, 5001, "Wanjiru")
    second = server.person(shop, 5002, "Akinyi")

    linked = await first.send("/start promo_last1")
    assert linked.messages[1].content == "🏷 Code LAST1 is saved: it comes off at checkout."
    summary = await to_summary(first)
    assert "Promo LAST1: −KES 50\nTo pay: KES 370" in summary
    code = order_code((await first.tap("✅ Confirm order")).text)
    assert (await code_row(database, shop.tenant_id, "LAST1")).uses == 1

    await to_summary(second)
    assert (await second.send("LAST1")).messages[0].content == "Code LAST1 has been used up: no uses are left."

    # The first customer cancels: the use comes back once, and the second one gets it.
    await first.tap("✖ Cancel order")
    assert (await order_row(database, code)).status == "cancelled"
    assert (await code_row(database, shop.tenant_id, "LAST1")).uses == 0
    applied = await second.send("LAST1")
    assert applied.messages[0].content == "🏷 Code LAST1 applied: −KES 50."
    placed = await second.tap("✅ Confirm order")
    assert "Amount to pay: KES 370." in placed.text
    assert (await code_row(database, shop.tenant_id, "LAST1")).uses == 1


async def test_an_expired_payment_gives_the_use_back_once_and_a_retry_takes_it_or_loses_the_discount(
    server: ShopServer, database: Database
) -> None:
    shop = await shop_with(server, "/promo add ONCE 50 uses=1")
    first = server.person(shop, 5001, "Wanjiru")
    await first.send("/start promo_ONCE")
    await to_summary(first)
    code = order_code((await first.tap("✅ Confirm order")).text)
    await first.tap("💵 Pay by hand and upload proof")
    order = await order_row(database, code)

    async def expire(key: str) -> EventResult:
        async with database.uow() as uow:
            payment = await uow.session.scalar(
                select(Payment).where(Payment.order_id == order.id).order_by(Payment.id.desc()).limit(1)
            )
            assert payment is not None
            event = ProviderEvent("manual", key, payment.reference, Outcome.EXPIRED)
            applied = await apply_event(uow.session, shop.tenant_id, event, SystemClock())
            await uow.commit()
        return applied.result

    assert await expire("expired:1") is EventResult.APPLIED
    assert await expire("expired:1") is EventResult.DUPLICATE
    await server.settle()
    assert (await code_row(database, shop.tenant_id, "ONCE")).uses == 0
    async with database.uow() as uow:
        held = await uow.session.scalar(select(PromoRedemption.held).where(PromoRedemption.order_id == order.id))
    assert held is False

    # A new attempt takes the use back while it is free.
    again = await first.send("/orders")
    assert code in again.text
    retry = await first.tap("💵 Pay by hand and upload proof", message=first.find("How would you like to pay?"))
    assert "KES 370" in retry.text
    assert (await code_row(database, shop.tenant_id, "ONCE")).uses == 1

    # Expired again, and meanwhile someone else takes the last use: the retry loses the discount, and says so.
    assert await expire("expired:2") is EventResult.APPLIED
    await server.settle()  # the customer has been told the attempt timed out
    second = server.person(shop, 5002, "Akinyi")
    await to_summary(second)
    await second.send("ONCE")
    await second.tap("✅ Confirm order")
    assert (await code_row(database, shop.tenant_id, "ONCE")).uses == 1
    lost = await first.tap("💵 Pay by hand and upload proof", message=first.find("How would you like to pay?"))
    assert [m.content for m in lost.messages if m.content.startswith("Code ONCE")] == [
        f"Code ONCE ran out while order {code} was waiting for payment, so its discount no longer applies. "
        "Amount to pay now: KES 420."
    ]
    order = await order_row(database, code)
    assert (order.total_minor, order.discount_minor, order.promo_code) == (42_000, 0, None)
    assert (await code_row(database, shop.tenant_id, "ONCE")).uses == 1
