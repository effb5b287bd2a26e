"""DarajaClient and TokenCache, against the simulator through httpx.MockTransport (no sockets)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest

from core.clock import FakeClock
from core.money import Money
from payments.base import Outcome, ProviderError
from payments.mpesa import client as client_module
from payments.mpesa.client import DarajaClient, DarajaError, DarajaRequestError, TokenCache
from payments.mpesa.codes import ErrorKind
from payments.mpesa.wire import AccessToken, parse_c2b, parse_stk_callback
from sandbox.mpesa.models import CANCELLED, HOLD
from sandbox.mpesa.simulator import SANDBOX_PASSKEY, DarajaSimulator

KEY, SECRET = "app-key-0001", "consumer-secret-do-not-leak"
BASE = "https://sandbox.safaricom.co.ke"
PHONE = "254708374149"
CALLBACK = "https://shop.example.com/pay/stk/0a1b2c3d"


class Inbox:
    """A callback sender that keeps what the simulator sent, answering like our routes."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []

    async def __call__(
        self, url: str, content: bytes, headers: Mapping[str, str], time_limit: float
    ) -> tuple[int, bytes]:
        self.received.append((url, json.loads(content)))
        return 200, b'{"ResultCode": 0, "ResultDesc": "Accepted"}'


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def sim(clock: FakeClock, inbox: Inbox) -> AsyncIterator[DarajaSimulator]:
    simulator = DarajaSimulator(clock=clock, sender=inbox, seed=7)
    simulator.add_app(KEY, SECRET)
    yield simulator
    await simulator.aclose()


@pytest.fixture
async def http(sim: DarajaSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sim.mock_transport()) as client:
        yield client


@pytest.fixture
def cache(clock: FakeClock) -> TokenCache:
    return TokenCache(clock)


def make_client(
    http: httpx.AsyncClient, cache: TokenCache, clock: FakeClock, *, key: str = KEY, secret: str = SECRET, **kw: Any
) -> DarajaClient:
    return DarajaClient(
        http, base_url=BASE, consumer_key=key, consumer_secret=secret, token_cache=cache, clock=clock, **kw
    )


@pytest.fixture
def daraja(http: httpx.AsyncClient, cache: TokenCache, clock: FakeClock) -> DarajaClient:
    return make_client(http, cache, clock)


async def push(daraja: DarajaClient, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "shortcode": "174379",
        "passkey": SANDBOX_PASSKEY,
        "amount": Money.from_major(1, "KES"),
        "phone": PHONE,
        "callback_url": CALLBACK,
        "account_reference": "ORD12345",
        "description": "Order 12345",
    }
    args.update(kw)
    return await daraja.stk_push(**args)


def test_password_helper_is_exported() -> None:
    assert client_module.password("174379", SANDBOX_PASSKEY, "20160216165627").startswith("MTc0Mzc5YmZi")


async def test_push_paybill_then_callback(daraja: DarajaClient, sim: DarajaSimulator, inbox: Inbox) -> None:
    accepted = await push(daraja, amount=Money.from_major(1250, "KES"))
    assert accepted.checkout_request_id.startswith("ws_CO_") and accepted.response_code == "0"
    txn = sim.transactions[accepted.checkout_request_id]
    assert (txn.transaction_type, txn.party_b, txn.amount, txn.phone) == (
        "CustomerPayBillOnline",
        "174379",
        1250,
        PHONE,
    )
    await sim.settle()
    [(url, body)] = inbox.received
    assert url == CALLBACK
    callback = parse_stk_callback(body)
    assert callback.checkout_request_id == accepted.checkout_request_id
    assert callback.result.outcome is Outcome.PAID
    assert callback.amount_money() == Money.from_major(1250, "KES")


async def test_push_till_uses_buy_goods(daraja: DarajaClient, sim: DarajaSimulator, inbox: Inbox) -> None:
    sim.add_shortcode("300300", "store-passkey", tills=("5123456",))
    accepted = await push(daraja, shortcode="300300", passkey="store-passkey", till="5123456")
    txn = sim.transactions[accepted.checkout_request_id]
    assert (txn.transaction_type, txn.party_b) == ("CustomerBuyGoodsOnline", "5123456")
    await sim.settle()
    assert parse_stk_callback(inbox.received[0][1]).succeeded


