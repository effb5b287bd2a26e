"""Corefy's wire read tolerantly where its documents are unconfirmed, strictly where money and signatures are."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from datetime import UTC, datetime

import httpx
import pytest

from core.clock import SystemClock
from core.money import Money
from payments.base import InvalidCallback, Outcome, ProviderError, StartRequest, review_reason
from payments.corefy.provider import CorefyProvider, invoice_event
from payments.corefy.signature import basic_auth, credentials, is_signed, sign
from payments.corefy.wire import parse_invoice, parse_refund
from payments.registry import ProviderDeps, TenantProviderConfig
from sandbox.corefy.simulator import CorefySimulator

BODY = b'{"data":{"type":"payment-invoices","id":"cpi_1"}}'


def _invoice(**attributes: object) -> dict[str, object]:
    base = {"status": "processed", "amount": 420, "currency": "KES", "reference_id": "PAY-1", "created": 1592232050}
    return {"type": "payment-invoices", "id": "cpi_yv1RgJ2l8ty2AxIs", "attributes": {**base, **attributes}}


def test_the_signature_is_base64_of_sha1_of_secret_body_secret_and_any_other_is_refused() -> None:
    expected = base64.b64encode(hashlib.sha1(b"sk_test_x" + BODY + b"sk_test_x").digest()).decode()  # noqa: S324
    assert sign(BODY, "sk_test_x") == expected
    headers = {"x-signature": expected}
    assert is_signed(BODY, headers, ("sk_live_y", "sk_test_x")) is True
    assert is_signed(BODY + b" ", headers, ("sk_test_x",)) is False
    assert is_signed(BODY, {"x-signature": "é" + expected}, ("sk_test_x",)) is False
    assert is_signed(BODY, {}, ("sk_test_x",)) is False
    assert is_signed(BODY, headers, ("",)) is False


def test_basic_auth_carries_the_account_id_and_the_api_key() -> None:
    header = basic_auth("coma_vT6LDU0TxOxmbOot", "BeNVQChKpUvELZsx0VeintZRceJaVIgkeV67So9PtZw")
    assert header == "Basic Y29tYV92VDZMRFUwVHhPeG1iT290OkJlTlZRQ2hLcFV2RUxac3gwVmVpbnRaUmNlSmFWSWdrZVY2N1NvOVB0Wnc="
    assert credentials(header) == ("coma_vT6LDU0TxOxmbOot", "BeNVQChKpUvELZsx0VeintZRceJaVIgkeV67So9PtZw")
    assert credentials("Bearer abc") is None and credentials("Basic !!!") is None


def test_the_hosted_page_is_hpp_url_else_flow_data_action_opened_with_get() -> None:
    action = {"action": "https://pay.example/hpp/cgi_1", "method": "GET", "params": []}
    assert parse_invoice(_invoice(flow_data=action)).page_url == "https://pay.example/hpp/cgi_1"
    both = _invoice(hpp_url="https://pay.example/p/1", flow_data=action)
    assert parse_invoice(both).page_url == "https://pay.example/p/1"
    posted = {**action, "method": "POST"}
    assert parse_invoice(_invoice(flow_data=posted)).page_url is None


def test_amounts_are_major_units_read_exactly_and_what_arrived_is_the_processed_amount() -> None:
    invoice = parse_invoice(_invoice(amount=420.5, processed_amount="300"))
    assert (invoice.amount, invoice.received) == (Money(42050, "KES"), Money(30000, "KES"))
    assert invoice.created == datetime(2020, 6, 15, 14, 40, 50, tzinfo=UTC)
    with pytest.raises(InvalidCallback, match="KES takes at most 2 decimals"):
        parse_invoice(_invoice(amount=420.001))
    with pytest.raises(InvalidCallback, match="not an amount"):
        parse_invoice(_invoice(amount=True))
    with pytest.raises(InvalidCallback, match="not payment-invoices"):
        parse_invoice({**_invoice(), "type": "payout-invoices"})


def test_each_status_is_one_fact_and_an_open_invoice_is_none() -> None:
    told = {status: invoice_event(parse_invoice(_invoice(status=status))) for status in ("processed", "refunded")}
    assert {event.event_key for event in told.values() if event} == {"paid:cpi_yv1RgJ2l8ty2AxIs"}
    failed = invoice_event(parse_invoice(_invoice(status="process_failed", resolution="card_declined")))
    assert failed is not None and (failed.outcome, failed.reason, failed.amount) == (
        Outcome.FAILED,
        "card_declined",
        None,
    )
    outcomes = {s: invoice_event(parse_invoice(_invoice(status=s))) for s in ("expired", "terminated")}
    assert {s: e.outcome for s, e in outcomes.items() if e} == {
        "expired": Outcome.EXPIRED,
        "terminated": Outcome.CANCELLED,
    }
    assert [invoice_event(parse_invoice(_invoice(status=s))) for s in ("created", "processing", "new")] == [None] * 3


def test_a_refund_names_its_own_currency_or_takes_its_payments() -> None:
    data = {"type": "refunds", "id": "ref_1", "attributes": {"status": "processed", "amount": 100, "currency": "USD"}}
    assert parse_refund(data, "KES").amount == Money(10000, "USD")
    data["attributes"] = {"status": "weird", "amount": "10.5"}
    refund = parse_refund(data, "KES")
    assert (refund.amount, refund.state) == (Money(1050, "KES"), "weird")  # a new word moves nothing


START = StartRequest(
    payment_reference="PAY-1",
    callback_token="t",
    order_code="ABC123",
    amount=Money(42000, "KES"),
    customer_phone=None,
    customer_email=None,
    shop_name="Shop",
    tenant_slug="shop",
    metadata={"chat": "5001"},
)


def live_keyed_provider(http: httpx.AsyncClient, *, test_mode: bool) -> CorefyProvider:
    """A shop's Corefy set up with live keys only (no test keys), in test mode or not."""
    config = TenantProviderConfig(
        tenant_id=1,
        tenant_slug="shop",
        shop_name="Shop",
        currency="KES",
        test_mode=test_mode,
        secrets={"api_key": "live-key", "secret_key": "sk_live_0123456789abcdef"},
        options={"account_id": "coma_1", "api_url": "https://api.corefy.com"},
    )
    return CorefyProvider(config, ProviderDeps(http=http, clock=SystemClock(), callback_base="https://x"))


