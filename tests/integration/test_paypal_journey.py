"""PayPal through the real server: the chat (fake Telegram), the app's webhook and return routes on a real socket,
the PayPal simulator as a real server behind a recording network (PayPal's real hosts routed to it), a real database
and a movable clock. The shop sells in KES, which PayPal does not take: it charges USD at the rate it set.

The buyer's browser is an HTTP client that opens the approve link from the chat, presses Approve / Declined / Cancel
on the simulator's page and follows PayPal's redirect back to the shop's return page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from admin import shops
from admin.shops.errors import ShopError
from core.clock import SystemClock
from core.db.engine import Database
from core.db.tables import Payment, PaymentEvent, ProviderConfig, Refund
from core.vault import Vault
from payments.states import PaymentStatus
from sandbox.paypal.entry import SIMULATOR
from sandbox.paypal.simulator import PayPalSimulator
from tests.contract.kits import Delivery, deliver
from tests.contract.network import Network
from tests.support.app import Person, ShopServer, place_order, shop_server
from tests.support.clocks import MovableClock

LIVE = ("journey-live-client", "journey-live-secret", "WH-JOURNEY-LIVE")
SANDBOX = ("journey-sandbox-client", "journey-sandbox-secret", "WH-JOURNEY-SANDBOX")
CONVERSION = {"conversion_currency": "USD", "conversion_rate": "0.0077"}
RECEIPT = "Payment received"
PAID_ALERT = "is paid: USD 3.23"  # KES 420 at 0.0077, rounded half up to cents


def settings(conversion: bool = True) -> tuple[dict[str, str], dict[str, str]]:
    options = {"client_id": LIVE[0], "webhook_id": LIVE[2], "sandbox_client_id": SANDBOX[0]}
    options |= {"sandbox_webhook_id": SANDBOX[2], **(CONVERSION if conversion else {})}
    return {"client_secret": LIVE[1], "sandbox_client_secret": SANDBOX[1]}, options


@dataclass
class Journey:
    server: ShopServer
    sim: PayPalSimulator
    network: Network
    clock: MovableClock
    merchant: Person
    customer: Person
    slug: str
    code: str = ""

    @property
    def webhook_url(self) -> str:
        return f"{self.server.base_url}/pay/paypal/{self.slug}"

    async def choose_paypal(self) -> str:
        """Places the order, chooses PayPal; the approve link the chat shows."""
        self.code = await place_order(self.customer)
        placed = self.customer.find(f"Order {self.code}")
        assert "🅿️ PayPal" in [label for row in placed.buttons for label, _ in row], placed.buttons
        await self.customer.tap("🅿️ PayPal")
        await self.server.settle()
        started = self.customer.find("Open PayPal below")
        assert "comes to KES 420" in started.content and "charges it as USD 3.23" in started.content  # both amounts
        assert "1 KES = 0.0077 USD" in started.content
        return started.button("🅿️ Pay with PayPal").url or ""

    async def on_paypal(self, link: str, press: str) -> httpx.Response:
        """The buyer's browser: the approval page, one of its buttons, then PayPal's redirect to the shop."""
        async with httpx.AsyncClient(trust_env=False, follow_redirects=True) as browser:
            page = await browser.get(link)
            assert page.status_code == 200 and "Pay USD 3.23 with PayPal" in page.text, page.text
            action = re.search(rf"action='([^']+/{press})'", page.text)
            assert action is not None, page.text
            landed = await browser.post(str(page.url.join(action[1])))
        await self.server.settle()
        return landed

    async def payment(self) -> Payment:
        async with self.server.database.uow() as uow:
            return (await uow.session.scalars(select(Payment).order_by(Payment.id.desc()))).first()  # type: ignore[return-value]

    def delivery(self, event_type: str, *, forged: bool = False) -> Delivery:
        made = self.sim.webhooks(event_type)[-1]
        headers = dict(made.headers)
        if forged:
            headers["PAYPAL-TRANSMISSION-SIG"] = "0" * 64
        return Delivery(self.webhook_url, made.body, headers)

    async def deliver(self, delivery: Delivery) -> int:
        status, _ = await deliver(delivery)
        await self.server.settle()
        return status


@pytest.fixture
async def journey(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[Journey]:
    sim = PayPalSimulator()
    sim.add_app(*LIVE, sandbox=False)
    sim.add_app(*SANDBOX, sandbox=True)
    network, clock = Network(), MovableClock()
    async with (
        SIMULATOR.serve(sim) as url,
        httpx.AsyncClient(transport=network) as http,
        shop_server(database, vault, tmp_path, webhooks=True) as server,
    ):
        network.routes.update({"api-m.paypal.com": url, "api-m.sandbox.paypal.com": url})
        server.provider_http, server.clock = http, clock
        shop = await server.add_shop(providers={"paypal": settings()})
        await server.start()
        merchant = server.person(shop, 9001, "Mama")
        await merchant.send("/start")
        yield Journey(server, sim, network, clock, merchant, server.person(shop, 5001, "Wanjiru"), shop.slug)


async def test_approved_on_paypal_paid_once_with_its_receipt_alert_and_a_refund_from_the_chat(journey: Journey) -> None:
    link = await journey.choose_paypal()
    assert journey.network.hosts == {"api-m.paypal.com"}  # a live shop never talks to the sandbox

    landed = await journey.on_paypal(link, "approve")
    # Back on the shop's page, which captured the order and sends the buyer back to the chat.
    assert landed.status_code == 200 and str(landed.url).startswith(journey.webhook_url + "/return")
    assert "Payment received" in landed.text and "Your receipt is in the chat with Mama Mboga Store" in landed.text
    payment = await journey.payment()
    assert (payment.status, payment.amount_minor, payment.currency, payment.paid_minor) == (
        PaymentStatus.PAID,
        323,
        "USD",
        323,
    )
    receipt = journey.customer.find(RECEIPT)
    assert f"Order: {journey.code}" in receipt.content and "Amount: USD 3.23" in receipt.content
    assert journey.merchant.count(PAID_ALERT) == 1

    # PayPal's webhooks come after: the approval and the capture, then each again, then a forged one, then late.
    assert await journey.deliver(journey.delivery("CHECKOUT.ORDER.APPROVED")) == 200
    assert await journey.deliver(journey.delivery("PAYMENT.CAPTURE.COMPLETED")) == 200
    assert await journey.deliver(journey.delivery("PAYMENT.CAPTURE.COMPLETED")) == 200
    before = await journey.server.snapshot()
    assert await journey.deliver(journey.delivery("PAYMENT.CAPTURE.COMPLETED", forged=True)) == 401
    assert await journey.server.snapshot() == before  # a forged delivery changes nothing
    journey.clock.advance(hours=5)
    assert await journey.deliver(journey.delivery("PAYMENT.CAPTURE.COMPLETED")) == 200
    assert journey.customer.count(RECEIPT) == 1 and journey.merchant.count(PAID_ALERT) == 1
    assert len([o for o in journey.sim.orders.values() for c in o.captures]) == 1  # captured once
    async with journey.server.database.uow() as uow:
        paid = list(await uow.session.scalars(select(PaymentEvent).where(PaymentEvent.outcome == "paid")))
    assert [(e.result, e.amount_minor, e.currency) for e in paid] == [("applied", 323, "USD")]
    # The conversion is on the payment's evidence: the order as PayPal holds it names it.
    description = paid[0].raw["order"]["purchase_units"][0]["description"]
    assert description == f"Order {journey.code} at Mama Mboga Store (KES 420 at 1 KES = 0.0077 USD)"

    # A partial refund from the merchant's chat, in the currency charged; PayPal's refund webhook twice.
    await journey.merchant.send(f"/refund {journey.code} 1")
    await journey.merchant.tap("✅ Confirm: refund USD 1")
    runtime = journey.server.runtime
    assert runtime is not None
    await runtime.reconciler.run_once()
    await journey.server.settle()
    for _ in range(2):
        assert await journey.deliver(journey.delivery("PAYMENT.CAPTURE.REFUNDED")) == 200
    payment = await journey.payment()
    assert (payment.status, payment.refunded_minor) == (PaymentStatus.PARTIALLY_REFUNDED, 100)
    async with journey.server.database.uow() as uow:
        refunds = list(await uow.session.scalars(select(Refund)))
    assert [(r.amount_minor, r.status) for r in refunds] == [(100, "processed")]
    assert [(r.value, r.currency) for r in journey.sim.refunds.values()] == [("1.00", "USD")]
    assert journey.customer.count("A refund of USD 1 for order") == 1


async def test_declined_funding_fails_with_a_way_forward(journey: Journey) -> None:
    link = await journey.choose_paypal()
    landed = await journey.on_paypal(link, "decline")
    assert "The payment did not go through" in landed.text and "Go back to the chat" in landed.text
    assert (await journey.payment()).status == PaymentStatus.FAILED
    told = journey.customer.find("did not go through")
    assert "PayPal declined the payment" in told.content and told.buttons
    assert journey.customer.count(RECEIPT) == 0


async def test_abandoned_on_paypal_then_expired(journey: Journey) -> None:
    link = await journey.choose_paypal()
    landed = await journey.on_paypal(link, "cancel")
    assert "Payment not made" in landed.text and "You left the PayPal page without paying order" in landed.text
    assert (await journey.payment()).status == PaymentStatus.PENDING  # the link still works until it expires
    runtime = journey.server.runtime
    assert runtime is not None
    journey.clock.advance(minutes=31)
    await runtime.reconciler.run_once()
    await journey.server.settle()
    assert (await journey.payment()).status == PaymentStatus.EXPIRED
    assert journey.customer.count(RECEIPT) == 0 and journey.merchant.count(PAID_ALERT) == 0

    # The buyer approves on the PayPal tab left open after all: its late webhook captures real money, paid late.
    journey.sim.approve(journey.sim.last().id)
    assert await journey.deliver(journey.delivery("CHECKOUT.ORDER.APPROVED")) == 200
    assert await journey.deliver(journey.delivery("CHECKOUT.ORDER.APPROVED")) == 200
    payment = await journey.payment()
    assert (payment.status, payment.paid_minor) == (PaymentStatus.PAID, 323)
    assert journey.customer.count(RECEIPT) == 1 and journey.merchant.count("arrived after the attempt had ended") == 1


async def test_verification_unreachable_is_503_and_the_redelivery_pays(journey: Journey) -> None:
    link = await journey.choose_paypal()
    journey.sim.approve(re.search(r"token=([A-Z0-9]+)", link)[1])  # type: ignore[index]
    journey.network.lose_answers_on.add("/v1/notifications/verify-webhook-signature")
    before = await journey.server.snapshot()
    assert await journey.deliver(journey.delivery("CHECKOUT.ORDER.APPROVED")) == 503  # PayPal delivers again later
    assert await journey.server.snapshot() == before
    journey.network.lose_answers_on.clear()
    unsigned = Delivery(journey.webhook_url, journey.delivery("CHECKOUT.ORDER.APPROVED").body, {})
    assert await journey.deliver(unsigned) == 401
    assert await journey.deliver(journey.delivery("CHECKOUT.ORDER.APPROVED")) == 200
    assert (await journey.payment()).status == PaymentStatus.PAID
    assert journey.customer.count(RECEIPT) == 1


async def test_test_mode_switches_to_the_sandbox_host_and_app(journey: Journey) -> None:
    await journey.merchant.send("/testmode on")
    await journey.merchant.tap("🧪 Yes, turn test mode on")
    journey.network.seen.clear()
    journey.code = await place_order(journey.customer)
    await journey.customer.tap("🅿️ PayPal")
    await journey.server.settle()
    assert "TEST MODE" in journey.customer.find("Open PayPal below").content
    assert journey.network.hosts == {"api-m.sandbox.paypal.com"}
    order = journey.sim.last()
    assert order.client_id == SANDBOX[0]
    journey.sim.approve(order.id)
    assert (
        await journey.deliver(journey.delivery("CHECKOUT.ORDER.APPROVED")) == 200
    )  # verified with the sandbox webhook
    assert (await journey.payment()).status == PaymentStatus.PAID


async def test_a_kes_shop_without_a_conversion_does_not_offer_paypal(
    database: Database, vault: Vault, tmp_path: Path
) -> None:
    async with shop_server(database, vault, tmp_path, webhooks=True) as server:
        shop = await server.add_shop()
        secrets, options = settings(conversion=False)
        async with database.uow() as uow:
            with pytest.raises(ShopError, match="PayPal does not take KES"):  # refused as it is set...
                await shops.set_provider(uow.session, vault, shop.slug, "paypal", secrets, options, SystemClock().now())
            # ...and one set before that check existed is never offered
            uow.session.add(
                ProviderConfig(
                    tenant_id=shop.tenant_id,
                    provider="paypal",
                    enabled=True,
                    options=options,
                    secrets_enc=vault.encrypt_json(secrets),
                    updated_at=SystemClock().now(),
                )
            )
            await uow.commit()
        await server.start()
        customer = server.person(shop, 5001, "Wanjiru")
        code = await place_order(customer)
        offered = [label for row in customer.find(f"Order {code}").buttons for label, _ in row]
    assert "🅿️ PayPal" not in offered and "💵 Pay by hand and upload proof" in offered, offered
