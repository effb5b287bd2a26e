"""FeexPay through the real server: the chat on the fake Telegram (in a Beninese shop selling in XOF), the app's
callback route on a real socket, and FeexPay's simulator as a real server whose phone approves, declines or lets the
request time out, and whose callbacks go to the shop by themselves, as the merchant's dashboard sets them up. The
callback is unsigned: it is only a hint, and the status endpoint decides every time."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db.engine import Database
from core.db.tables import Payment
from core.vault import Vault
from payments.states import PaymentStatus
from sandbox.feexpay.entry import SIMULATOR
from sandbox.feexpay.simulator import FeexPaySimulator, SentCallback
from tests.contract.conftest import catalog_for
from tests.contract.kits import Delivery, deliver, done_twice
from tests.support.app import Person, ShopServer, place_order, shop_server
from tests.support.clocks import MovableClock

LIVE_KEY, TEST_KEY = "fp_live_journey0000000000000000001", "fp_test_journey0000000000000000001"
LIVE_SHOP, TEST_SHOP = "journey-shop-live", "journey-shop-test"
METHOD, PHONE = "📲 Mobile Money (FeexPay)", "+229 01 97 00 00 00"
SEND_MTN = "✅ Send to 01 97 00 00 00 (MTN MoMo)"
PRODUCT, RECEIPT, PAID_ALERT = "Pishori Rice 2kg · XOF 42,000", "Payment received", "is paid: XOF 42,000"


@dataclass
class Journey:
    server: ShopServer
    sim: FeexPaySimulator
    clock: MovableClock
    merchant: Person
    customer: Person
    slug: str

    @property
    def callback_url(self) -> str:
        return f"{self.server.base_url}/pay/feexpay/{self.slug}"

    async def order(self) -> str:
        return await place_order(self.customer, product=PRODUCT, phone=PHONE)

    async def send(self, button: str = SEND_MTN) -> None:
        """Under the proposal (the order's phone, its network by prefix), the customer presses ``button``."""
        await self.customer.tap(button)
        await self.server.settle()

    async def phone(self, answer: str) -> None:
        """The phone answers the request waiting on it; FeexPay's callback goes to the shop by itself."""
        getattr(self.sim, answer)()
        await self.sim.drain()
        await self.server.settle()

    async def post(self, body: bytes) -> int:
        status, _ = await deliver(Delivery(self.callback_url, body, {"Content-Type": "application/json"}))
        await self.server.settle()
        return status

    async def statuses(self) -> list[str]:
        async with self.server.database.uow() as uow:
            return list(await uow.session.scalars(select(Payment.status).order_by(Payment.id)))

    async def reconcile(self, **later: float) -> None:
        runtime = self.server.runtime
        assert runtime is not None
        self.clock.advance(**later)
        await runtime.reconciler.run_once()
        await self.server.settle()


@pytest.fixture
async def journey(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[Journey]:
    sim, clock = FeexPaySimulator(), MovableClock()
    async with SIMULATOR.serve(sim) as sim_url, shop_server(database, vault, tmp_path, webhooks=True) as server:
        server.clock = clock
        secrets = {"api_key": LIVE_KEY, "test_api_key": TEST_KEY}
        options = {"shop_id": LIVE_SHOP, "test_shop_id": TEST_SHOP, "base_url": sim_url}
        shop = await server.add_shop(
            region="BJ", currency="XOF", catalog=catalog_for("XOF"), providers={"feexpay": (secrets, options)}
        )
        await server.start()
        url = f"{server.base_url}/pay/feexpay/{shop.slug}"
        sim.add_merchant(LIVE_KEY, LIVE_SHOP, callback_url=url)  # set once on each dashboard
        sim.add_merchant(TEST_KEY, TEST_SHOP, sandbox=True, callback_url=url)
        merchant = server.person(shop, 9001, "Mama")
        await merchant.send("/start")
        yield Journey(server, sim, clock, merchant, server.person(shop, 5001, "Koffi"), shop.slug)


async def test_paid_on_the_phone_callbacks_duplicated_reordered_and_forged_then_refunded_from_the_chat(
    journey: Journey,
) -> None:
    server, sim, customer, merchant = journey.server, journey.sim, journey.customer, journey.merchant
    code = await journey.order()
    await customer.tap(METHOD)
    proposal = customer.messages[-1]
    assert "Pay XOF 42,000 for order" in proposal.content and "with MTN MoMo?" in proposal.content
    offered = [label for row in proposal.buttons for label, _ in row]
    assert offered[:4] == [SEND_MTN, "📶 Use Moov Money", "📶 Use Celtiis Cash", "📞 Another number"], offered
    await journey.send()
    request = sim.last()
    assert (request.key, request.network, request.phone, request.amount) == (LIVE_KEY, "mtn", "2290197000000", 42000)
    started = customer.find("Approve the payment request of XOF 42,000")
    assert f"order {code}" in started.content and "TEST MODE" not in started.content
    pending_hint = sim.callback(request).body  # what FeexPay would have said before the phone answered

    await journey.phone("approve")
    assert await journey.statuses() == [PaymentStatus.PAID]
    assert customer.count(RECEIPT) == 1 and merchant.count(PAID_ALERT) == 1
    receipt = customer.find(RECEIPT)
    assert f"Order: {code}" in receipt.content and "Amount: XOF 42,000" in receipt.content

    # Delivered again, an older "pending" one arriving last, one naming a request FeexPay never made, one without a
    # reference, and one that lies about the amount: only the status endpoint is believed, and it says paid, once.
    paid_hint: SentCallback = sim.sent[-1]
    lying = json.loads(paid_hint.body) | {"amount": 1, "status": "FAILED"}
    made_up = json.loads(paid_hint.body) | {"reference": "FXP-99999999"}
    before = await server.snapshot()
    assert await journey.post(paid_hint.body) == 200
    assert await journey.post(paid_hint.body) == 200
    assert await journey.post(pending_hint) == 200
    assert await journey.post(json.dumps(lying).encode()) == 200
    assert await journey.post(json.dumps(made_up).encode()) == 404
    assert await journey.post(b'{"status": "SUCCESSFUL"}') == 400
    assert await server.snapshot() == before
    assert customer.count(RECEIPT) == 1 and merchant.count(PAID_ALERT) == 1

    # FeexPay refunds nothing by API: the shop's /refund becomes the merchant's task, done by hand, told once.
    await merchant.send(f"/refund {code} 10000")
    await merchant.tap("✅ Confirm: refund XOF 10,000")
    await server.settle()
    await done_twice(merchant, "XOF 10,000")
    await server.settle()
    assert customer.count("The shop has sent you XOF 10,000 back") == 1
    assert await journey.statuses() == [PaymentStatus.PARTIALLY_REFUNDED]


async def test_declined_timed_out_on_the_phone_then_abandoned_until_it_expires(journey: Journey) -> None:
    server, customer = journey.server, journey.customer
    code = await journey.order()
    await customer.tap(METHOD)
    await journey.send()
    await journey.phone("decline")
    told = customer.find("did not go through")
    assert f"order {code} (XOF 42,000) did not go through" in told.content and told.buttons

    await customer.tap(METHOD)
    await journey.send()
    await journey.phone("time_out")
    assert await journey.statuses() == [PaymentStatus.FAILED, PaymentStatus.FAILED]
    assert customer.count("did not go through") == 2

    # A third request the customer never answers: asked about on schedule while it waits, then expired.
    await customer.tap(METHOD)
    await journey.send()
    await customer.tap(SEND_MTN)  # pressed again while it is on the phone: no second request
    assert len(journey.sim.requests) == 3
    await journey.reconcile(seconds=20)
    assert (await journey.statuses())[-1] == PaymentStatus.PENDING
    await journey.reconcile(minutes=31)  # the shop's 30 minutes are up
    assert (await journey.statuses())[-1] == PaymentStatus.EXPIRED
    assert customer.count(f"The payment for order {code} (XOF 42,000) timed out") == 1
    assert customer.count(RECEIPT) == 0
    await server.settle()


async def test_a_lost_callback_is_settled_by_the_status_query_on_the_network_the_customer_chose(
    journey: Journey,
) -> None:
    sim, customer, merchant = journey.sim, journey.customer, journey.merchant
    for account in sim.merchants.values():
        account.callback_url = None  # the callbacks never arrive
    await journey.order()
    await customer.tap(METHOD)
    await journey.send("📶 Use Moov Money")  # the number was ported: the customer corrects the prefix's guess
    assert sim.last().network == "moov"
    assert customer.count("on your phone 01 97 00 00 00 (Moov Money)") == 1
    await journey.phone("approve")
    assert await journey.statuses() == [PaymentStatus.PENDING]
    await journey.reconcile(seconds=20)
    assert await journey.statuses() == [PaymentStatus.PAID]
    assert customer.count(RECEIPT) == 1 and merchant.count(PAID_ALERT) == 1


async def test_test_mode_sends_every_request_with_the_sandbox_key_and_says_so(journey: Journey) -> None:
    sim, customer, merchant = journey.sim, journey.customer, journey.merchant
    await merchant.send("/testmode on")
    await merchant.tap("🧪 Yes, turn test mode on")
    await journey.order()
    await customer.tap(METHOD)
    assert "TEST MODE" in customer.messages[-1].content
    await journey.send()
    assert sim.last().key == TEST_KEY and sim.last().reference.startswith("SBX-")
    assert customer.count("TEST MODE – no real money moves.\n\n📲 Approve") == 1
    await journey.phone("approve")
    assert await journey.statuses() == [PaymentStatus.PAID] and customer.count(RECEIPT) == 1
