"""Corefy through the real server: the chat on the fake Telegram, the app's callback and return routes on a real
socket, Corefy's simulator as a real server whose hosted payment page the customer answers in a browser (an HTTP
client), and whose signed callbacks go to each invoice's callback URL by themselves, duplicated and out of order
as Corefy warns they may be."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from core.db.engine import Database
from core.vault import Vault
from payments.corefy.signature import SIGNATURE_HEADER, sign
from payments.states import PaymentStatus
from sandbox.corefy.simulator import CorefySimulator
from sandbox.corefy.state import Outgoing
from sandbox.hosted import build_app
from tests.contract.kits import Delivery, deliver
from tests.support.app import Person, ShopServer, shop_server
from tests.support.clocks import MovableClock
from tests.support.hosted import choose, on_the_page, payment_status

ACCOUNT = "coma_journey0001"
LIVE_KEY, TEST_KEY = "journey-live-api-key-0001", "journey-test-api-key-0001"
LIVE_SECRET, TEST_SECRET = "sk_live_journey_secret_0001", "sk_test_journey_secret_0001"
METHOD = "💳 Card & more (Corefy)"
RECEIPT, PAID_ALERT = "Payment received", "is paid: KES 420"


@dataclass
class Journey:
    server: ShopServer
    sim: CorefySimulator
    clock: MovableClock
    merchant: Person
    customer: Person
    browser: httpx.AsyncClient
    slug: str
    live_url: str
    test_url: str

    @property
    def callback_url(self) -> str:
        return f"{self.server.base_url}/pay/corefy/{self.slug}"

    async def choose_corefy(self, base: str | None = None) -> tuple[str, str]:
        """A placed order paid with Corefy in the chat: its code, and the link of the started message."""
        code, link = await choose(self.server, self.customer, METHOD, "💳 Pay now")
        assert link.startswith(f"{base or self.live_url}/hpp/cpi_"), link
        return code, link

    async def page(self, link: str, action: str) -> httpx.Response:
        """The customer on Corefy's page: it shows the amount; a button is pressed, and Corefy sends the browser back
        to the shop (the callbacks go by themselves)."""
        return await on_the_page(self.browser, self.sim, self.server, link, action)

    async def payment_status(self) -> str:
        """The status of the order's latest attempt."""
        return await payment_status(self.server)

    async def deliver(self, sent: Outgoing, *, signature: str | None = "keep") -> int:
        headers = dict(sent.headers)
        if signature is None:
            headers.pop(SIGNATURE_HEADER)
        elif signature != "keep":
            headers[SIGNATURE_HEADER] = signature
        status, _ = await deliver(Delivery(sent.url, sent.body, headers))
        await self.server.settle()
        return status


