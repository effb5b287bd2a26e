"""Flutterwave through the real server: the chat on the fake Telegram, the app's webhook and return routes on a real
socket, Flutterwave's simulator as a real server whose hosted checkout page the customer answers in a browser (an
HTTP client), and whose webhooks go to the shop by themselves, as the merchant's dashboard sets them up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from core.db.engine import Database
from core.vault import Vault
from payments.flutterwave.wire import HASH_HEADER
from payments.states import PaymentStatus
from sandbox.flutterwave.simulator import FlutterwaveSimulator, Outgoing
from sandbox.hosted import build_app
from tests.contract.kits import Delivery, deliver
from tests.support.app import Person, ShopServer, shop_server
from tests.support.clocks import MovableClock
from tests.support.hosted import choose, on_the_page, payment_status

LIVE_KEY, TEST_KEY = "FLWSECK-journey00000000000000000000-X", "FLWSECK_TEST-journey0000000000000000-X"
LIVE_HASH, TEST_HASH = "journey-live-secret-hash", "journey-test-secret-hash"
METHOD = "🦋 Card, M-Pesa & more (Flutterwave)"
RECEIPT, PAID_ALERT = "Payment received", "is paid: KES 420"


@dataclass
class Journey:
    server: ShopServer
    sim: FlutterwaveSimulator
    clock: MovableClock
    merchant: Person
    customer: Person
    browser: httpx.AsyncClient
    slug: str
    sim_url: str

    @property
    def webhook_url(self) -> str:
        return f"{self.server.base_url}/pay/flutterwave/{self.slug}"

    async def choose_flutterwave(self) -> tuple[str, str]:
        """A placed order paid with Flutterwave in the chat: its code, and the link of the started message."""
        code, link = await choose(self.server, self.customer, METHOD, "🦋 Pay now")
        assert link.startswith(f"{self.sim_url}/v3/hosted/pay/"), link
        return code, link

    async def checkout(self, link: str, action: str) -> httpx.Response:
        """The customer on Flutterwave's page: it shows the amount and the shop's channels; a button is pressed, and
        Flutterwave sends the browser back to the shop (the webhook goes by itself)."""
        return await on_the_page(self.browser, self.sim, self.server, link, action, "Pay with M-Pesa")

    async def payment_status(self) -> str:
        """The status of the order's latest attempt."""
        return await payment_status(self.server)


