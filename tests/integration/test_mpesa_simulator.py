"""The Daraja simulator as a real aiohttp server on 127.0.0.1, driven by the real DarajaClient over httpx,
delivering callbacks to a small aiohttp receiver that answers like dukabot's routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web

from core.clock import SystemClock
from core.money import Money
from payments.base import InvalidCallback, Outcome
from payments.mpesa.client import DarajaClient, DarajaError, DarajaRequestError, TokenCache
from payments.mpesa.codes import C2BRejectCode
from payments.mpesa.wire import (
    C2BPayment,
    StkCallback,
    c2b_accept,
    c2b_confirmation_ack,
    c2b_reject,
    callback_token,
    parse_c2b,
    parse_stk_callback,
    stk_callback_ack,
)
from sandbox.mpesa.models import HOLD
from sandbox.mpesa.server import SimulatorServer
from sandbox.mpesa.simulator import SANDBOX_PASSKEY, DarajaSimulator

KEY, SECRET = "integration-key", "integration-secret"
PHONE = "254708374149"


@dataclass
class Receiver:
    """Our side: STK and C2B routes shaped like dukabot's (``/pay/stk/{token}``, ``/pay/c2b/{tenant}/{token}/...``)."""

    url: str = ""
    tokens: set[str] = field(default_factory=set)
    stk: list[StkCallback] = field(default_factory=list)
    validations: list[C2BPayment] = field(default_factory=list)
    confirmations: list[C2BPayment] = field(default_factory=list)

    def stk_url(self) -> str:
        token = callback_token()
        self.tokens.add(token)
        return f"{self.url}/pay/stk/{token}"

    async def on_stk(self, request: web.Request) -> web.Response:
        if request.match_info["token"] not in self.tokens:
            return web.json_response({"error": "unknown"}, status=404)
        try:
            self.stk.append(parse_stk_callback(await request.read()))
        except InvalidCallback as exc:
            return web.json_response({"error": exc.reason}, status=exc.status)
        return web.json_response(stk_callback_ack())

    async def on_validate(self, request: web.Request) -> web.Response:
        payment = parse_c2b(await request.read())
        self.validations.append(payment)
        if payment.account != "ORD12345":
            return web.json_response(c2b_reject(C2BRejectCode.INVALID_ACCOUNT))
        return web.json_response(c2b_accept(third_party_trans_id="pay-42"))

    async def on_confirm(self, request: web.Request) -> web.Response:
        self.confirmations.append(parse_c2b(await request.read()))
        return web.json_response(c2b_confirmation_ack())


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rx = Receiver()
    app = web.Application()
    app.router.add_post("/pay/stk/{token}", rx.on_stk)
    app.router.add_post("/pay/c2b/{tenant}/{token}/validate", rx.on_validate)
    app.router.add_post("/pay/c2b/{tenant}/{token}/confirm", rx.on_confirm)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    rx.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield rx
    await runner.cleanup()


@pytest.fixture
async def server() -> AsyncIterator[SimulatorServer]:
    sim = DarajaSimulator()
    sim.add_app(KEY, SECRET)
    async with SimulatorServer(sim) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        yield client


@pytest.fixture
def daraja(server: SimulatorServer, http: httpx.AsyncClient) -> DarajaClient:
    clock = SystemClock()
    return DarajaClient(
        http, base_url=server.url, consumer_key=KEY, consumer_secret=SECRET, token_cache=TokenCache(clock), clock=clock
    )


async def push(daraja: DarajaClient, callback_url: str, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "shortcode": "174379",
        "passkey": SANDBOX_PASSKEY,
        "amount": Money.from_major(1250, "KES"),
        "phone": PHONE,
        "callback_url": callback_url,
        "account_reference": "ORD12345",
        "description": "Order 12345",
    }
    return await daraja.stk_push(**(args | kw))


async def test_push_and_callback(daraja: DarajaClient, server: SimulatorServer, receiver: Receiver) -> None:
    accepted = await push(daraja, receiver.stk_url())
    await server.sim.settle()
    [callback] = receiver.stk
    assert callback.checkout_request_id == accepted.checkout_request_id
    assert callback.result.outcome is Outcome.PAID
    assert callback.amount_money() == Money.from_major(1250, "KES")
    assert callback.phone is not None and callback.phone.matches(PHONE)
    assert callback.receipt_number and callback.transaction_date is not None
    [record] = server.sim.callbacks
    assert record.status == 200 and record.kind == "stk"


