"""Stripe through the real server: the chat (fake Telegram), the app's webhook and return routes on a real socket,
the Stripe simulator as a real server that delivers its signed events to the app as Stripe does (the endpoint set
on its "dashboard"), and a real database.

The customer chooses Stripe, opens the Checkout page and pays, fails, or leaves; the link expires; events come
twice, forged, or late; the merchant refunds from the chat; a test-mode shop uses the test key only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from core.db.engine import Database
from core.db.tables import Payment, PaymentEvent
from core.vault import Vault
from payments.states import PaymentStatus
from sandbox.stripe.entry import SIMULATOR
from sandbox.stripe.simulator import StripeSimulator
from tests.contract.network import Network
from tests.support.app import Person, ShopServer, place_order, shop_server
from tests.support.clocks import MovableClock

LIVE_KEY, TEST_KEY = "sk_live_journey000000000000000001", "sk_test_journey000000000000000001"
LIVE_SECRET, TEST_SECRET = "whsec_journey_live", "whsec_journey_test"
PAY = "💳 Pay by card (Stripe)"
RECEIPT = "Payment received"


@dataclass
class Rig:
    sim: StripeSimulator
    server: ShopServer
    clock: MovableClock
    merchant: Person
    customer: Person
    browser: httpx.AsyncClient
    slug: str

    async def choose_stripe(self) -> str:
        """A placed order, paid with Stripe: the Checkout URL of the button that replaced "preparing…"."""
        code = await place_order(self.customer)
        await self.customer.tap(PAY)
        await self.server.settle()
        started = self.customer.find("open Stripe's checkout below")
        (url,) = [target for row in started.buttons for text, target in row if text == "💳 Pay now"]
        assert url is not None and url.startswith(self.sim.public_url or "?")
        return code

    async def answer_page(self, action: str) -> str:
        """The customer's browser on the Checkout page: it shows the amount, and ``action`` is pressed; where Stripe
        sends the browser next, and that page's words."""
        url = self.sim.last().url
        page = await self.browser.get(url)
        assert page.status_code == 200 and "KES 420" in page.text
        answer = await self.browser.post(url, data={"action": action})
        assert answer.status_code == 303
        await self.server.settle()
        back = await self.browser.get(answer.headers["location"])
        assert back.status_code == 200 and back.headers["cache-control"] == "no-store"
        return back.text

    async def payment(self) -> Payment:
        async with self.server.database.uow() as uow:
            return (await uow.session.scalars(select(Payment).order_by(Payment.id.desc()).limit(1))).one()

    async def paid_events(self) -> int:
        async with self.server.database.uow() as uow:
            events = await uow.session.scalars(select(PaymentEvent))
            return sum(e.outcome == "paid" and e.result == "applied" for e in events)

    async def post(self, body: bytes, headers: dict[str, str]) -> int:
        answer = await self.browser.post(
            f"{self.server.base_url}/pay/stripe/{self.slug}", content=body, headers=headers
        )
        await self.server.settle()
        return answer.status_code


