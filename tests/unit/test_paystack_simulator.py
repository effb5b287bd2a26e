"""The Paystack simulator in its fast form (MockTransport + an injected webhook sender)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest

from core.clock import FakeClock
from payments.paystack.signature import SIGNATURE_HEADER, is_valid
from payments.paystack.wire import RefundEvent, parse_webhook
from sandbox.paystack.simulator import PaystackSimulator, SimulatorError, serve
from sandbox.paystack.webhook_sender import (
    DEFAULT_SCALE,
    HOUR,
    RetryPolicy,
    client_sender,
    is_loopback_url,
    loopback_sender,
)

KEY = "sk_test_shop1"
LIVE_KEY = "sk_live_shop2"
HOOK = "http://127.0.0.1:8080/paystack/webhook"
API = "https://api.paystack.co"


class Inbox:
    """A webhook receiver for the injected sender: answers from ``statuses`` (then 200) and keeps each call."""

    def __init__(self, statuses: tuple[int, ...] = (), delay: float = 0.0) -> None:
        self.statuses = list(statuses)
        self.delay = delay
        self.calls: list[tuple[str, bytes, dict[str, str]]] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        self.calls.append((url, body, dict(headers)))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 0:
            raise ConnectionRefusedError("nobody listening")
        return status

    def events(self) -> list[str]:
        return [json.loads(body)["event"] for _, body, _ in self.calls]


class Sleeps:
    """A sleep that only records: retry schedules run instantly."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def sim(inbox: Inbox) -> AsyncIterator[PaystackSimulator]:
    simulator = PaystackSimulator(sender=inbox, clock=FakeClock(), refund_outcome=None)
    simulator.add_merchant(KEY, webhook_url=HOOK, callback_url="https://shop.example/return")
    simulator.add_merchant(LIVE_KEY, webhook_url=HOOK)
    yield simulator
    await simulator.close()


@pytest.fixture
async def http(sim: PaystackSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sim.mock_transport(), base_url=API) as client:
        yield client


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def initialize(http: httpx.AsyncClient, key: str = KEY, **fields: Any) -> dict[str, Any]:
    body = {"email": "tg1@shop.example", "amount": 150000, "currency": "KES", **fields}
    response = await http.post("/transaction/initialize", json=body, headers=auth(key))
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def verify(http: httpx.AsyncClient, reference: str, key: str = KEY) -> dict[str, Any]:
    response = await http.get(f"/transaction/verify/{reference}", headers=auth(key))
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


# --- API answers --------------------------------------------------------------------------------------


async def test_initialize_answers_like_paystack(http: httpx.AsyncClient) -> None:
    response = await http.post("/transaction/initialize", json={"email": "a@b.co", "amount": "20000"}, headers=auth())
    body = response.json()
    assert response.status_code == 200
    assert body["status"] is True and body["message"] == "Authorization URL created"
    assert set(body["data"]) == {"authorization_url", "access_code", "reference"}
    assert body["data"]["authorization_url"] == f"{API}/checkout/{body['data']['access_code']}"
    data = await verify(http, body["data"]["reference"])
    assert (data["status"], data["amount"], data["currency"], data["domain"]) == ("abandoned", 20000, "KES", "test")
    assert data["gateway_response"] == "The transaction was not completed" and data["metadata"] == ""


async def test_form_encoded_initialize_is_accepted(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/transaction/initialize",
        data={"email": "a@b.co", "amount": "5000", "currency": "NGN", "reference": "F-1"},
        headers=auth(),
    )
    assert response.status_code == 200 and response.json()["data"]["reference"] == "F-1"


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"email": ""}, 400, "Email is not allowed to be empty"),
        ({"email": "not an email"}, 400, "Invalid Email Address Passed"),
        ({"amount": 0}, 400, "Invalid Amount Sent"),
        ({"amount": 12.5}, 400, "Invalid Amount Sent"),
        ({"amount": 299}, 400, "Invalid Amount Sent"),  # below KES 3.00
        ({"amount": 4999, "currency": "NGN"}, 400, "Invalid Amount Sent"),
        ({"amount": 1_000_000_001}, 400, "Transaction amount limit exceeded"),
        ({"reference": "ORD 1"}, 400, "Invalid character in transaction reference"),
        ({"currency": "UGX"}, 400, "Currency not supported by merchant"),
    ],
)
async def test_initialize_refusals(http: httpx.AsyncClient, fields: dict[str, Any], status: int, message: str) -> None:
    body = {"email": "a@b.co", "amount": 150000, "currency": "KES", **fields}
    response = await http.post("/transaction/initialize", json=body, headers=auth())
    assert response.status_code == status
    assert response.json()["status"] is False and response.json()["message"] == message