@pytest.fixture
async def journey(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[Journey]:
    sim = CorefySimulator()
    runner = web.AppRunner(build_app(sim))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    live_url, test_url = f"http://127.0.0.1:{port}", f"http://localhost:{port}"  # the sandbox host: another name
    clock = MovableClock()
    secrets = {"api_key": LIVE_KEY, "secret_key": LIVE_SECRET, "test_api_key": TEST_KEY, "test_secret_key": TEST_SECRET}
    options = {"account_id": ACCOUNT, "api_url": live_url, "test_api_url": test_url}
    sim.add_merchant(ACCOUNT, LIVE_KEY, LIVE_SECRET, deliver=True)
    sim.add_merchant(ACCOUNT, TEST_KEY, TEST_SECRET, test=True, deliver=True)
    try:
        async with (
            shop_server(database, vault, tmp_path, webhooks=True) as server,
            httpx.AsyncClient(trust_env=False) as browser,
        ):
            server.clock = clock
            shop = await server.add_shop(providers={"corefy": (secrets, options)})
            await server.start()
            merchant = server.person(shop, 9001, "Mama")
            await merchant.send("/start")
            customer = server.person(shop, 5001, "Wanjiru")
            yield Journey(server, sim, clock, merchant, customer, browser, shop.slug, live_url, test_url)
    finally:
        await runner.cleanup()


async def test_paid_then_callbacks_duplicated_reordered_forged_and_a_refund_from_the_chat(journey: Journey) -> None:
    server, sim, customer, merchant = journey.server, journey.sim, journey.customer, journey.merchant
    code, link = await journey.choose_corefy()
    invoice = sim.last()
    assert (invoice.key, invoice.amount, invoice.currency, invoice.test_mode) == (LIVE_KEY, Decimal(420), "KES", False)
    assert invoice.callback_url == journey.callback_url
    assert "TEST MODE" not in customer.find(f"To pay KES 420 for order {code}").content

    back = await journey.page(link, "pay")
    assert [sent.status for sent in sim.sent] == ["created", "processing", "processed"]
    assert customer.count(RECEIPT) == 1 and merchant.count(PAID_ALERT) == 1
    receipt = customer.find(RECEIPT)
    assert f"Order: {code}" in receipt.content and "Amount: KES 420" in receipt.content
    page = await journey.browser.get(back.headers["location"])
    assert page.status_code == 200 and "Payment received" in page.text and f"order {code} (KES 420)" in page.text
    assert 'id="back"' in page.text and "the chat with" in page.text  # the page sends the customer back to the chat

    # Corefy delivers the paid callback again, then the older "processing" one late: the invoice is fetched each
    # time and is processed, a duplicate. Forged and unsigned ones are refused. Nothing moves; nobody is told twice.
    created, processing, processed = sim.sent
    before = await server.snapshot()
    assert await journey.deliver(processed) == 200
    assert await journey.deliver(processing) == 200
    assert await journey.deliver(created) == 200
    assert await journey.deliver(processed, signature=sign(processed.body, "sk_live_someone_else")) == 401
    assert await journey.deliver(processed, signature=None) == 401
    assert await server.snapshot() == before
    assert customer.count(RECEIPT) == 1 and merchant.count(PAID_ALERT) == 1

    # A refund from the chat: Corefy refunds part of it (our refund's id as its reference_id); its callback comes
    # too, and again, and adds nothing.
    await merchant.send(f"/refund {code} 100")
    await merchant.tap("✅ Confirm: refund KES 100")
    runtime = server.runtime
    assert runtime is not None
    await runtime.reconciler.run_once()
    await sim.drain()
    await server.settle()
    assert [(refund.amount, refund.invoice_id, refund.status) for refund in sim.refunds] == [
        (Decimal(100), invoice.id, "processed")
    ]
    assert sim.refunds[0].reference_id.startswith("dukabot-refund-")
    assert customer.count("A refund of KES 100 for order") == 1
    assert merchant.count("Corefy made the refund of KES 100") == 1
    assert (await journey.payment_status()) == PaymentStatus.PARTIALLY_REFUNDED
    assert sim.sent[-1].status == "processed" and b'"type": "refunds"' in sim.sent[-1].body
    assert await journey.deliver(sim.sent[-1]) == 200
    assert customer.count("A refund of KES 100 for order") == 1 and merchant.count("Corefy made the refund") == 1


async def test_declined_then_abandoned_then_paid_with_its_callbacks_lost_settled_by_the_query(journey: Journey) -> None:
    server, sim, customer, merchant = journey.server, journey.sim, journey.customer, journey.merchant
    code, link = await journey.choose_corefy()

    await journey.page(link, "fail")
    told = customer.find("did not go through")
    assert f"order {code} (KES 420) did not go through" in told.content and told.buttons
    assert (await journey.payment_status()) == PaymentStatus.FAILED and customer.count(RECEIPT) == 0

    # Again, and this time the customer leaves the page: Corefy terminates the invoice, the attempt is cancelled.
    await customer.tap(METHOD)
    await server.settle()
    second = customer.messages[-1].button("💳 Pay now").target
    assert second is not None and second != link
    back = await journey.page(second, "abandon")
    assert (await journey.payment_status()) == PaymentStatus.CANCELLED
    page = await journey.browser.get(back.headers["location"])
    assert "The payment did not go through" in page.text and customer.count(RECEIPT) == 0

    # A third time the customer pays, but no callback reaches the shop: the reconciler's query finds it paid.
    await customer.tap(METHOD)
    await server.settle()
    third = customer.messages[-1].button("💳 Pay now").target
    assert third is not None and third not in (link, second)
    for merchant_account in sim.merchants.values():
        merchant_account.deliver = False
    await journey.page(third, "pay")
    assert (await journey.payment_status()) == PaymentStatus.PENDING and customer.count(RECEIPT) == 0
    journey.clock.advance(minutes=1)
    runtime = server.runtime
    assert runtime is not None
    await runtime.reconciler.run_once()
    await server.settle()
    assert (await journey.payment_status()) == PaymentStatus.PAID
    assert customer.count(RECEIPT) == 1 and merchant.count(PAID_ALERT) == 1

    # The lost callbacks arrive after all, in any order: nothing more happens.
    for sent in reversed(sim.sent[-2:]):
        assert await journey.deliver(sent) == 200
    assert customer.count(RECEIPT) == 1 and merchant.count(PAID_ALERT) == 1


async def test_test_mode_uses_the_sandbox_and_its_key_and_a_test_payment_lands_after_going_live(
    journey: Journey,
) -> None:
    server, sim, customer, merchant = journey.server, journey.sim, journey.customer, journey.merchant
    await merchant.send("/testmode on")
    await merchant.tap("🧪 Yes, turn test mode on")
    code, test_link = await journey.choose_corefy(journey.test_url)  # the sandbox host served its page
    assert (sim.last().key, sim.last().test_mode) == (TEST_KEY, True)
    assert "TEST MODE" in customer.find(f"To pay KES 420 for order {code}").content

    await merchant.send("/testmode off")
    await merchant.tap("🟢 Yes, go live")
    await journey.page(test_link, "pay")  # its callbacks are signed with the test secret key
    assert sim.sent[-1].headers[SIGNATURE_HEADER] == sign(sim.sent[-1].body, TEST_SECRET)
    assert customer.count(RECEIPT) == 1

    live_code, _ = await journey.choose_corefy()
    assert (sim.last().key, sim.last().test_mode) == (LIVE_KEY, False) and live_code != code
    assert "TEST MODE" not in customer.find(f"To pay KES 420 for order {live_code}").content
    await server.settle()
