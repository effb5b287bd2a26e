"""PaystackClient against the simulator's MockTransport: what it sends, and how every error is mapped."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from core.money import Money
from payments.paystack.client import PaystackClient, PaystackError
from payments.paystack.limits import AmountNotAllowed
from sandbox.paystack.simulator import PaystackSimulator

KEY = "sk_test_4f2c0ffee"
OTHER_KEY = "sk_live_someoneelse"


class Recorder:
    """A transport in front of the simulator that keeps every request the client sent."""

    def __init__(self, sim: PaystackSimulator) -> None:
        self.inner = sim.mock_transport()
        self.requests: list[httpx.Request] = []

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


@pytest.fixture
async def sim() -> AsyncIterator[PaystackSimulator]:
    async def sender(url: str, body: bytes, headers: object) -> int:
        return 200

    simulator = PaystackSimulator(sender=sender)
    simulator.add_merchant(KEY, webhook_url="http://127.0.0.1:9/hook")
    simulator.add_merchant(OTHER_KEY)
    yield simulator
    await simulator.close()


@pytest.fixture
def recorder(sim: PaystackSimulator) -> Recorder:
    return Recorder(sim)


@pytest.fixture
async def client(recorder: Recorder) -> AsyncIterator[PaystackClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder.handle)) as http:
        yield PaystackClient(http, secret_key=KEY)


async def _paid(client: PaystackClient, sim: PaystackSimulator, reference: str, minor: int = 150000) -> None:
    await client.initialize(amount=Money(minor, "KES"), email="tg1@shop.example", reference=reference)
    await sim.pay(reference)


async def test_initialize_sends_paystack_fields_in_subunits(client: PaystackClient, recorder: Recorder) -> None:
    result = await client.initialize(
        amount=Money.parse("1500", "KES"),
        email="tg123456789@shop.example",
        reference="ORD-12345-1",
        callback_url="https://shop.example.com/paystack/return",
        metadata={"order_id": "12345", "cancel_action": "https://shop.example.com/paystack/cancel"},
        channels=["card", "mobile_money"],
    )
    [sent] = recorder.requests
    assert sent.method == "POST"
    assert sent.url == "https://api.paystack.co/transaction/initialize"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(sent.content) == {
        "email": "tg123456789@shop.example",
        "amount": 150000,
        "currency": "KES",
        "reference": "ORD-12345-1",
        "callback_url": "https://shop.example.com/paystack/return",
        "metadata": {"order_id": "12345", "cancel_action": "https://shop.example.com/paystack/cancel"},
        "channels": ["card", "mobile_money"],
    }
    assert result.reference == "ORD-12345-1"
    assert result.authorization_url.endswith("/" + result.access_code)


async def test_verify_reads_the_transaction(client: PaystackClient, sim: PaystackSimulator) -> None:
    await client.initialize(amount=Money(30000, "KES"), email="a@b.co", reference="R-1", metadata={"o": "1"})
    fresh = await client.verify("R-1")
    assert (fresh.status, fresh.amount, fresh.currency, fresh.domain) == ("abandoned", 30000, "KES", "test")
    await sim.pay("R-1", channel="mobile_money")
    paid = await client.verify("R-1")
    assert paid.status == "success" and paid.channel == "mobile_money" and paid.paid_at is not None
    assert paid.metadata == {"o": "1"}


async def test_amounts_are_refused_before_any_call(client: PaystackClient, recorder: Recorder) -> None:
    with pytest.raises(AmountNotAllowed) as low:
        await client.initialize(amount=Money(299, "KES"), email="a@b.co")
    assert low.value.code == "amount_below_minimum"
    with pytest.raises(AmountNotAllowed) as currency:
        await client.initialize(amount=Money(1000, "UGX"), email="a@b.co")
    assert currency.value.code == "currency_not_supported"
    with pytest.raises(PaystackError) as bad_ref:
        await client.initialize(amount=Money(300, "KES"), email="a@b.co", reference="ORD 1")
    assert bad_ref.value.code == "invalid_reference"
    with pytest.raises(PaystackError):
        await client.verify("../refund")
    assert recorder.requests == []


async def test_duplicate_reference(client: PaystackClient) -> None:
    await client.initialize(amount=Money(300, "KES"), email="a@b.co", reference="DUP-1")
    with pytest.raises(PaystackError) as caught:
        await client.initialize(amount=Money(300, "KES"), email="a@b.co", reference="DUP-1")
    error = caught.value
    assert (error.code, error.retryable, error.http_status) == ("duplicate_reference", False, 400)
    assert error.paystack_code == "duplicate_reference" and error.error_type == "validation_error"
    assert error.next_step == "Try and create the Transaction or Charge with a new reference"
    assert "Duplicate Transaction Reference" in str(error)


async def test_invalid_key_never_shows_the_key(recorder: Recorder) -> None:
    wrong = "sk_test_not_known_here"
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder.handle)) as http:
        client = PaystackClient(http, secret_key=wrong)
        with pytest.raises(PaystackError) as caught:
            await client.verify("R-1")
        with pytest.raises(PaystackError) as doctor:
            await client.check_key()
    for error in (caught.value, doctor.value):
        assert (error.code, error.retryable, error.http_status) == ("invalid_key", False, 401)
        assert wrong not in str(error) and wrong not in repr(error)
    assert wrong not in repr(client) and wrong not in str(vars(client))
    assert repr(client) == "PaystackClient(base_url='https://api.paystack.co', mode='test')"


async def test_public_or_empty_keys_are_refused() -> None:
    async with httpx.AsyncClient() as http:
        for key in ("", "  ", "pk_test_abc", "abc"):
            with pytest.raises(ValueError) as caught:
                PaystackClient(http, secret_key=key)
            assert key.strip() == "" or key not in str(caught.value)


async def test_check_key_reports_the_mode(client: PaystackClient, recorder: Recorder) -> None:
    assert await client.check_key() == "test"
    [sent] = recorder.requests
    assert sent.method == "GET" and sent.url.path == "/refund" and sent.url.params["perPage"] == "1"
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder.handle)) as http:
        assert await PaystackClient(http, secret_key=OTHER_KEY).check_key() == "live"


@pytest.mark.parametrize("status", [400, 404])
async def test_unknown_reference_is_not_found_under_400_or_404(status: int) -> None:
    sim = PaystackSimulator(not_found_status=status)
    sim.add_merchant(KEY)
    async with httpx.AsyncClient(transport=sim.mock_transport()) as http:
        with pytest.raises(PaystackError) as caught:
            await PaystackClient(http, secret_key=KEY).verify("NOPE-1")
    assert (caught.value.code, caught.value.http_status, caught.value.retryable) == ("not_found", status, False)
    assert "Transaction reference not found" in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_retryable(client: PaystackClient, sim: PaystackSimulator, status: int) -> None:
    sim.fail_next(status, path_prefix="/transaction/verify")
    with pytest.raises(PaystackError) as caught:
        await client.verify("R-1")
    assert (caught.value.code, caught.value.retryable, caught.value.http_status) == (
        "provider_unavailable",
        True,
        status,
    )


async def test_an_html_gateway_page_is_still_a_retryable_server_error(
    client: PaystackClient, sim: PaystackSimulator
) -> None:
    sim.fail_next(502, body=b"<html><body>502 Bad Gateway</body></html>")
    with pytest.raises(PaystackError) as caught:
        await client.check_key()
    assert caught.value.code == "provider_unavailable" and caught.value.retryable
    assert "no message" in str(caught.value)


async def test_rate_limit_is_retryable_with_retry_after(client: PaystackClient, sim: PaystackSimulator) -> None:
    sim.fail_next(429, retry_after=2)
    with pytest.raises(PaystackError) as caught:
        await client.initialize(amount=Money(300, "KES"), email="a@b.co")
    assert (caught.value.code, caught.value.retryable, caught.value.retry_after) == ("rate_limited", True, 2.0)
    # the fault is spent: the next call goes through
    assert (await client.initialize(amount=Money(300, "KES"), email="a@b.co")).reference


@pytest.mark.parametrize(
    ("error", "code"),
    [(httpx.ConnectError, "network"), (httpx.ReadTimeout, "timeout"), (httpx.ConnectTimeout, "timeout")],
)
async def test_no_answer_is_retryable(
    client: PaystackClient, sim: PaystackSimulator, error: type[httpx.TransportError], code: str
) -> None:
    sim.drop_next(error)
    with pytest.raises(PaystackError) as caught:
        await client.verify("R-1")
    assert (caught.value.code, caught.value.retryable, caught.value.http_status) == (code, True, None)


async def test_a_200_that_is_not_an_envelope(client: PaystackClient, sim: PaystackSimulator) -> None:
    sim.fail_next(200, body=b"<html>captive portal</html>")
    with pytest.raises(PaystackError) as caught:
        await client.verify("R-1")
    assert caught.value.code == "bad_response" and caught.value.retryable
    sim.fail_next(200, body=b'{"status": true, "message": "ok", "data": {"reference": "R-1"}}')
    with pytest.raises(PaystackError) as partial:
        await client.verify("R-1")
    assert partial.value.code == "bad_response" and "data.status" in str(partial.value)


async def test_a_200_with_status_false_is_rejected(client: PaystackClient, sim: PaystackSimulator) -> None:
    sim.fail_next(200, message="Something went sideways")
    with pytest.raises(PaystackError) as caught:
        await client.check_key()
    assert (caught.value.code, caught.value.retryable) == ("rejected", False)


async def test_other_400s_keep_paystacks_code_or_become_invalid_request(
    client: PaystackClient, sim: PaystackSimulator
) -> None:
    sim.fail_next(
        400,
        body=json.dumps(
            {"status": False, "message": "Invalid Amount Sent", "type": "validation_error", "code": "invalid_amount"}
        ).encode(),
    )
    with pytest.raises(PaystackError) as coded:
        await client.initialize(amount=Money(300, "KES"), email="a@b.co")
    assert coded.value.code == "invalid_amount"
    with pytest.raises(PaystackError) as plain:
        await client.initialize(amount=Money(300, "KES"), email="not-an-email")
    assert plain.value.code == "invalid_request" and "Invalid Email Address Passed" in str(plain.value)


async def test_full_and_partial_refunds(client: PaystackClient, sim: PaystackSimulator, recorder: Recorder) -> None:
    await _paid(client, sim, "PAID-1")
    part = await client.refund("PAID-1", Money(50000, "KES"), merchant_note="damaged")
    assert json.loads(recorder.requests[-1].content) == {
        "transaction": "PAID-1",
        "amount": 50000,
        "currency": "KES",
        "merchant_note": "damaged",
    }
    assert (part.status, part.amount, part.transaction_reference) == ("pending", 50000, "PAID-1")
    rest = await client.refund(sim.transaction("PAID-1").id)
    assert json.loads(recorder.requests[-1].content) == {"transaction": sim.transaction("PAID-1").id}
    assert rest.amount == 100000
    await sim.drain()
    assert (await client.fetch_refund(part.id)).status == "processed"
    assert (await client.verify("PAID-1")).status == "reversed"
    with pytest.raises(PaystackError) as again:
        await client.refund("PAID-1")
    assert again.value.code == "invalid_request" and not again.value.retryable


async def test_refund_errors(client: PaystackClient, sim: PaystackSimulator) -> None:
    with pytest.raises(PaystackError) as unknown:
        await client.refund("NOPE-1")
    assert unknown.value.code == "not_found"
    await client.initialize(amount=Money(300, "KES"), email="a@b.co", reference="UNPAID-1")
    with pytest.raises(PaystackError) as unpaid:
        await client.refund("UNPAID-1")
    assert unpaid.value.code == "invalid_request"
    await _paid(client, sim, "PAID-2", minor=1000)
    with pytest.raises(PaystackError) as too_much:
        await client.refund("PAID-2", Money(1001, "KES"))
    assert too_much.value.code == "invalid_request"
    with pytest.raises(AmountNotAllowed):
        await client.refund("PAID-2", Money(0, "KES"))
    with pytest.raises(PaystackError) as fetch:
        await client.fetch_refund(999)
    assert fetch.value.code == "not_found"
    with pytest.raises(PaystackError) as bad_id:
        await client.fetch_refund("12; DROP")
    assert bad_id.value.code == "invalid_reference"


async def test_another_merchant_sees_nothing(
    client: PaystackClient, recorder: Recorder, sim: PaystackSimulator
) -> None:
    await _paid(client, sim, "MINE-1")
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder.handle)) as http:
        other = PaystackClient(http, secret_key=OTHER_KEY)
        with pytest.raises(PaystackError) as caught:
            await other.verify("MINE-1")
        assert caught.value.code == "not_found"
        with pytest.raises(PaystackError):
            await other.refund("MINE-1")
        # the same reference is free for another integration
        assert (await other.initialize(amount=Money(300, "KES"), email="a@b.co", reference="MINE-1")).reference


async def test_base_url_is_configurable(sim: PaystackSimulator) -> None:
    async with httpx.AsyncClient(transport=sim.mock_transport()) as http:
        client = PaystackClient(http, base_url="http://127.0.0.1:8765/", secret_key=KEY)
        result = await client.initialize(amount=Money(300, "KES"), email="a@b.co")
    assert client.base_url == "http://127.0.0.1:8765"
    assert result.authorization_url.startswith("http://127.0.0.1:8765/checkout/")