@pytest.fixture
async def journey(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[Journey]:
    sim = FlutterwaveSimulator()
    runner = web.AppRunner(build_app(sim))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    sim_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    clock = MovableClock()
    secrets = {"secret_key": LIVE_KEY, "secret_hash": LIVE_HASH, "test_secret_key": TEST_KEY}
    secrets["test_secret_hash"] = TEST_HASH
    options = {"base_url": sim_url, "payment_options": "card,mpesa"}
    try:
        async with (
            shop_server(database, vault, tmp_path, webhooks=True) as server,
            httpx.AsyncClient(trust_env=False) as browser,
        ):
            server.clock = clock
            shop = await server.add_shop(providers={"flutterwave": (secrets, options)})
            await server.start()
            url = f"{server.base_url}/pay/flutterwave/{shop.slug}"
            sim.add_merchant(LIVE_KEY, LIVE_HASH, webhook_url=url)  # set once on each dashboard
            sim.add_merchant(TEST_KEY, TEST_HASH, webhook_url=url)
            merchant = server.person(shop, 9001, "Mama")
            await merchant.send("/start")
            customer = server.person(shop, 5001, "Wanjiru")
            yield Journey(server, sim, clock, merchant, customer, browser, shop.slug, sim_url)
    finally:
        await runner.cleanup()


async def redeliver(journey: Journey, sent: Outgoing, **headers: str | None) -> tuple[int, str]:
    changed = {**sent.headers, **headers}
    answer = await deliver(Delivery(journey.webhook_url, sent.body, {k: v for k, v in changed.items() if v}))
    await journey.server.settle()
    return answer


async def test_paid_on_the_page_then_the_webhook_duplicated_forged_and_refunded_from_the_chat(journey: Journey) -> None:
    server, sim, customer, merchant = journey.server, journey.sim, journey.customer, journey.merchant
    code, link = await journey.choose_flutterwave()
    txn = sim.last()
    assert (txn.key, txn.amount, txn.currency, txn.payment_options) == (LIVE_KEY, 420, "KES", "card,mpesa")
    assert "TEST MODE" not in customer.find(f"To pay KES 420 for order {code}").content

    back = await journey.checkout(link, "pay?channel=mpesa")
    location = back.headers["location"]
    assert location.startswith(f"{journey.webhook_url}/return?status=successful&tx_ref={txn.tx_ref}")
    assert customer.count(RECEIPT) == 1 and merchant.count(PAID_ALERT) == 1
    receipt = customer.find(RECEIPT)
    assert f"Order: {code}" in receipt.content and "Amount: KES 420" in receipt.content
    page = await journey.browser.get(location)
    assert page.status_code == 200 and "Payment received" in page.text and f"order {code} (KES 420)" in page.text

    # The same webhook again (Flutterwave retries), then forged and unsigned: nothing moves, nobody is told twice.
    webhook = sim.sent[-1]
    before = await server.snapshot()
    assert (await redeliver(journey, webhook))[0] == 200
    assert (await redeliver(journey, webhook, **{HASH_HEADER: "not-the-shops-secret-hash"}))[0] == 401
    assert (await redeliver(journey, webhook, **{HASH_HEADER: None}))[0] == 401
    assert await server.snapshot() == before
    assert customer.count(RECEIPT) == 1 and merchant.count(PAID_ALERT) == 1

    # A refund from the chat: Flutterwave refunds part of it; its refund webhook comes too and adds nothing.
    await merchant.send(f"/refund {code} 100")
    await merchant.tap("✅ Confirm: refund KES 100")
    runtime = server.runtime
    assert runtime is not None
    await runtime.reconciler.run_once()
    await sim.drain()
    await server.settle()
    assert [(refund.amount, refund.tx_id) for refund in sim.refunds] == [(100, txn.id)]
    assert customer.count("A refund of KES 100 for order") == 1
    assert (await journey.payment_status()) == PaymentStatus.PARTIALLY_REFUNDED


async def test_declined_then_abandoned_expires_and_a_late_payment_is_flagged(journey: Journey) -> None:
    server, customer, merchant = journey.server, journey.customer, journey.merchant
    code, link = await journey.choose_flutterwave()

    back = await journey.checkout(link, "fail")
    assert "status=failed" in back.headers["location"]
    told = customer.find("did not go through")
    assert f"order {code} (KES 420) did not go through" in told.content and told.buttons
    assert (await journey.payment_status()) == PaymentStatus.FAILED and customer.count(RECEIPT) == 0

    # Again, and this time the customer closes the page: Flutterwave knows no transaction, the shop waits.
    await customer.tap(METHOD)
    await server.settle()
    second = customer.messages[-1].button("🦋 Pay now").target
    assert second is not None and second != link
    back = await journey.checkout(second, "abandon")
    assert "status=cancelled" in back.headers["location"]
    page = await journey.browser.get(back.headers["location"])
    assert "Confirming your payment" in page.text  # the page marks nothing; verify is asked at once
    runtime = server.runtime
    assert runtime is not None
    await runtime.reconciler.run_once()
    assert (await journey.payment_status()) == PaymentStatus.PENDING

    journey.clock.advance(minutes=31)  # the shop's 30 minutes are up
    await runtime.reconciler.run_once()
    await server.settle()
    assert (await journey.payment_status()) == PaymentStatus.EXPIRED
    assert customer.count(f"The payment for order {code} (KES 420) timed out") == 1

    # The customer pays the old page after all: the money is real, the merchant is told it came late.
    await journey.checkout(second, "pay?channel=card")
    assert (await journey.payment_status()) == PaymentStatus.PAID
    assert customer.count(RECEIPT) == 1
    assert merchant.count("the payment arrived after the attempt had ended") == 1


async def test_test_mode_uses_the_test_key_and_a_test_payment_still_lands_after_going_live(journey: Journey) -> None:
    server, sim, customer, merchant = journey.server, journey.sim, journey.customer, journey.merchant
    await merchant.send("/testmode on")
    await merchant.tap("🧪 Yes, turn test mode on")
    code, test_link = await journey.choose_flutterwave()
    assert sim.last().key == TEST_KEY
    assert "TEST MODE" in customer.find(f"To pay KES 420 for order {code}").content

    await merchant.send("/testmode off")
    await merchant.tap("🟢 Yes, go live")
    await journey.checkout(test_link, "pay?channel=card")  # its webhook carries the test dashboard's secret hash
    assert sim.sent[-1].headers[HASH_HEADER] == TEST_HASH
    assert customer.count(RECEIPT) == 1

    live_code, _ = await journey.choose_flutterwave()
    assert sim.last().key == LIVE_KEY and live_code != code
    assert "TEST MODE" not in customer.find(f"To pay KES 420 for order {live_code}").content
    await server.settle()