async def test_request_body_shape(sim: DarajaSimulator, cache: TokenCache, clock: FakeClock) -> None:
    seen: list[httpx.Request] = []
    inner = sim.mock_transport()

    async def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return await inner.handle_async_request(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(recording)) as http:
        await push(make_client(http, cache, clock), description="A very long description indeed")
    oauth, stk = seen
    assert oauth.method == "GET" and oauth.url.params["grant_type"] == "client_credentials"
    assert oauth.headers["Authorization"].startswith("Basic ")
    assert stk.headers["Content-Type"] == "application/json"
    body = json.loads(stk.content)
    assert body["TransactionDesc"] == "A very long d"  # cut to 13 characters
    assert body["Timestamp"] == "20260115120000"  # FakeClock's 09:00 UTC is noon in Nairobi
    assert isinstance(body["Amount"], int) and body["Amount"] == 1
    assert body["PartyA"] == body["PhoneNumber"] == 254708374149


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (Money(150, "KES"), "mpesa.invalid_amount"),  # KES 1.50
        (Money(0, "KES"), "mpesa.invalid_amount"),
        (Money(-100, "KES"), "mpesa.invalid_amount"),
        (Money.from_major(250_001, "KES"), "mpesa.invalid_amount"),
        (Money.from_major(100, "USD"), "mpesa.invalid_currency"),
    ],
)
async def test_amounts_refused_before_any_call(
    daraja: DarajaClient, sim: DarajaSimulator, amount: Money, code: str
) -> None:
    with pytest.raises(DarajaRequestError) as caught:
        await push(daraja, amount=amount)
    assert caught.value.code == code and not caught.value.retryable
    assert isinstance(caught.value, ProviderError) and isinstance(caught.value, ValueError)
    assert sim.requests == []


async def test_limits_are_inclusive(daraja: DarajaClient, sim: DarajaSimulator) -> None:
    await push(daraja, amount=Money.from_major(250_000, "KES"))
    await push(daraja, amount=Money.from_major(1, "KES"), phone="254110000001")


@pytest.mark.parametrize("phone", ["0708374149", "+254708374149", "25470837414", "254208374149", "2547083741490"])
async def test_phones_must_be_normalised(daraja: DarajaClient, sim: DarajaSimulator, phone: str) -> None:
    with pytest.raises(DarajaRequestError) as caught:
        await push(daraja, phone=phone)
    assert caught.value.code == "mpesa.invalid_phone"
    assert sim.requests == []


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"account_reference": "ORDER-1234567"}, "mpesa.invalid_account_reference"),
        ({"account_reference": " "}, "mpesa.invalid_account_reference"),
        ({"shortcode": "17437"}, None),  # 5 digits is a valid shape; Daraja then says "Merchant does not exist"
        ({"shortcode": "1743"}, "mpesa.invalid_shortcode"),
        ({"till": "12ab"}, "mpesa.invalid_till"),
        ({"callback_url": "https://shop.example.com/mpesa/cb"}, "mpesa.invalid_callback_url"),
        ({"callback_url": "https://shop.example.com/pay?query=1"}, "mpesa.invalid_callback_url"),
        ({"callback_url": "/pay/stk/abc"}, "mpesa.invalid_callback_url"),
    ],
)
async def test_fields_refused_before_any_call(
    daraja: DarajaClient, sim: DarajaSimulator, kw: dict[str, Any], code: str | None
) -> None:
    if code is None:
        with pytest.raises(DarajaError) as server_side:
            await push(daraja, **kw)
        assert server_side.value.reason == "mpesa.unknown_merchant"
        return
    with pytest.raises(DarajaRequestError) as caught:
        await push(daraja, **kw)
    assert caught.value.code == code
    assert sim.requests == []


# --- token cache ---


async def test_concurrent_callers_share_one_oauth_call(
    http: httpx.AsyncClient, sim: DarajaSimulator, cache: TokenCache, clock: FakeClock
) -> None:
    clients = [make_client(http, cache, clock) for _ in range(8)]
    phones = [f"25470000000{i}" for i in range(8)]
    results = await asyncio.gather(*(push(c, phone=p) for c, p in zip(clients, phones, strict=True)))
    assert len({r.checkout_request_id for r in results}) == 8
    assert sim.tokens_issued == 1


async def test_one_token_per_app(
    http: httpx.AsyncClient, sim: DarajaSimulator, cache: TokenCache, clock: FakeClock
) -> None:
    sim.add_app("other-app", "other-secret")
    await push(make_client(http, cache, clock))
    await push(make_client(http, cache, clock, key="other-app", secret="other-secret"), phone="254700000001")
    await push(make_client(http, cache, clock), phone="254700000002")
    assert sim.tokens_issued == 2


