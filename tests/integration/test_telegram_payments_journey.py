"""Telegram Payments through the real server: the chat on the fake Telegram, which sends the invoice, asks the
pre-checkout question, carries the payment as a successful_payment message and keeps the bot's Stars ledger
(getStarTransactions, refundStarPayment). What the customer and the merchant read, and the payment rows, are checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, update

from core.db.engine import Database
from core.db.tables import Payment, Product
from core.vault import Vault
from payments.states import PaymentStatus
from sandbox.telegram import stars
from sandbox.telegram.models import SentMessage
from tests.support.app import Person, ShopServer, place_order, shop_server
from tests.support.clocks import MovableClock

METHOD, RECEIPT, PAID_ALERT = "⭐ Pay in Telegram", "Payment received", "is paid"
STARS_OPTIONS = {"invoices": "stars", "stars_rate": "0.1"}  # KES 420 of rice: 42 Stars
TEST_TOKEN = "284685063:TEST:ZjA0ZmQ1NDc4ZDUx"


@dataclass
class Journey:
    server: ShopServer
    clock: MovableClock
    merchant: Person
    customer: Person

    async def invoice(self) -> tuple[str, SentMessage]:
        """An order placed and Telegram Payments chosen: its code and the invoice the bot sent."""
        code = await place_order(self.customer)
        await self.customer.tap(METHOD)
        await self.server.settle()
        sent = [m for m in self.customer.messages if m.invoice is not None]
        assert len(sent) == 1, [m.content for m in self.customer.messages]
        return code, sent[0]

    def ledger(self) -> stars.StarsLedger:
        return self.customer.user.account.payments

    async def pay(self, invoice: SentMessage, *, deliver: bool = True) -> stars.Paid:
        paid = await stars.pay(self.customer.user, invoice.message_id, deliver=deliver)
        await self.server.settle()
        return paid

    async def payments(self) -> list[tuple[str, int, str]]:
        async with self.server.database.uow() as uow:
            rows = await uow.session.execute(
                select(Payment.status, Payment.amount_minor, Payment.currency).order_by(Payment.id)
            )
            return [(status, amount, currency) for status, amount, currency in rows]

    async def reconcile(self, **later: float) -> None:
        runtime = self.server.runtime
        assert runtime is not None
        self.clock.advance(**later)
        await runtime.reconciler.run_once()
        await self.server.settle()


async def _journey(
    database: Database, vault: Vault, tmp_path: Path, secrets: dict[str, str], options: dict[str, str], test: bool
) -> AsyncIterator[Journey]:
    clock = MovableClock()
    async with shop_server(database, vault, tmp_path, webhooks=True) as server:
        server.clock = clock
        shop = await server.add_shop(providers={"telegram": (secrets, options)})
        await server.start()
        merchant = server.person(shop, 9001, "Mama")
        await merchant.send("/start")
        if test:
            await merchant.send("/testmode on")
            await merchant.tap("🧪 Yes, turn test mode on")
        yield Journey(server, clock, merchant, server.person(shop, 5001, "Wanjiru"))


@pytest.fixture
async def journey(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[Journey]:
    async for made in _journey(database, vault, tmp_path, {}, STARS_OPTIONS, test=False):
        yield made


async def test_stars_invoice_paid_in_the_chat_replayed_then_refunded_from_the_chat(journey: Journey) -> None:
    customer, merchant, server = journey.customer, journey.merchant, journey.server
    code, invoice = await journey.invoice()
    assert invoice.invoice == {
        "title": "Mama Mboga Store",
        "description": f"{code} · Mama Mboga Store",
        "start_parameter": "",
        "currency": "XTR",
        "total_amount": 42,
    }
    sent = journey.ledger().invoice(customer.user.chat.id, invoice.message_id)
    assert (sent.provider_token, sent.payload.startswith("telegram:")) == ("", True)
    started = customer.find("Your invoice of XTR 42")
    assert f"order {code} is above: tap Pay" in started.content and "TEST MODE" not in started.content
    assert await journey.payments() == [(PaymentStatus.PENDING, 42, "XTR")]

    paid = await journey.pay(invoice)
    assert (paid.query.ok, paid.query.error_message) == (True, None)
    assert await journey.payments() == [(PaymentStatus.PAID, 42, "XTR")]
    assert customer.count(RECEIPT) == 1 and merchant.count(PAID_ALERT) == 1

    # Telegram delivers the same payment again: nothing changes, nobody is told twice.
    before = await server.snapshot()
    assert paid.charge_id is not None
    stars.successful_payment(customer.user, sent, charge_id=paid.charge_id)
    await server.settle()
    assert await server.snapshot() == before
    assert customer.count(RECEIPT) == 1 and merchant.count(PAID_ALERT) == 1

    await merchant.send(f"/refund {code}")
    await merchant.tap("✅ Confirm: refund XTR 42")
    await journey.reconcile(seconds=1)
    assert journey.ledger().refunded == {paid.charge_id}
    assert journey.ledger().transactions[-1]["receiver"]["user"]["id"] == customer.id
    assert await journey.payments() == [(PaymentStatus.REFUNDED, 42, "XTR")]
    assert merchant.count("Telegram gave back XTR 42") == 1


async def test_a_payment_whose_update_was_lost_is_found_in_the_stars_ledger(journey: Journey) -> None:
    _, invoice = await journey.invoice()
    paid = await journey.pay(invoice, deliver=False)  # made, but its update never reached the server
    assert paid.update is None and await journey.payments() == [(PaymentStatus.PENDING, 42, "XTR")]
    await journey.reconcile(seconds=61)
    assert await journey.payments() == [(PaymentStatus.PAID, 42, "XTR")]
    assert journey.customer.count(RECEIPT) == 1
    # The update arriving after all is the same payment.
    assert paid.charge_id is not None
    sent = journey.ledger().invoice(journey.customer.user.chat.id, invoice.message_id)
    stars.successful_payment(journey.customer.user, sent, charge_id=paid.charge_id)
    await journey.server.settle()
    assert journey.customer.count(RECEIPT) == 1 and journey.merchant.count(PAID_ALERT) == 1


async def test_a_payment_of_another_amount_or_currency_is_held_for_review(journey: Journey) -> None:
    _, invoice = await journey.invoice()
    sent = journey.ledger().invoice(journey.customer.user.chat.id, invoice.message_id)
    stars.successful_payment(journey.customer.user, sent, total_amount=1)
    await journey.server.settle()
    assert await journey.payments() == [(PaymentStatus.NEEDS_REVIEW, 42, "XTR")]
    assert journey.customer.count(RECEIPT) == 0


async def test_pre_checkout_refused_for_a_cancelled_order_another_amount_and_another_shops_payload(
    journey: Journey,
) -> None:
    customer, server = journey.customer, journey.server
    code, invoice = await journey.invoice()
    sent = journey.ledger().invoice(customer.user.chat.id, invoice.message_id)
    before = await server.snapshot()

    wrong = await stars.ask_pre_checkout(customer.user, sent, total_amount=41)
    assert (wrong.ok, wrong.error_message) == (
        False,
        f"This invoice does not match order {code} any more. "
        "Nothing was charged. Please choose how to pay again in /orders.",
    )
    foreign = await stars.ask_pre_checkout(customer.user, sent, invoice_payload="telegram:P0THERSH0PSREF")
    assert (foreign.ok, foreign.error_message) == (
        False,
        "This invoice is not an open payment of this shop. Please open /orders and pay the order from there.",
    )
    made_up = await stars.ask_pre_checkout(customer.user, sent, invoice_payload="nonsense")
    assert made_up.ok is False and made_up.error_message is not None and "/orders" in made_up.error_message
    await server.settle()
    assert await server.snapshot() == before

    await journey.reconcile(minutes=31)  # the shop's payment timeout (30 minutes) passes
    assert [status for status, _, _ in await journey.payments()] == [PaymentStatus.EXPIRED]
    late = await stars.ask_pre_checkout(customer.user, sent)
    assert late.ok is False and late.error_message == (
        f"Order {code} can no longer be paid with this invoice (it was cancelled, has expired or was paid another "
        "way). Nothing was charged. Open /orders to see where it stands."
    )


@pytest.fixture
async def card_journey(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[Journey]:
    secrets = {"provider_token": "284685063:LIVE:bGl2ZXRva2Vu", "test_provider_token": TEST_TOKEN}
    async for made in _journey(database, vault, tmp_path, secrets, {"invoices": "card"}, test=True):
        yield made


async def test_card_invoice_in_test_mode_uses_the_providers_test_token_in_the_shops_currency(
    card_journey: Journey,
) -> None:
    code, invoice = await card_journey.invoice()
    sent = card_journey.ledger().invoice(card_journey.customer.user.chat.id, invoice.message_id)
    assert (sent.currency, sent.total_amount, sent.provider_token) == ("KES", 42000, TEST_TOKEN)
    assert "TEST MODE" in card_journey.customer.find(f"Your invoice of KES 420 for order {code}").content
    assert card_journey.server.fake.test_environment_calls == []  # cards have no test environment: the test token
    await card_journey.pay(invoice)
    assert await card_journey.payments() == [(PaymentStatus.PAID, 42000, "KES")]
    assert card_journey.customer.count(RECEIPT) == 1


@pytest.fixture
async def stars_test_journey(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[Journey]:
    async for made in _journey(database, vault, tmp_path, {}, STARS_OPTIONS, test=True):
        yield made


async def test_stars_in_test_mode_go_through_telegrams_test_environment(stars_test_journey: Journey) -> None:
    code, invoice = await stars_test_journey.invoice()
    assert stars_test_journey.server.fake.test_environment_calls == ["sendInvoice"]
    started = stars_test_journey.customer.find(f"Your invoice of XTR 42 for order {code}")
    assert started.content.startswith("🧪 TEST MODE – Telegram's test environment: these Stars are not real.")
    await stars_test_journey.pay(invoice)
    assert await stars_test_journey.payments() == [(PaymentStatus.PAID, 42, "XTR")]


async def test_pre_checkout_refused_when_the_stock_ran_out_or_the_shop_changed_a_price(journey: Journey) -> None:
    customer = journey.customer
    code, invoice = await journey.invoice()
    sent = journey.ledger().invoice(customer.user.chat.id, invoice.message_id)

    async def product(**values: int) -> None:
        async with journey.server.database.uow() as uow:
            await uow.session.execute(update(Product).where(Product.sku == "GRO-RICE-2KG").values(**values))
            await uow.commit()

    await product(stock=0)
    gone = await stars.ask_pre_checkout(customer.user, sent)
    assert (gone.ok, gone.error_message) == (
        False,
        f"Sorry, Pishori Rice 2kg sold out before order {code} was paid. Nothing was charged.",
    )
    await product(stock=40, price_minor=45000)
    repriced = await stars.ask_pre_checkout(customer.user, sent)
    assert (repriced.ok, repriced.error_message) == (
        False,
        f"The shop changed a price since order {code} was placed. Nothing was charged. "
        "Please place the order again from /shop.",
    )
    await product(price_minor=42000)
    assert (await stars.ask_pre_checkout(customer.user, sent)).ok is True
    await journey.server.settle()
    assert await journey.payments() == [(PaymentStatus.PENDING, 42, "XTR")]


async def test_pre_checkout_refused_once_the_customer_cancelled_the_order(journey: Journey) -> None:
    customer = journey.customer
    code, invoice = await journey.invoice()
    sent = journey.ledger().invoice(customer.user.chat.id, invoice.message_id)
    await customer.tap("✖ Cancel order")
    await journey.server.settle()
    refused = await stars.ask_pre_checkout(customer.user, sent)
    assert (refused.ok, refused.error_message) == (
        False,
        f"Order {code} can no longer be paid with this invoice (it was cancelled, has expired or was paid another "
        "way). Nothing was charged. Open /orders to see where it stands.",
    )


async def test_a_payment_naming_no_payment_of_the_shop_changes_nothing_and_the_merchant_is_told(
    journey: Journey,
) -> None:
    customer, merchant = journey.customer, journey.merchant
    _, invoice = await journey.invoice()
    sent = journey.ledger().invoice(customer.user.chat.id, invoice.message_id)
    for _ in range(2):  # delivered twice: told once
        stars.successful_payment(customer.user, sent, charge_id="stxFOREIGN1", invoice_payload="telegram:NOSUCHREF")
        await journey.server.settle()
    assert await journey.payments() == [(PaymentStatus.PENDING, 42, "XTR")]
    assert customer.count("Telegram told us of a payment that does not match any open order of this shop") == 2
    assert merchant.find("names no open payment of this shop").content == (
        "⚠️ Telegram reports a payment of 42 XTR from Wanjiru Kamau (charge stxFOREIGN1) that names no open payment of "
        "this shop. Look it up in the bot's payments (@BotFather) and refund it or settle the order by hand."
    )
    assert merchant.count("names no open payment of this shop") == 1
