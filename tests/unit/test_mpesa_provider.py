"""The M-Pesa provider against the Daraja simulator as an httpx MockTransport: the push, the shared token cache, the
query, the schedule, test mode, the credentials check, and callback parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core.clock import FakeClock
from core.money import Money
from payments.base import Callback, InvalidCallback, Outcome, ProviderError, StartRequest
from payments.mpesa.provider import STK_LIFETIME, MpesaProvider, amount_allowed
from payments.registry import ProviderDeps, TenantProviderConfig
from sandbox.mpesa.models import HOLD, SimOutcome
from sandbox.mpesa.simulator import SANDBOX_PASSKEY, DarajaSimulator

KEY, SECRET = "unit-key", "unit-secret"
PHONE = "254708374149"


def make(
    sim: DarajaSimulator,
    clock: FakeClock,
    *,
    shared: dict[str, object] | None = None,
    tenant_id: int = 1,
    test_mode: bool = False,
    secrets: dict[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    **options: object,
) -> MpesaProvider:
    config = TenantProviderConfig(
        tenant_id=tenant_id,
        tenant_slug=f"shop{tenant_id}",
        shop_name="Shop",
        currency="KES",
        test_mode=test_mode,
        secrets=secrets
        if secrets is not None
        else {"consumer_key": KEY, "consumer_secret": SECRET, "passkey": SANDBOX_PASSKEY},
        options={"shortcode": "174379", "base_url": "https://daraja.test", "ip_allowlist": "127.0.0.1", **options},
    )
    http = httpx.AsyncClient(transport=transport or sim.mock_transport())
    return MpesaProvider(
        config, ProviderDeps(http, clock, "https://shop.example", shared if shared is not None else {})
    )


def request(amount: int = 150000, phone: str | None = "+254708374149") -> StartRequest:
    return StartRequest(
        payment_reference="dkref",
        callback_token="ab" * 20,
        tenant_slug="shop1",
        order_code="K7Q2XA",
        amount=Money(amount, "KES"),
        customer_phone=phone,
        customer_email=None,
        shop_name="Shop",
    )


@pytest.fixture
def sim(clock: FakeClock) -> DarajaSimulator:
    simulator = DarajaSimulator(clock=clock, seed=1)
    simulator.add_app(KEY, SECRET)
    simulator.set_outcome(PHONE, HOLD)
    return simulator


async def test_a_paybill_push(sim: DarajaSimulator, clock: FakeClock) -> None:
    provider = make(sim, clock)
    started = await provider.start(request())
    (txn,) = sim.transactions.values()
    assert started.provider_ref == txn.checkout_request_id and started.text_key == "mpesa.started"
    assert started.values == {"phone": "0708 374 149"}  # shown as every number is (core.phones.display)
    assert (txn.transaction_type, txn.party_b, txn.amount, txn.account_reference) == (
        "CustomerPayBillOnline",
        "174379",
        1500,
        "K7Q2XA",
    )
    assert txn.callback_url == "https://shop.example/pay/stk/" + "ab" * 20


async def test_a_till_push_pays_the_till(sim: DarajaSimulator, clock: FakeClock) -> None:
    sim.shortcodes["174379"].tills = frozenset({"5123456"})
    await make(sim, clock, till="5123456").start(request())
    (txn,) = sim.transactions.values()
    assert (txn.transaction_type, txn.party_b, txn.shortcode) == ("CustomerBuyGoodsOnline", "5123456", "174379")


async def test_amounts_and_phones_m_pesa_cannot_take(sim: DarajaSimulator, clock: FakeClock) -> None:
    provider = make(sim, clock)
    for bad in (request(amount=150050), request(amount=50), request(amount=25_000_100)):
        with pytest.raises(ProviderError) as refused:
            await provider.start(bad)
        assert refused.value.code == "mpesa.invalid_amount"
    with pytest.raises(ProviderError) as no_phone:
        await provider.start(request(phone="+254733123456"[:5]))
    assert no_phone.value.code == "mpesa.invalid_phone"
    assert not sim.transactions
    assert amount_allowed(Money(100, "KES")) and amount_allowed(Money(25_000_000, "KES"))
    assert not amount_allowed(Money(25_000_100, "KES")) and not amount_allowed(Money(100, "NGN"))


async def test_a_push_that_timed_out_is_reported_as_such(sim: DarajaSimulator, clock: FakeClock) -> None:
    inner = sim.mock_transport()

    async def handler(req: httpx.Request) -> httpx.Response:
        if req.url.path.endswith("processrequest"):
            await inner.handle_async_request(req)  # Daraja got it...
            raise httpx.ReadTimeout("no answer", request=req)  # ...but the answer never came
        return await inner.handle_async_request(req)

    provider = make(sim, clock, transport=httpx.MockTransport(handler))
    with pytest.raises(ProviderError) as timed_out:
        await provider.start(request())
    assert (timed_out.value.code, timed_out.value.retryable) == ("timeout", True)
    assert await provider.query("dkref", None) is None  # no CheckoutRequestID: nothing to ask; expiry decides


async def test_a_busy_subscriber_is_a_plain_failure(sim: DarajaSimulator, clock: FakeClock) -> None:
    provider = make(sim, clock)
    await provider.start(request())
    with pytest.raises(ProviderError) as locked:
        await provider.start(request())
    assert locked.value.code == "mpesa.subscriber_locked"


async def test_one_token_per_consumer_key_refreshed_when_daraja_refuses_it(
    sim: DarajaSimulator, clock: FakeClock
) -> None:
    shared: dict[str, object] = {}
    first, second = make(sim, clock, shared=shared), make(sim, clock, shared=shared, tenant_id=2)
    sim.set_outcome("254712345678", HOLD)
    await first.start(request())
    await second.start(request(phone="+254712345678"))
    assert sim.tokens_issued == 1
    sim.expire_tokens()  # Daraja now answers 404.001.03
    await first.query("dkref", next(iter(sim.transactions)))
    assert sim.tokens_issued == 2
    clock.advance(minutes=59)  # refreshed before it expires
    await first.query("dkref", next(iter(sim.transactions)))
    assert sim.tokens_issued == 3


async def test_query_pending_final_and_throttled(sim: DarajaSimulator, clock: FakeClock) -> None:
    provider = make(sim, clock)
    started = await provider.start(request())
    checkout = started.provider_ref
    assert checkout == "ws_CO_15012026120000000743915000"
    assert await provider.query("dkref", checkout) is None  # "The transaction is being processed"
    sim.inject_error("stk_query", code="500.003.03", message="Quota Violation")
    with pytest.raises(ProviderError) as throttled:
        await provider.query("dkref", checkout)
    assert throttled.value.retryable
    await sim.complete(checkout, SimOutcome(1032, send_callback=False))
    event = await provider.query("dkref", checkout)
    assert event is not None and event.outcome is Outcome.CANCELLED and event.reason_code == "1032"
    assert event.event_key == f"stk:1:{checkout}" and event.provider_ref == checkout
    assert event.reason == "the request was cancelled on the phone"


def test_the_reconciliation_schedule() -> None:
    provider_waits = [MpesaProvider.next_check(None, n) for n in range(12)]  # type: ignore[arg-type]
    assert provider_waits[0] == timedelta(seconds=20) and provider_waits[-1] is None
    total = sum((w for w in provider_waits if w is not None), timedelta())
    assert timedelta(minutes=2, seconds=30) <= total <= timedelta(minutes=3, seconds=30)
    assert total < STK_LIFETIME <= timedelta(minutes=4)
    assert MpesaProvider.lifetime(None, timedelta(minutes=30)) == STK_LIFETIME  # type: ignore[arg-type]
    assert MpesaProvider.lifetime(None, timedelta(minutes=1)) == timedelta(minutes=1)  # type: ignore[arg-type]


async def test_test_mode_uses_the_sandbox_with_the_public_shortcode(sim: DarajaSimulator, clock: FakeClock) -> None:
    provider = make(
        sim,
        clock,
        test_mode=True,
        secrets={"consumer_key": KEY, "consumer_secret": SECRET},
        shortcode="600000",
        base_url=None,
    )
    assert provider.settings.base_url == "https://sandbox.safaricom.co.ke"
    assert (provider.settings.shortcode, provider.settings.passkey) == ("174379", SANDBOX_PASSKEY)
    live = make(sim, clock, secrets={"consumer_key": KEY, "consumer_secret": SECRET}, base_url=None)
    assert live.settings.base_url == "https://api.safaricom.co.ke"
    with pytest.raises(ProviderError) as incomplete:
        await live.start(request())
    assert incomplete.value.code == "provider.not_configured"


async def test_check_makes_a_real_oauth_call(sim: DarajaSimulator, clock: FakeClock) -> None:
    assert "OAuth OK" in await make(sim, clock).check()
    assert sim.tokens_issued == 1
    wrong = make(sim, clock, secrets={"consumer_key": KEY, "consumer_secret": "nope", "passkey": "x"})
    with pytest.raises(ProviderError) as refused:
        await wrong.check()
    assert "nope" not in str(refused.value)


def _callback(body: object, checkout: str = "ws_CO_1") -> Callback:
    return Callback(
        body=json.dumps(body).encode(),
        headers={},
        path_params={"token": "t", "reference": "dkref", "checkout": checkout},
        remote_ip="127.0.0.1",
    )


def test_callbacks_as_daraja_sends_them(sim: DarajaSimulator, clock: FakeClock) -> None:
    provider = make(sim, clock)
    paid = {
        "Body": {
            "stkCallback": {
                "MerchantRequestID": "1",
                "CheckoutRequestID": "ws_CO_1",
                "ResultCode": 0,
                "ResultDesc": "ok",
                "CallbackMetadata": {
                    "Item": [
                        {"Name": "Amount", "Value": 1500.00},
                        {"Name": "MpesaReceiptNumber", "Value": "NLJ7RT61SV"},
                        {"Name": "Balance"},
                        {"Name": "TransactionDate", "Value": 20260115120000},
                        {"Name": "PhoneNumber", "Value": 254708374149},
                    ]
                },
            }
        }
    }
    (event,) = provider.parse_callback(_callback(paid))
    assert event.outcome is Outcome.PAID and event.amount == Money(150000, "KES")
    assert event.provider_txn_id == "NLJ7RT61SV" and event.event_key == "receipt:1:NLJ7RT61SV"
    assert event.occurred_at == datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    json.dumps(event.raw)  # fit for the JSON column
    failed = {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1", "ResultCode": "2001", "ResultDesc": "x"}}}
    (wrong_pin,) = provider.parse_callback(_callback(failed))
    assert wrong_pin.outcome is Outcome.FAILED and wrong_pin.reason == "the M-Pesa PIN was wrong"
    with pytest.raises(InvalidCallback) as other:
        provider.parse_callback(_callback(failed, checkout="ws_CO_2"))
    assert other.value.status == 403
    with pytest.raises(InvalidCallback):
        provider.parse_callback(_callback({"Body": {}}))


def test_the_allowlist_and_a_trusted_proxy(sim: DarajaSimulator, clock: FakeClock) -> None:
    provider = make(sim, clock, ip_allowlist="safaricom", trusted_proxies="10.0.0.1")
    body = {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1", "ResultCode": 1032}}}

    def from_(ip: str, forwarded: str | None = None) -> Callback:
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        return Callback(json.dumps(body).encode(), headers, {"reference": "r", "checkout": "ws_CO_1"}, ip)

    assert provider.parse_callback(from_("196.201.214.200"))
    assert provider.parse_callback(from_("10.0.0.1", "1.2.3.4, 196.201.213.44"))
    for refused in (
        from_("1.2.3.4"),
        from_("1.2.3.4", "196.201.214.200"),
        from_("10.0.0.1", "196.201.214.200, 8.8.8.8"),
    ):
        with pytest.raises(InvalidCallback) as error:
            provider.parse_callback(refused)
        assert error.value.status == 403
    # On by default for a live shop (Safaricom's addresses), off in test mode; "off" turns it off.
    live = make(sim, clock, ip_allowlist=None)
    assert live.parse_callback(from_("196.201.212.69"))
    with pytest.raises(InvalidCallback):
        live.parse_callback(from_("1.2.3.4"))
    assert make(sim, clock, ip_allowlist=None, test_mode=True).parse_callback(from_("1.2.3.4"))
    assert make(sim, clock, ip_allowlist="off").parse_callback(from_("1.2.3.4"))
    assert make(sim, clock, ip_allowlist="196.201.214.0/24").parse_callback(from_("196.201.214.99"))