async def test_invalid_amount_has_paystacks_error_fields(http: httpx.AsyncClient) -> None:
    response = await http.post("/transaction/initialize", json={"email": "a@b.co", "amount": 1}, headers=auth())
    body = response.json()
    assert (body["type"], body["code"]) == ("validation_error", "invalid_amount")
    assert body["meta"]["nextStep"]


async def test_duplicate_reference_body(http: httpx.AsyncClient) -> None:
    await initialize(http, reference="ORD-9")
    response = await http.post(
        "/transaction/initialize", json={"email": "a@b.co", "amount": 300, "reference": "ORD-9"}, headers=auth()
    )
    assert response.status_code == 400
    assert response.json() == {
        "status": False,
        "message": "Duplicate Transaction Reference",
        "meta": {"nextStep": "Try and create the Transaction or Charge with a new reference"},
        "type": "validation_error",
        "code": "duplicate_reference",
        "errorCodeMappingNotFound": False,
    }


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer sk_test_unknown"}, {"Authorization": KEY}])
async def test_keys_it_does_not_know_get_401(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await http.get("/transaction/verify/X", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"status": False, "message": "Invalid key"}


async def test_unknown_reference_and_route(http: httpx.AsyncClient) -> None:
    response = await http.get("/transaction/verify/NOPE", headers=auth())
    assert response.status_code == 400
    assert response.json() == {"status": False, "message": "Transaction reference not found"}
    assert (await http.get("/nothing/here", headers=auth())).status_code == 404


async def test_live_key_gives_live_domain(http: httpx.AsyncClient) -> None:
    data = await initialize(http, key=LIVE_KEY, reference="L-1")
    assert (await verify(http, "L-1", key=LIVE_KEY))["domain"] == "live"
    page = await http.get(data["authorization_url"])
    assert "TEST MODE" not in page.text


def test_only_paystack_secret_keys_are_accepted() -> None:
    sim = PaystackSimulator()
    with pytest.raises(ValueError):
        sim.add_merchant("pk_test_public")
    with pytest.raises(SimulatorError) as caught:
        sim.set_webhook_url("sk_test_unknown_secret", HOOK)
    assert "sk_test_unknown_secret" not in str(caught.value)


async def test_webhooks_through_an_httpx_client_to_a_test_app() -> None:
    received: list[httpx.Request] = []

    def our_route(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(our_route)) as to_us:
        sim = PaystackSimulator(sender=client_sender(to_us))
        sim.add_merchant(KEY, webhook_url="https://bot.example/paystack/webhook")
        async with httpx.AsyncClient(transport=sim.mock_transport(), base_url=API) as client:
            await initialize(client, reference="H-1")
        await sim.pay("H-1")
        await sim.drain()
    [request] = received
    assert str(request.url) == "https://bot.example/paystack/webhook"
    assert is_valid(request.content, request.headers[SIGNATURE_HEADER], KEY)


# --- webhooks -----------------------------------------------------------------------------------------


async def test_success_sends_a_signed_charge_success(
    http: httpx.AsyncClient, sim: PaystackSimulator, inbox: Inbox
) -> None:
    await initialize(http, reference="ORD-1", metadata={"order_id": "1"})
    await sim.pay("ORD-1", channel="mobile_money")
    await sim.drain()
    [(url, body, headers)] = inbox.calls
    assert url == HOOK
    assert headers["Content-Type"] == "application/json"
    assert is_valid(body, headers[SIGNATURE_HEADER], KEY)
    assert not is_valid(body, headers[SIGNATURE_HEADER], LIVE_KEY)
    payload = json.loads(body)
    assert payload["event"] == "charge.success"
    data = payload["data"]
    assert (data["reference"], data["status"], data["amount"], data["currency"]) == ("ORD-1", "success", 150000, "KES")
    assert data["channel"] == "mobile_money" and data["metadata"] == {"order_id": "1"}
    assert data["paid_at"] == "2026-01-15T09:00:00.000Z"  # the FakeClock's time
    [delivery] = sim.deliveries
    assert (delivery.status, delivery.attempt, delivery.ok, delivery.at) == (200, 1, True, sim.clock.now())
    verified = await verify(http, "ORD-1")
    assert verified["status"] == "success" and verified["gateway_response"] == "Successful"


@pytest.mark.parametrize("outcome", ["failed", "abandoned"])
async def test_no_webhook_for_failed_or_abandoned(
    http: httpx.AsyncClient, sim: PaystackSimulator, inbox: Inbox, outcome: str
) -> None:
    await initialize(http, reference="ORD-2")
    await sim.pay("ORD-2", outcome=outcome)
    await sim.drain()
    assert inbox.calls == [] and sim.events == []
    assert (await verify(http, "ORD-2"))["status"] == outcome


async def test_an_abandoned_link_can_still_be_paid_but_a_failed_one_cannot(
    http: httpx.AsyncClient, sim: PaystackSimulator
) -> None:
    await initialize(http, reference="A-1")
    await initialize(http, reference="F-1")
    await sim.pay("A-1", outcome="abandoned")
    await sim.pay("A-1")
    await sim.pay("F-1", outcome="failed")
    with pytest.raises(SimulatorError, match="spent"):
        await sim.pay("F-1")
    with pytest.raises(SimulatorError, match="spent"):
        await sim.pay("A-1")
    with pytest.raises(SimulatorError):
        await sim.pay("NOPE-1")
    with pytest.raises(SimulatorError):
        await sim.pay("A-1", outcome="maybe")


async def test_retries_after_non_200_on_the_test_mode_schedule(http: httpx.AsyncClient) -> None:
    inbox, sleeps = Inbox(statuses=(500, 0, 201)), Sleeps()
    sim = PaystackSimulator(sender=inbox, sleep=sleeps)
    sim.add_merchant(KEY, webhook_url=HOOK)
    async with httpx.AsyncClient(transport=sim.mock_transport(), base_url=API) as client:
        await initialize(client, reference="R-1")
    await sim.pay("R-1")
    await sim.drain()
    assert [(d.attempt, d.status) for d in sim.deliveries] == [(1, 500), (2, None), (3, 201), (4, 200)]
    assert sim.deliveries[1].error == "ConnectionRefusedError: nobody listening"
    assert sleeps.delays == [HOUR * DEFAULT_SCALE] * 3  # "hourly", compressed
    assert len({body for _, body, _ in inbox.calls}) == 1  # every retry sends the same bytes


async def test_retries_stop_when_the_schedule_ends() -> None:
    inbox = Inbox(statuses=(503,) * 10)
    sim = PaystackSimulator(sender=inbox, retry=RetryPolicy((0.0, 0.0)))
    sim.add_merchant(KEY, webhook_url=HOOK)
    async with httpx.AsyncClient(transport=sim.mock_transport(), base_url=API) as client:
        await initialize(client, reference="R-2")
    await sim.pay("R-2")
    await sim.drain()
    assert [d.status for d in sim.deliveries] == [503, 503, 503]


async def test_a_slow_receiver_times_out_and_is_retried() -> None:
    inbox = Inbox(delay=0.2)
    sim = PaystackSimulator(sender=inbox, retry=RetryPolicy((0.0,), attempt_timeout=0.02))
    sim.add_merchant(KEY, webhook_url=HOOK)
    async with httpx.AsyncClient(transport=sim.mock_transport(), base_url=API) as client:
        await initialize(client, reference="R-3")
    await sim.pay("R-3")
    await sim.drain()
    assert [(d.status, d.error) for d in sim.deliveries] == [(None, "timeout"), (None, "timeout")]


def test_paystack_schedules() -> None:
    live = RetryPolicy.paystack_live(scale=1.0)
    assert live.delays[:4] == (180.0,) * 4 and live.delays[4:] == (3600.0,) * 72
    assert RetryPolicy.paystack_test(scale=1.0).delays == (3600.0,) * 10
    assert sum(RetryPolicy.paystack_test().delays) < 1.0  # compressed by default


async def test_duplicate_deliveries_some_at_once() -> None:
    inbox = Inbox(delay=0.01)
    sim = PaystackSimulator(sender=inbox, duplicate_deliveries=4)
    sim.add_merchant(KEY, webhook_url=HOOK)
    async with httpx.AsyncClient(transport=sim.mock_transport(), base_url=API) as client:
        await initialize(client, reference="D-1")
    await sim.pay("D-1")
    await sim.drain()
    assert len(inbox.calls) == 4
    assert len({(body, headers[SIGNATURE_HEADER]) for _, body, headers in inbox.calls}) == 1
    assert inbox.max_in_flight == 2
    assert sorted(d.copy for d in sim.deliveries) == [1, 2, 3, 4]
    [event] = sim.events
    sim.webhooks.resend(event.id, copies=2)
    await sim.drain()
    assert len(inbox.calls) == 6


async def test_no_webhook_url_means_the_event_is_only_recorded(http: httpx.AsyncClient, sim: PaystackSimulator) -> None:
    sim.set_webhook_url(KEY, None)
    await initialize(http, reference="N-1")
    await sim.pay("N-1")
    await sim.drain()
    assert [e.event for e in sim.events] == ["charge.success"] and sim.deliveries == []
    with pytest.raises(ValueError):
        sim.webhooks.resend(sim.events[0].id)


async def test_the_default_sender_only_talks_to_this_machine() -> None:
    assert is_loopback_url("http://127.0.0.1:8080/x") and is_loopback_url("http://localhost/x")
    assert is_loopback_url("http://[::1]:9/x")
    assert not is_loopback_url("https://example.com/hook") and not is_loopback_url("http://10.0.0.1/x")
    with pytest.raises(PermissionError):
        await loopback_sender()("https://example.com/hook", b"{}", {})
    with pytest.raises(ValueError):
        async with serve(PaystackSimulator(), host="0.0.0.0"):  # noqa: S104 - the point is that it is refused
            pass


# --- refunds ------------------------------------------------------------------------------------------


async def _paid(http: httpx.AsyncClient, sim: PaystackSimulator, reference: str) -> None:
    await initialize(http, reference=reference)
    await sim.pay(reference)


async def test_refund_lifecycle_with_each_webhook(
    http: httpx.AsyncClient, sim: PaystackSimulator, inbox: Inbox
) -> None:
    await _paid(http, sim, "P-1")
    response = await http.post("/refund", json={"transaction": "P-1", "amount": 50000}, headers=auth())
    assert response.status_code == 200
    assert response.json()["message"] == "Refund has been queued for processing"
    refund_id = response.json()["data"]["id"]
    await sim.settle_refund(refund_id, "processing")
    await sim.settle_refund(refund_id, "processed")
    await sim.drain()
    assert inbox.events() == ["charge.success", "refund.pending", "refund.processing", "refund.processed"]
    processed = parse_webhook(inbox.calls[-1][1])
    assert isinstance(processed, RefundEvent)
    assert processed.raw["data"]["amount"] == "50000"  # a string, as in the reference sample
    assert (processed.refund.id, processed.refund.transaction_reference) == (refund_id, "P-1")
    for _, body, headers in inbox.calls:
        assert is_valid(body, headers[SIGNATURE_HEADER], KEY)
    assert (await verify(http, "P-1"))["status"] == "success"  # partly refunded
    with pytest.raises(SimulatorError):
        await sim.settle_refund(refund_id, "failed")


async def test_refund_failure_frees_the_amount_and_needs_attention(
    http: httpx.AsyncClient, sim: PaystackSimulator, inbox: Inbox
) -> None:
    sim.refund_amount_as_string = False
    await _paid(http, sim, "P-2")
    first = (await http.post("/refund", json={"transaction": "P-2"}, headers=auth())).json()["data"]
    blocked = await http.post("/refund", json={"transaction": "P-2", "amount": 300}, headers=auth())
    assert blocked.status_code == 400  # the whole amount is already being refunded
    await sim.settle_refund(first["id"], "needs-attention")
    await sim.settle_refund(first["id"], "failed")
    again = await http.post("/refund", json={"transaction": "P-2", "currency": "KES"}, headers=auth())
    assert again.status_code == 200
    await sim.settle_refund(again.json()["data"]["id"])
    await sim.drain()
    assert inbox.events()[1:] == [
        "refund.pending",
        "refund.needs-attention",
        "refund.failed",
        "refund.pending",
        "refund.processed",
    ]
    assert json.loads(inbox.calls[-1][1])["data"]["amount"] == 150000  # a number this time
    assert (await verify(http, "P-2"))["status"] == "reversed"
    fetched = await http.get(f"/refund/{first['id']}", headers=auth())
    assert fetched.json()["data"]["status"] == "failed"
    listed = await http.get("/refund", params={"perPage": 1, "page": 2}, headers=auth())
    assert listed.json()["meta"] == {"total": 2, "skipped": 1, "perPage": 1, "page": 2, "pageCount": 2}


async def test_refunds_settle_by_themselves_when_asked(inbox: Inbox) -> None:
    sim = PaystackSimulator(sender=inbox, refund_outcome="processed", refund_delay=0.0)
    sim.add_merchant(KEY, webhook_url=HOOK)
    async with httpx.AsyncClient(transport=sim.mock_transport(), base_url=API) as client:
        await _paid(client, sim, "P-3")
        await client.post("/refund", json={"transaction": "P-3", "amount": 1000}, headers=auth())
        await sim.drain()
        assert inbox.events() == ["charge.success", "refund.pending", "refund.processed"]
        assert (await verify(client, "P-3"))["status"] == "success"


async def test_refund_refusals(http: httpx.AsyncClient, sim: PaystackSimulator) -> None:
    await initialize(http, reference="U-1")
    await _paid(http, sim, "P-4")
    cases = [
        ({"transaction": "NOPE"}, 404),
        ({"transaction": "U-1"}, 400),
        ({"transaction": "P-4", "amount": 150001}, 400),
        ({"transaction": "P-4", "amount": 0}, 400),
        ({"transaction": "P-4", "currency": "NGN"}, 400),
    ]
    for body, status in cases:
        response = await http.post("/refund", json=body, headers=auth())
        assert response.status_code == status, body
        assert response.json()["status"] is False
    assert (await http.get("/refund/123", headers=auth())).status_code == 404
    by_id = await http.post("/refund", json={"transaction": sim.transaction("P-4").id}, headers=auth())
    assert by_id.status_code == 200


# --- faults -------------------------------------------------------------------------------------------


async def test_faults_hit_only_the_chosen_paths_and_count(http: httpx.AsyncClient, sim: PaystackSimulator) -> None:
    await initialize(http, reference="FLT-1")
    sim.fail_next(500, count=2, path_prefix="/transaction/verify")
    first = await http.get("/transaction/verify/FLT-1", headers=auth())
    assert first.status_code == 500 and first.json() == {"status": False, "message": "An error occurred"}
    await initialize(http, reference="FLT-2")  # another path: untouched
    assert (await http.get("/transaction/verify/FLT-1", headers=auth())).status_code == 500
    assert (await verify(http, "FLT-1"))["reference"] == "FLT-1"
    sim.fail_next(429, retry_after=1.5)
    limited = await http.get("/transaction/verify/FLT-1", headers=auth())
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "1.5")