async def test_expired_token_is_refreshed_and_the_call_retried_once(daraja: DarajaClient, sim: DarajaSimulator) -> None:
    await push(daraja)
    sim.expire_tokens()
    await push(daraja, phone="254700000001")
    assert sim.tokens_issued == 2
    stk = [(r.status, r.error_code) for r in sim.requests if r.path.startswith("/mpesa/stkpush")]
    assert stk == [(200, None), (404, "404.001.03"), (200, None)]


async def test_a_second_token_refusal_is_an_error(daraja: DarajaClient, sim: DarajaSimulator) -> None:
    sim.inject_error("stk_push", status=404, code="404.001.03", message="Invalid Access Token", times=3)
    with pytest.raises(DarajaError) as caught:
        await push(daraja)
    assert caught.value.kind is ErrorKind.TOKEN_EXPIRED and caught.value.code == "404.001.03"
    assert sum(1 for r in sim.requests if r.path.startswith("/mpesa/stkpush")) == 2
    assert sim.tokens_issued == 2


async def test_tokens_are_refreshed_a_margin_before_expiry(
    daraja: DarajaClient, sim: DarajaSimulator, clock: FakeClock
) -> None:
    await push(daraja)
    clock.advance(seconds=3000)
    await push(daraja, phone="254700000001")
    assert sim.tokens_issued == 1
    clock.advance(seconds=3599 - 3000 - 30)  # 30 s before expiry: inside the 60 s margin
    await push(daraja, phone="254700000002")
    assert sim.tokens_issued == 2
    assert [r.status for r in sim.requests if r.path.startswith("/mpesa")] == [200, 200, 200]


async def test_integer_expires_in(daraja: DarajaClient, sim: DarajaSimulator) -> None:
    sim.expires_in_as_string = False
    await push(daraja)
    assert sim.tokens_issued == 1


async def test_invalidate_keeps_a_token_refreshed_by_someone_else(clock: FakeClock) -> None:
    cache = TokenCache(clock)
    tokens = iter(["t1", "t2"])

    async def fetch() -> AccessToken:
        return AccessToken(next(tokens), 3599)

    assert await cache.get(("b", "k"), fetch) == "t1"
    cache.invalidate(("b", "k"), "t1")
    assert await cache.get(("b", "k"), fetch) == "t2"
    cache.invalidate(("b", "k"), "t1")  # stale: t2 stays
    assert await cache.get(("b", "k"), fetch) == "t2"
    assert "t2" not in repr(cache)


# --- errors and secrets ---


async def test_bad_credentials(
    http: httpx.AsyncClient, sim: DarajaSimulator, cache: TokenCache, clock: FakeClock
) -> None:
    daraja = make_client(http, cache, clock, secret="wrong-secret-value")
    with pytest.raises(DarajaError) as caught:
        await push(daraja)
    error = caught.value
    assert (error.code, error.kind, error.retryable, error.http_status) == (
        "400.008.01",
        ErrorKind.PERMANENT,
        False,
        400,
    )
    assert "wrong-secret-value" not in str(error) and "wrong-secret-value" not in repr(daraja)
    assert SECRET not in repr(make_client(http, cache, clock)) and SECRET not in str(vars(daraja))


async def test_wrong_passkey_never_shows_the_passkey(daraja: DarajaClient) -> None:
    with pytest.raises(DarajaError) as caught:
        await push(daraja, passkey="my-secret-passkey")
    error = caught.value
    assert error.reason == "mpesa.wrong_credentials" and not error.retryable
    assert "my-secret-passkey" not in str(error) and "my-secret-passkey" not in repr(error.args)


async def test_echoed_secrets_are_redacted(daraja: DarajaClient, sim: DarajaSimulator) -> None:
    sim.inject_error("stk_push", status=400, code="400.002.02", message=f"Bad {SECRET} Bearer abcdef {SANDBOX_PASSKEY}")
    with pytest.raises(DarajaError) as caught:
        await push(daraja)
    text = str(caught.value)
    assert SECRET not in text and SANDBOX_PASSKEY not in text and "abcdef" not in text
    [token] = sim.tokens
    sim.inject_error("stk_push", status=404, code="404.001.01", message=f"Invalid Access Token - {token}")
    with pytest.raises(DarajaError) as again:
        await push(daraja, phone="254700000001")
    assert token not in str(again.value) and "***" in str(again.value)


