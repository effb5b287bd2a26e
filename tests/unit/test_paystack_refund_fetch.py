"""Fetching a refund (GET /refund/{id}) from the Paystack simulator, in its fast form and as a real server, and the
simulator's lost refund webhooks (recorded, not delivered, deliverable later) and reference-shaped refund events."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from core.clock import FakeClock
from core.money import Money
from payments.paystack.client import PaystackClient, PaystackError
from payments.paystack.facts import refund_facts
from payments.paystack.provider import refund_next_check
from sandbox.paystack.simulator import PaystackSimulator, serve
from tests.unit.test_paystack_simulator import HOOK, KEY, Inbox

API = "https://api.paystack.co"
# The keys of ``data`` in the reference's refund webhook sample (B.4), exactly.
DOCUMENTED_REFUND_EVENT_KEYS = {
    "status",
    "transaction_reference",
    "refund_reference",
    "amount",
    "currency",
    "processor",
    "customer",
    "integration",
    "domain",
}


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def sim(inbox: Inbox) -> AsyncIterator[PaystackSimulator]:
    simulator = PaystackSimulator(sender=inbox, clock=FakeClock(), refund_outcome=None, refund_webhooks=False)
    simulator.add_merchant(KEY, webhook_url=HOOK)
    yield simulator
    await simulator.close()


async def paid(client: PaystackClient, sim: PaystackSimulator, reference: str) -> None:
    await client.initialize(amount=Money(150000, "KES"), email="tg1@shop.example", reference=reference)
    await sim.pay(reference)


async def test_refund_webhooks_can_be_lost_and_delivered_later(sim: PaystackSimulator, inbox: Inbox) -> None:
    async with httpx.AsyncClient(transport=sim.mock_transport()) as http:
        client = PaystackClient(http, base_url=API, secret_key=KEY)
        await paid(client, sim, "F-1")
        sent = await client.refund("F-1", Money(50000, "KES"))
        await sim.settle_refund(sent.id or 0, "processed")
        await sim.drain()
        assert inbox.events() == ["charge.success"]  # the refund's webhooks never arrived...
        held = [event for event in sim.events if event.event.startswith("refund.")]
        assert [event.event for event in held] == ["refund.pending", "refund.processed"]  # ...though Paystack sent them

        fetched = await client.fetch_refund(sent.id)  # the reconciler's way to learn the state
        assert (fetched.id, fetched.status, fetched.amount, fetched.transaction_reference) == (
            sent.id,
            "processed",
            50000,
            "F-1",
        )
        assert refund_facts(fetched).event_key == f"refund.processed:F-1:{sent.id}"

        for event in held:
            sim.webhooks.resend(event.id)
        await sim.drain()
        assert inbox.events() == ["charge.success", "refund.pending", "refund.processed"]


async def test_refund_events_can_be_exactly_as_documented(sim: PaystackSimulator, inbox: Inbox) -> None:
    sim.refund_webhooks = True
    sim.refund_webhook_ids = False
    async with httpx.AsyncClient(transport=sim.mock_transport()) as http:
        client = PaystackClient(http, base_url=API, secret_key=KEY)
        await paid(client, sim, "F-2")
        await client.refund("F-2", Money(30000, "KES"))
        await sim.drain()
    (pending,) = [event for event in sim.events if event.event == "refund.pending"]
    assert set(pending.payload["data"]) == DOCUMENTED_REFUND_EVENT_KEYS
    assert pending.payload["data"]["amount"] == "30000"
    assert inbox.events() == ["charge.success", "refund.pending"]


async def test_fetch_through_the_simulators_server(sim: PaystackSimulator) -> None:
    async with serve(sim) as base_url, httpx.AsyncClient() as http:
        client = PaystackClient(http, base_url=base_url, secret_key=KEY)
        await paid(client, sim, "F-3")
        sent = await client.refund("F-3")
        raw = await http.get(f"{base_url}/refund/{sent.id}", headers={"Authorization": f"Bearer {KEY}"})
        assert raw.status_code == 200
        body = raw.json()
        assert (body["status"], body["message"], body["data"]["status"]) == (True, "Refund retrieved", "pending")
        assert body["data"]["transaction"]["reference"] == "F-3"  # the refund object of reference B.4
        await sim.settle_refund(sent.id or 0, "failed")
        assert (await client.fetch_refund(sent.id)).status == "failed"
        with pytest.raises(PaystackError) as unknown:
            await client.fetch_refund(1)
        assert (unknown.value.code, unknown.value.http_status) == ("not_found", 404)
        other = PaystackClient(http, base_url=base_url, secret_key="sk_test_not_a_merchant")
        with pytest.raises(PaystackError) as refused:
            await other.fetch_refund(sent.id)
        assert refused.value.code == "invalid_key"


def test_refund_checks_back_off_from_minutes_to_hours() -> None:
    waits = [refund_next_check(done).total_seconds() / 60 for done in range(10)]
    assert waits == [2, 10, 30, 60, 120, 240, 360, 360, 360, 360]