async def test_test_mode_without_a_test_key_starts_nothing() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500)

    transport = httpx.MockTransport(answer)
    async with httpx.AsyncClient(transport=transport) as http:
        provider = live_keyed_provider(http, test_mode=True)
        with pytest.raises(ProviderError) as refused:
            await provider.start(START)
    assert (refused.value.code, refused.value.misconfigured, seen) == ("no_test_key", True, [])


async def test_money_the_api_does_not_vouch_for_is_held_with_a_reason_the_merchant_reads_in_their_language() -> None:
    sim = CorefySimulator()
    sim.add_merchant("coma_1", "live-key", "sk_live_0123456789abcdef")
    async with httpx.AsyncClient(transport=sim.mock_transport()) as http:
        provider = live_keyed_provider(http, test_mode=False)
        await provider.start(START)
        sim.settle(sim.last(), "processed")
        paid = parse_invoice(sim.last().wire(sim.origin))
        # A callback naming another payment than the API does, and one of an invoice the API never made.
        other = await provider.confirm(dataclasses.replace(paid, reference_id="PAY-2"))
        unknown = await provider.confirm(dataclasses.replace(paid, id="cpi_made_up"))
    assert other is not None and other.outcome is Outcome.PAID
    assert other.review == "the API names another payment (PAY-1)"  # the record, in English
    assert review_reason(other, "sw") == "API inataja malipo mengine (PAY-1)"
    assert unknown is not None and unknown.outcome is Outcome.PAID
    assert unknown.review is not None and unknown.review.startswith("Corefy's API does not know this invoice (")
    assert review_reason(unknown, "fr").startswith("l'API de Corefy ne connaît pas cette facture (")
