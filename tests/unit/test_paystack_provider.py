"""The Paystack provider against the simulator behind an httpx MockTransport: start, query, confirm, check."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest

from core.clock import FakeClock
from core.money import Money
from payments.base import Outcome, StartRequest, review_reason
from payments.ingest import from_json, to_json
from payments.paystack.client import PaystackError
from payments.paystack.facts import transaction_facts
from payments.paystack.limits import AmountNotAllowed
from payments.paystack.options import asks_email, channels_option, synthetic_email
from payments.paystack.provider import FACTORY, PaystackProvider
from payments.paystack.wire import ChargeEvent, parse_webhook
from payments.registry import ProviderDeps, TenantProviderConfig
from sandbox.paystack.simulator import PaystackSimulator

TEST_KEY = "sk_test_unit000000000000000001"
LIVE_KEY = "sk_live_unit000000000000000001"


class Inbox:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        self.bodies.append(body)
        return 200


@pytest.fixture
async def sim() -> AsyncIterator[PaystackSimulator]:
    simulator = PaystackSimulator(clock=FakeClock(), sender=Inbox())
    simulator.add_merchant(TEST_KEY, webhook_url="https://shop.example/pay/paystack/duka")
    simulator.add_merchant(LIVE_KEY)
    yield simulator
    await simulator.close()


@pytest.fixture
async def http(sim: PaystackSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sim.mock_transport()) as client:
        yield client


def provider(http: httpx.AsyncClient, key: str = TEST_KEY, **options: Any) -> PaystackProvider:
    config = TenantProviderConfig(1, "duka", "Duka", "KES", False, {"secret_key": key}, options)
    assert FACTORY is not None
    built = FACTORY(config, ProviderDeps(http, FakeClock(), "https://shop.example/"))
    assert isinstance(built, PaystackProvider)
    return built


def request(reference: str = "dkref0001", minor: int = 150000, email: str | None = None) -> StartRequest:
    return StartRequest(
        payment_reference=reference,
        callback_token="t" * 40,
        tenant_slug="duka",
        order_code="A7K2QX",
        amount=Money(minor, "KES"),
        customer_phone=None,
        customer_email=email,
        shop_name="Duka",
        metadata={"tenant": "duka", "order": "A7K2QX", "chat": "123456789"},
    )


def test_options_and_schedule() -> None:
    assert synthetic_email("123456789") == "tg123456789@example.com"
    assert synthetic_email("-100200", "shop.example") == "tgn100200@shop.example"
    assert channels_option({"channels": " Card, mobile_money ,"}) == ("card", "mobile_money")
    assert channels_option({"channels": ["card"]}) == ("card",) and channels_option({}) == ()
    assert asks_email({"ask_email": "yes"}) and asks_email({"ask_email": True}) and not asks_email({})


async def test_schedule_and_lifetime(http: httpx.AsyncClient) -> None:
    paystack = provider(http)
    assert [paystack.next_check(n) for n in range(4)] == [timedelta(minutes=m) for m in (1, 2, 5, 5)]
    assert paystack.next_check(20) == timedelta(minutes=15)
    assert paystack.lifetime(timedelta(minutes=45)) == timedelta(minutes=45)


async def test_start_live_and_test(sim: PaystackSimulator, http: httpx.AsyncClient) -> None:
    live = await provider(http, LIVE_KEY, channels="card").start(request("dklive01", email="a@b.example"))
    assert live.text_key == "paystack.started" and live.link is not None
    txn = sim.transaction("dklive01")
    assert txn.email == "a@b.example" and txn.channels == ["card"]
    assert txn.callback_url == "https://shop.example/pay/paystack/duka/return"
    assert txn.metadata["cancel_action"] == "https://shop.example/pay/paystack/duka/return?reference=dklive01"
    test = await provider(http).start(request("dktest01"))
    # No email given: the message also says why the page shows a stand-in address.
    assert test.text_key == "paystack.started_test.placeholder_email" and test.values["card"] == "4084 0840 8408 4081"
    with pytest.raises(AmountNotAllowed) as refused:
        await provider(http).start(request("dktest02", minor=299))
    assert refused.value.code == "amount_below_minimum"


async def test_query_says_paid_or_failed_and_waits_on_the_rest(sim: PaystackSimulator, http: httpx.AsyncClient) -> None:
    paystack = provider(http)
    assert await paystack.query("dkunknown", None) is None  # not at Paystack (yet)
    for reference, outcome, expected in [
        ("dkq1", None, None),  # initialized, not paid: "abandoned" until the payment's own timeout
        ("dkq2", "failed", Outcome.FAILED),
        ("dkq3", "success", Outcome.PAID),
    ]:
        await paystack.start(request(reference))
        if outcome:
            await sim.pay(reference, outcome)
        event = await paystack.query(reference, None)
        assert (event.outcome if event else None) is expected
    paid = await paystack.query("dkq3", None)
    assert paid is not None and paid.event_key == "charge.success:dkq3" and paid.channel == "card"
    assert paid.amount == Money(150000, "KES")


async def test_confirm_believes_verify_and_flags_disagreements(sim: PaystackSimulator, http: httpx.AsyncClient) -> None:
    paystack = provider(http)
    await paystack.start(request("dkc1"))
    await sim.pay("dkc1")
    await sim.drain()
    event = parse_webhook(sim.events[-1].body)
    assert isinstance(event, ChargeEvent)
    confirmed = await paystack.confirm(transaction_facts(event.transaction))
    assert confirmed.outcome is Outcome.PAID and confirmed.review is None and confirmed.amount == Money(150000, "KES")

    unknown = await paystack.confirm(transaction_facts(replace(event.transaction, reference="dknever")))
    assert unknown.review is not None and "refused the reference" in unknown.review

    # The merchant reads why in their language; the event's record keeps it in English, and a queued event both.
    inflated = await paystack.confirm(transaction_facts(replace(event.transaction, amount=160000)))
    assert inflated.review == "the webhook said KES 1,600 but Verify says KES 1,500"
    assert review_reason(inflated, "sw") == "webhook ilisema Ksh\xa01,600 lakini Verify inasema Ksh\xa01,500"
    assert review_reason(from_json(to_json(inflated)), "fr") == (
        "le webhook indiquait 1\u202f600\xa0KES mais Verify indique 1\u202f500\xa0KES"
    )


async def test_check_reports_the_key_mode_and_never_the_key(http: httpx.AsyncClient) -> None:
    assert "test secret key" in await provider(http).check()
    with pytest.raises(PaystackError) as refused:
        await provider(http, "sk_live_nobody_knows_this_key_000").check()
    assert refused.value.code == "invalid_key" and "nobody_knows" not in str(refused.value)
