"""The Paystack simulator as a real aiohttp server on 127.0.0.1, driven by the real PaystackClient over httpx,
with webhooks delivered over HTTP to a small aiohttp receiver that checks signatures as our route will."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiohttp import web

from core.money import Money
from payments.base import InvalidCallback, Outcome
from payments.paystack.client import PaystackClient
from payments.paystack.facts import events_from_webhook, transaction_facts
from payments.paystack.signature import SIGNATURE_HEADER, is_valid
from sandbox.paystack.simulator import PaystackSimulator, serve
from sandbox.paystack.webhook_sender import RetryPolicy

KEY = "sk_test_integration_shop"
RETURN_URL = "https://shop.example/paystack/return"


@dataclass
class Receiver:
    """Our side of the webhook: verifies the signature on the raw bytes, then dedupes by event key."""

    answers: list[int] = field(default_factory=list)  # statuses to answer first (then 200)
    seen: list[tuple[bytes, bool, int]] = field(default_factory=list)  # body, signature ok, answered status
    applied: dict[str, str] = field(default_factory=dict)  # event key -> outcome, applied once
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        signature_ok = is_valid(body, request.headers.get(SIGNATURE_HEADER), KEY)
        status = self.answers.pop(0) if self.answers else 200
        try:
            events = events_from_webhook(body, dict(request.headers), KEY)
        except InvalidCallback as refused:
            status = refused.status
            events = []
        if status == 200:
            for event in events:
                self.applied.setdefault(event.event_key, event.outcome.value)
        self.seen.append((body, signature_ok, status))
        return web.Response(status=status, text="ok" if status == 200 else "no")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    inbox = Receiver()
    app = web.Application()
    app.router.add_post("/paystack/webhook", inbox.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    inbox.url = f"http://127.0.0.1:{runner.addresses[0][1]}/paystack/webhook"
    yield inbox
    await runner.cleanup()


async def _stack(
    receiver: Receiver, *, duplicate_deliveries: int = 1
) -> AsyncIterator[tuple[PaystackSimulator, PaystackClient, httpx.AsyncClient]]:
    """The simulator served on 127.0.0.1 (retries every 10 ms), and the real client pointed at it."""
    sim = PaystackSimulator(
        retry=RetryPolicy((0.01, 0.01, 0.01), attempt_timeout=2.0),
        refund_delay=0.01,
        duplicate_deliveries=duplicate_deliveries,
    )
    sim.add_merchant(KEY, webhook_url=receiver.url)
    async with serve(sim) as base_url, httpx.AsyncClient(timeout=5.0) as http:
        yield sim, PaystackClient(http, base_url=base_url, secret_key=KEY), http


@pytest.fixture
async def stack(receiver: Receiver) -> AsyncIterator[tuple[PaystackSimulator, PaystackClient, httpx.AsyncClient]]:
    async for parts in _stack(receiver):
        yield parts


async def test_pay_through_the_checkout_page(
    stack: tuple[PaystackSimulator, PaystackClient, httpx.AsyncClient], receiver: Receiver
) -> None:
    sim, client, http = stack
    started = await client.initialize(
        amount=Money.parse("1500", "KES"),
        email="tg123456789@shop.example",
        reference="ORD-12345-1",
        callback_url=RETURN_URL,
        metadata={"order_id": "12345"},
        channels=["card", "mobile_money"],
    )
    assert started.authorization_url.startswith(client.base_url + "/checkout/")

    page = await http.get(started.authorization_url)
    assert page.status_code == 200
    assert "KES 1,500.00" in page.text and "TEST MODE" in page.text and "mobile_money" in page.text

    answer = await http.post(started.authorization_url, data={"action": "success", "channel": "mobile_money"})
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == RETURN_URL
    assert parse_qs(location.query) == {"trxref": ["ORD-12345-1"], "reference": ["ORD-12345-1"]}

    await sim.drain()
    [(_, signature_ok, status)] = receiver.seen
    assert signature_ok and status == 200
    assert receiver.applied == {"charge.success:ORD-12345-1": "paid"}

    verified = await client.verify("ORD-12345-1")
    facts = transaction_facts(verified)
    assert (facts.outcome, facts.amount, facts.channel) == (Outcome.PAID, Money(150000, "KES"), "mobile_money")
    assert facts.event_key == "charge.success:ORD-12345-1"  # the same key as the webhook: applied once
    assert verified.metadata == {"order_id": "12345"}


async def test_an_abandoned_link_is_only_learnt_by_verify(
    stack: tuple[PaystackSimulator, PaystackClient, httpx.AsyncClient], receiver: Receiver
) -> None:
    sim, client, http = stack
    untouched = await client.initialize(amount=Money(30000, "KES"), email="a@shop.example", reference="ABN-0")
    started = await client.initialize(amount=Money(30000, "KES"), email="a@shop.example", reference="ABN-1")
    await http.get(started.authorization_url)
    page = await http.post(started.authorization_url, data={"action": "abandon"})
    assert page.status_code == 200 and "cancelled" in page.text
    for reference in (untouched.reference, started.reference):
        facts = transaction_facts(await client.verify(reference))
        assert (facts.status, facts.outcome, facts.final) == ("abandoned", Outcome.CANCELLED, False)
    await sim.drain()
    assert receiver.seen == []


async def test_a_failed_card_is_only_learnt_by_verify(
    stack: tuple[PaystackSimulator, PaystackClient, httpx.AsyncClient], receiver: Receiver
) -> None:
    sim, client, http = stack
    started = await client.initialize(amount=Money(30000, "KES"), email="a@shop.example", reference="PIN-1")
    await http.post(
        started.authorization_url, data={"action": "card", "card_number": "507850785078507812", "cvv": "081"}
    )
    wrong = await http.post(started.authorization_url, data={"action": "pin", "pin": "0000"})
    assert wrong.status_code == 400
    facts = transaction_facts(await client.verify("PIN-1"))
    assert (facts.outcome, facts.reason) == (Outcome.FAILED, "Incorrect PIN")
    await sim.drain()
    assert receiver.seen == []


async def test_duplicate_deliveries_are_applied_once(receiver: Receiver) -> None:
    async for sim, client, _ in _stack(receiver, duplicate_deliveries=3):
        await client.initialize(amount=Money(30000, "KES"), email="a@shop.example", reference="DUP-1")
        await sim.pay("DUP-1")
        await sim.drain()
    assert len(receiver.seen) == 3
    assert len({body for body, _, _ in receiver.seen}) == 1
    assert all(ok and status == 200 for _, ok, status in receiver.seen)
    assert receiver.applied == {"charge.success:DUP-1": "paid"}
    assert sorted(d.copy for d in sim.deliveries) == [1, 2, 3]


async def test_a_500_is_retried_until_200(
    stack: tuple[PaystackSimulator, PaystackClient, httpx.AsyncClient], receiver: Receiver
) -> None:
    sim, client, _ = stack
    receiver.answers = [500, 500]
    await client.initialize(amount=Money(30000, "KES"), email="a@shop.example", reference="RTY-1")
    await sim.pay("RTY-1")
    await sim.drain()
    assert [(d.attempt, d.status) for d in sim.deliveries] == [(1, 500), (2, 500), (3, 200)]
    assert [status for _, _, status in receiver.seen] == [500, 500, 200]
    assert receiver.applied == {"charge.success:RTY-1": "paid"}


async def test_a_forged_webhook_is_refused(
    stack: tuple[PaystackSimulator, PaystackClient, httpx.AsyncClient], receiver: Receiver
) -> None:
    _, _, http = stack
    body = b'{"event":"charge.success","data":{"reference":"X","amount":1,"currency":"KES","status":"success"}}'
    answer = await http.post(receiver.url, content=body, headers={SIGNATURE_HEADER: "0" * 128})
    assert answer.status_code == 401
    assert receiver.applied == {}


async def test_partial_then_full_refund_with_webhooks(
    stack: tuple[PaystackSimulator, PaystackClient, httpx.AsyncClient], receiver: Receiver
) -> None:
    sim, client, _ = stack
    await client.initialize(amount=Money(150000, "KES"), email="a@shop.example", reference="RF-1")
    await sim.pay("RF-1")
    await sim.drain()

    partial = await client.refund("RF-1", Money(50000, "KES"), customer_note="one item was missing")
    assert (partial.status, partial.amount) == ("pending", 50000)
    await sim.drain()
    assert (await client.fetch_refund(partial.id)).status == "processed"
    assert (await client.verify("RF-1")).status == "success"

    rest = await client.refund("RF-1")
    assert rest.amount == 100000
    await sim.drain()
    assert (await client.verify("RF-1")).status == "reversed"

    assert all(ok and status == 200 for _, ok, status in receiver.seen)
    assert receiver.applied == {
        "charge.success:RF-1": "paid",
        f"refund.pending:RF-1:{partial.id}": "pending",
        f"refund.processed:RF-1:{partial.id}": "refunded",
        f"refund.pending:RF-1:{rest.id}": "pending",
        f"refund.processed:RF-1:{rest.id}": "refunded",
    }