async def test_query_pending_then_final(
    daraja: DarajaClient, server: SimulatorServer, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    server.sim.default_outcome = HOLD
    accepted = await push(daraja, receiver.stk_url())
    query = {"shortcode": "174379", "passkey": SANDBOX_PASSKEY, "checkout_request_id": accepted.checkout_request_id}
    assert (await daraja.stk_query(**query)).pending
    control = await http.post(
        f"{server.url}/_sim/stk/{accepted.checkout_request_id}/complete", json={"result_code": 1032}
    )
    assert control.status_code == 200 and control.json()["delivered"]
    final = await daraja.stk_query(**query)
    assert not final.pending and final.result_code == "1032" and final.result.outcome is Outcome.CANCELLED
    assert [c.result_code for c in receiver.stk] == ["1032"]


async def test_subscriber_lock(daraja: DarajaClient, receiver: Receiver) -> None:
    await push(daraja, receiver.stk_url())
    with pytest.raises(DarajaError) as caught:
        await push(daraja, receiver.stk_url(), amount=Money.from_major(10, "KES"))
    assert caught.value.code == "500.001.1001" and caught.value.reason == "mpesa.subscriber_locked"
    assert caught.value.retryable and caught.value.http_status == 500


async def test_forbidden_callback_words(
    daraja: DarajaClient, server: SimulatorServer, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    with pytest.raises(DarajaRequestError):
        await push(daraja, f"{receiver.url}/pay/mpesa/callback")
    # Sent anyway, Daraja refuses it.
    token = await http.get(
        f"{server.url}/oauth/v1/generate", params={"grant_type": "client_credentials"}, auth=(KEY, SECRET)
    )
    body = {
        "BusinessShortCode": 174379, "Password": "x", "Timestamp": "20260115120000",
        "TransactionType": "CustomerPayBillOnline", "Amount": 1, "PartyA": 254708374149, "PartyB": 174379,
        "PhoneNumber": 254708374149, "CallBackURL": f"{receiver.url}/pay/Safaricom/cb", "AccountReference": "ORD1",
    }  # fmt: skip
    refused = await http.post(
        f"{server.url}/mpesa/stkpush/v1/processrequest",
        json=body,
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )
    assert refused.status_code == 400
    assert refused.json()["errorCode"] == "400.002.02"
    assert refused.json()["errorMessage"] == "Bad Request - Invalid CallBackURL"


async def test_bad_password(daraja: DarajaClient, receiver: Receiver) -> None:
    with pytest.raises(DarajaError) as caught:
        await push(daraja, receiver.stk_url(), passkey="not-the-passkey")
    error = caught.value
    assert (error.code, error.reason, error.http_status, error.retryable) == (
        "500.001.1001",
        "mpesa.wrong_credentials",
        500,
        False,
    )
    assert "not-the-passkey" not in str(error)


async def test_callback_status_codes_are_recorded(
    daraja: DarajaClient, server: SimulatorServer, receiver: Receiver
) -> None:
    await push(daraja, f"{receiver.url}/pay/stk/{callback_token()}")  # a token our side never issued
    await server.sim.settle()
    assert receiver.stk == []
    assert [c.status for c in server.sim.callbacks] == [404]


async def test_c2b_validation_and_confirmation(
    daraja: DarajaClient, server: SimulatorServer, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    registered = await daraja.register_c2b_urls(
        shortcode="600984",
        confirmation_url=f"{receiver.url}/pay/c2b/demo/{callback_token()}/confirm",
        validation_url=f"{receiver.url}/pay/c2b/demo/{callback_token()}/validate",
    )
    assert registered.response_code == "0"
    server.sim.shortcodes["600984"].external_validation = True
    paid = await http.post(
        f"{server.url}/_sim/c2b/pay",
        json={"shortcode": "600984", "bill_ref": "ord-123 45", "amount": 1500, "msisdn": PHONE},
    )
    assert paid.json()["accepted"] and paid.json()["confirmation_status"] == 200
    [confirmation] = receiver.confirmations
    assert confirmation.account == "ORD12345" and confirmation.amount_money() == Money.from_major(1500, "KES")
    assert confirmation.payer is not None and confirmation.payer.kind == "hashed" and confirmation.payer.matches(PHONE)
    assert confirmation.third_party_trans_id == "pay-42"
    assert confirmation.trans_id == paid.json()["trans_id"]
    rejected = await server.sim.c2b_pay("600984", "UNKNOWN", 10, PHONE)
    assert not rejected.accepted and rejected.result_code == "C2B00012"
    assert len(receiver.validations) == 2 and len(receiver.confirmations) == 1
    assert [(c.kind, c.status) for c in server.sim.callbacks] == [
        ("c2b_validation", 200),
        ("c2b_confirmation", 200),
        ("c2b_validation", 200),
    ]


async def test_control_routes(
    daraja: DarajaClient, server: SimulatorServer, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    scripted = await http.post(f"{server.url}/_sim/outcome", json={"phone": PHONE, "result_code": 2001})
    assert scripted.status_code == 200
    accepted = await push(daraja, receiver.stk_url())
    await server.sim.settle()
    assert [(c.result_code, c.result.reason) for c in receiver.stk] == [("2001", "mpesa.wrong_pin")]
    state = (await http.get(f"{server.url}/_sim/state")).json()
    [txn] = state["transactions"]
    assert txn["checkout_request_id"] == accepted.checkout_request_id
    assert (txn["result_code"], txn["callback_status"], txn["receipt"]) == ("2001", 200, None)
    assert (
        await http.post(f"{server.url}/_sim/stk/{accepted.checkout_request_id}/complete", json={})
    ).status_code == 409
    assert (await http.post(f"{server.url}/_sim/stk/ws_CO_nope/complete", json={})).status_code == 404
    bad = await http.post(f"{server.url}/_sim/c2b/pay", json={"shortcode": "600984", "amount": 1.5})
    assert bad.status_code == 400