@pytest.fixture
async def rig(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[Rig]:
    sim = StripeSimulator()
    sim.add_key(LIVE_KEY)
    sim.add_key(TEST_KEY)
    network, clock = Network(), MovableClock()
    secrets = {
        "secret_key": LIVE_KEY,
        "webhook_secret": LIVE_SECRET,
        "test_secret_key": TEST_KEY,
        "test_webhook_secret": TEST_SECRET,
    }
    async with (
        SIMULATOR.serve(sim) as sim_url,
        httpx.AsyncClient(transport=network) as http,
        httpx.AsyncClient(trust_env=False) as browser,
        shop_server(database, vault, tmp_path, webhooks=True) as server,
    ):
        sim.public_url = sim_url
        network.routes["api.stripe.com"] = sim_url  # the shop calls Stripe's real host, routed to the simulator
        server.provider_http, server.clock = http, clock
        shop = await server.add_shop(providers={"stripe": (secrets, {})})
        await server.start()
        # The endpoints as set on Stripe's dashboard, one per mode, each with its own signing secret.
        sim.set_endpoint(f"{server.base_url}/pay/stripe/{shop.slug}", LIVE_SECRET, livemode=True)
        sim.set_endpoint(f"{server.base_url}/pay/stripe/{shop.slug}", TEST_SECRET, livemode=False)
        merchant = server.person(shop, 9001, "Mama")
        await merchant.send("/start")
        yield Rig(sim, server, clock, merchant, server.person(shop, 5001, "Wanjiru"), browser, shop.slug)


async def test_paid_on_the_checkout_page_one_receipt_whatever_comes_again(rig: Rig) -> None:
    code = await rig.choose_stripe()
    session = rig.sim.last()
    assert (session.amount_total, session.currency, session.livemode) == (42000, "kes", True)
    assert session.client_reference_id == (await rig.payment()).reference
    assert rig.sim.requests[0].headers["authorization"] == f"Bearer {LIVE_KEY}"
    assert rig.sim.requests[0].headers["idempotency-key"] == session.client_reference_id

    page = await rig.answer_page("pay")
    assert "Payment received" in page and f"payment for order {code} (KES 420) is confirmed" in page

    payment = await rig.payment()
    assert (payment.status, payment.paid_minor) == (PaymentStatus.PAID, 42000)
    assert rig.customer.count(RECEIPT) == 1 and f"Order: {code}" in rig.customer.find(RECEIPT).content
    assert rig.merchant.count("is paid: KES 420") == 1

    # Stripe delivers it again (twice at once), someone forges it, and a copy captured earlier is replayed late.
    completed = next(e for e in rig.sim.events if e.type == "checkout.session.completed")
    body, headers = rig.sim.signed(completed, secrets=[LIVE_SECRET])
    assert await asyncio.gather(rig.post(body, headers), rig.post(body, headers)) == [200, 200]
    assert await rig.post(*rig.sim.signed(completed, secrets=["whsec_someone_else"])) == 401
    late = rig.sim.now() - 301
    assert await rig.post(*rig.sim.signed(completed, secrets=[LIVE_SECRET], at=late)) == 401
    assert await rig.paid_events() == 1 and rig.customer.count(RECEIPT) == 1
    assert rig.merchant.count("is paid: KES 420") == 1


async def test_a_delayed_payment_that_fails_is_told_with_a_way_forward(rig: Rig) -> None:
    code = await rig.choose_stripe()
    await rig.answer_page("fail")
    assert (await rig.payment()).status == PaymentStatus.FAILED
    told = rig.customer.find("did not go through")
    assert f"order {code} (KES 420) did not go through" in told.content
    assert "the bank did not complete the payment" in told.content and told.buttons
    assert rig.customer.count(RECEIPT) == 0


async def test_left_on_the_page_then_expired(rig: Rig) -> None:
    code = await rig.choose_stripe()
    page = await rig.answer_page("abandon")
    assert "Payment not made" in page and f"You left the Stripe page without paying order {code} (KES 420)" in page
    assert (await rig.payment()).status == PaymentStatus.PENDING  # leaving is no answer: the link stays open

    expired = rig.sim.expire(rig.sim.last().id)  # Stripe's expires_at passed
    assert await rig.sim.deliver(expired) == 200
    await rig.server.settle()
    assert (await rig.payment()).status == PaymentStatus.EXPIRED
    assert rig.customer.find("expired before it was paid").content.count(code) == 1


async def test_the_merchant_refunds_part_from_the_chat(rig: Rig) -> None:
    code = await rig.choose_stripe()
    await rig.answer_page("pay")
    await rig.merchant.send(f"/refund {code} 100")
    await rig.merchant.tap("✅ Confirm: refund KES 100")
    runtime = rig.server.runtime
    assert runtime is not None
    await runtime.reconciler.run_once()  # sends it to Stripe
    await rig.server.settle()
    (refund,) = rig.sim.refunds
    assert (refund.amount, refund.payment_intent) == (10000, rig.sim.last().payment_intent)
    for event in rig.sim.settle_refunds():  # Stripe makes it and says so (refund.updated, charge.refunded)
        assert await rig.sim.deliver(event) == 200
    await rig.server.settle()
    payment = await rig.payment()
    assert (payment.status, payment.refunded_minor) == (PaymentStatus.PARTIALLY_REFUNDED, 10000)
    assert rig.customer.count("A refund of KES 100 for order") == 1
    assert rig.merchant.count("Stripe made the refund of KES 100") == 1


async def test_a_test_mode_shop_uses_the_test_key_and_says_so(rig: Rig) -> None:
    await rig.merchant.send("/testmode on")
    await rig.merchant.tap("🧪 Yes, turn test mode on")
    await rig.choose_stripe()
    assert "TEST MODE" in rig.customer.find("open Stripe's checkout below").content
    assert {r.headers["authorization"] for r in rig.sim.requests} == {f"Bearer {TEST_KEY}"}
    assert rig.sim.last().livemode is False
    await rig.answer_page("pay")
    assert (await rig.payment()).status == PaymentStatus.PAID


async def test_the_return_page_says_what_the_payment_is_not_what_the_address_claims(rig: Rig) -> None:
    code = await rig.choose_stripe()
    reference = (await rig.payment()).reference
    base = f"{rig.server.base_url}/pay/stripe/{rig.slug}/return"
    claimed = await rig.browser.get(f"{base}?state=success&ref={reference}")  # typed by hand: nothing was paid
    assert claimed.status_code == 200 and "Confirming your payment" in claimed.text and code in claimed.text
    assert (await rig.payment()).status == PaymentStatus.PENDING and rig.customer.count(RECEIPT) == 0

    assert (await rig.browser.get(f"{base}?state=success&ref=dk-someone-else")).status_code == 404
    assert (await rig.browser.get(f"{rig.server.base_url}/pay/stripe/nobody/return?ref={reference}")).status_code == 404
    onboarded = await rig.browser.get(f"{base}?state=connect_done")
    assert onboarded.status_code == 200 and "Stripe has your details for" in onboarded.text
