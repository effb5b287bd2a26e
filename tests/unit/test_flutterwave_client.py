"""Flutterwave's client against its simulator, in process: each answer and each error in Flutterwave's own envelope
becomes what the provider needs (our stable codes, retryable or not), and the key never appears in a message."""

from __future__ import annotations

import httpx
import pytest

from core.money import Money
from payments.flutterwave.client import FlutterwaveClient, FlutterwaveError
from sandbox.flutterwave.simulator import FlutterwaveSimulator

KEY, HASH = "FLWSECK_TEST-client00000000000000-X", "client-secret-hash-0001"


def body(tx_ref: str = "dk-ref-1") -> dict[str, object]:
    return {
        "tx_ref": tx_ref,
        "amount": 420,
        "currency": "KES",
        "redirect_url": "http://127.0.0.1/r",
        "customer": {"email": "tg1@example.com"},
    }


async def test_a_link_verify_and_a_partial_refund_then_each_refusal_in_our_words() -> None:
    sim = FlutterwaveSimulator()
    sim.add_merchant(KEY, HASH)
    async with httpx.AsyncClient(transport=sim.mock_transport()) as http:
        client = FlutterwaveClient(http, secret_key=KEY, base_url="https://api.flutterwave.com")
        link = await client.hosted_link(body())
        assert link.startswith("https://api.flutterwave.com/v3/hosted/pay/") and client.mode == "test"
        with pytest.raises(FlutterwaveError) as unknown:
            await client.verify_by_reference("dk-ref-1")  # the page was never answered: no transaction yet
        assert (unknown.value.code, unknown.value.retryable) == ("not_found", False)

        txn = sim.last()
        sim.settle(txn, "successful", payment_type="mpesa")
        verified = await client.verify(str(txn.id))
        assert (verified.status, verified.amount, verified.payment_type) == ("successful", Money(42000, "KES"), "mpesa")
        refund = await client.refund(verified.id, Money(10000, "KES"), "out of stock")
        assert (refund.amount, refund.state, refund.tx_id) == (Money(10000, "KES"), "processed", verified.id)
        assert (await client.fetch_refund(refund.id, "KES")).amount == Money(10000, "KES")
        with pytest.raises(FlutterwaveError) as too_much:
            await client.refund(verified.id, Money(40000, "KES"), "again")  # more than is left
        assert too_much.value.code == "rejected"

        sim.fail_next("/v3/transactions", 503, 429)
        for code, retryable in (("provider_unavailable", True), ("rate_limited", True)):
            with pytest.raises(FlutterwaveError) as busy:
                await client.verify(verified.id)
            assert (busy.value.code, busy.value.retryable) == (code, retryable)

        stranger = FlutterwaveClient(http, secret_key="FLWSECK-stranger-X", base_url="https://api.flutterwave.com")
        with pytest.raises(FlutterwaveError) as refused:
            await stranger.hosted_link(body("dk-ref-2"))
        assert (refused.value.code, refused.value.misconfigured) == ("invalid_key", True)
        assert "FLWSECK-stranger-X" not in str(refused.value) and "stranger" not in repr(stranger)
        with pytest.raises(FlutterwaveError) as not_an_id:
            await client.verify("../balances")
        assert not_an_id.value.code == "not_found"