@pytest.mark.parametrize(
    ("code", "message", "reason"),
    [
        ("500.003.02", "Error Occurred: Spike Arrest Violation", "mpesa.spike_arrest"),
        ("500.003.03", "Quota Violation", "mpesa.quota"),
        ("500.003.02", "System is busy", "mpesa.system_busy"),
    ],
)
async def test_throttling_is_retryable(
    daraja: DarajaClient, sim: DarajaSimulator, code: str, message: str, reason: str
) -> None:
    sim.inject_error("stk_push", code=code, message=message)
    with pytest.raises(DarajaError) as caught:
        await push(daraja)
    assert caught.value.retryable and caught.value.reason == reason and caught.value.retry_after is not None
    await push(daraja)  # the next call goes through


async def test_subscriber_lock(daraja: DarajaClient, sim: DarajaSimulator, clock: FakeClock) -> None:
    await push(daraja)
    with pytest.raises(DarajaError) as caught:
        await push(daraja)
    assert caught.value.code == "500.001.1001" and caught.value.reason == "mpesa.subscriber_locked"
    assert caught.value.retryable
    clock.advance(seconds=61)
    await push(daraja, amount=Money.from_major(2, "KES"))


async def test_network_failures_are_retryable(cache: TokenCache, clock: FakeClock) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(DarajaError) as caught:
            await push(make_client(http, cache, clock))
    assert caught.value.code == "mpesa.network" and caught.value.retryable


async def test_html_gateway_errors(cache: TokenCache, clock: FakeClock) -> None:
    def gateway(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad gateway</html>")

    async with httpx.AsyncClient(transport=httpx.MockTransport(gateway)) as http:
        with pytest.raises(DarajaError) as caught:
            await push(make_client(http, cache, clock))
    assert caught.value.code == "http.502" and caught.value.retryable


# --- query ---


async def test_query_pending_then_final(daraja: DarajaClient, sim: DarajaSimulator) -> None:
    sim.default_outcome = HOLD
    accepted = await push(daraja)
    first = await daraja.stk_query(
        shortcode="174379", passkey=SANDBOX_PASSKEY, checkout_request_id=accepted.checkout_request_id
    )
    assert first.pending and first.result.outcome is Outcome.PENDING
    await sim.complete(accepted.checkout_request_id, CANCELLED)
    final = await daraja.stk_query(
        shortcode="174379", passkey=SANDBOX_PASSKEY, checkout_request_id=accepted.checkout_request_id
    )
    assert not final.pending and final.result_code == "1032" and final.result.outcome is Outcome.CANCELLED


async def test_query_unknown_checkout(daraja: DarajaClient) -> None:
    with pytest.raises(DarajaError) as caught:
        await daraja.stk_query(shortcode="174379", passkey=SANDBOX_PASSKEY, checkout_request_id="ws_CO_nope")
    assert caught.value.code == "400.002.02" and not caught.value.retryable


# --- C2B ---


async def test_register_urls_v1_or_v2(
    http: httpx.AsyncClient, sim: DarajaSimulator, cache: TokenCache, clock: FakeClock, inbox: Inbox
) -> None:
    sim.add_app("v1-app", "v1-secret", products=frozenset({"stk", "c2b_v1"}))
    confirm, validate = (
        "https://shop.example.com/pay/c2b/t/tok/confirm",
        "https://shop.example.com/pay/c2b/t/tok/validate",
    )
    v2 = make_client(http, cache, clock, key="v1-app", secret="v1-secret")
    with pytest.raises(DarajaError) as caught:
        await v2.register_c2b_urls(shortcode="600984", confirmation_url=confirm, validation_url=validate)
    assert caught.value.code == "401.003.01" and not caught.value.retryable
    answer = await v2.register_c2b_urls(
        shortcode="600984", confirmation_url=confirm, validation_url=validate, version="v1"
    )
    assert answer.response_code == "0" and answer.originator_conversation_id
    v1 = make_client(http, cache, clock, key="v1-app", secret="v1-secret", c2b_version="v1")
    sim.expire_tokens()  # C2B answers 400.003.01 to a stale token; refreshed and retried as well
    await v1.c2b_simulate(shortcode="600984", amount=Money.from_major(1500, "KES"), msisdn=PHONE, bill_ref="ORD12345")
    await sim.settle()
    [(url, body)] = inbox.received
    assert url == confirm
    payment = parse_c2b(body)
    assert payment.account == "ORD12345" and payment.payer is not None and payment.payer.matches(PHONE)


async def test_register_refuses_forbidden_words(daraja: DarajaClient, sim: DarajaSimulator) -> None:
    with pytest.raises(DarajaRequestError):
        await daraja.register_c2b_urls(
            shortcode="600984",
            confirmation_url="https://shop.example.com/safaricom/confirm",
            validation_url="https://shop.example.com/validate",
        )
    assert sim.requests == []
