"""From Paystack's answers and events to the facts the adapter needs, with idempotency keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from core.money import Money
from payments.base import InvalidCallback, Outcome
from payments.paystack.facts import (
    charge_event_key,
    events_from_webhook,
    refund_facts,
    transaction_facts,
    webhook_event_key,
    webhook_facts,
)
from payments.paystack.signature import SIGNATURE_HEADER, sign
from payments.paystack.wire import (
    Transaction,
    parse_envelope,
    parse_refund_response,
    parse_verify,
    parse_webhook,
)

CHARGE = {
    "event": "charge.success",
    "data": {
        "id": 302961,
        "domain": "test",
        "status": "success",
        "reference": "ORD-1",
        "amount": 150000,
        "currency": "KES",
        "channel": "mobile_money",
        "gateway_response": "Approved",
        "paid_at": "2026-01-15T09:00:00.000Z",
        "metadata": 0,
    },
}
REFUND = {
    "event": "refund.processed",
    "data": {
        "status": "processed",
        "transaction_reference": "ORD-1",
        "refund_reference": "132013318360",
        "amount": "50000",
        "currency": "KES",
        "domain": "test",
        "id": 3018284,
    },
}


def _txn(status: str, **extra: object) -> Transaction:
    data = {"reference": "ORD-1", "status": status, "amount": 150000, "currency": "KES", "id": 77, **extra}
    return parse_verify(parse_envelope({"status": True, "message": "ok", "data": data}))


def test_charge_success_gives_paid_money_and_the_transaction_id() -> None:
    facts = webhook_facts(parse_webhook(json.dumps(CHARGE)))
    assert facts is not None
    assert facts.kind == "charge"
    assert facts.outcome is Outcome.PAID and facts.final
    assert facts.amount == Money(150000, "KES")
    assert facts.transaction_id == "302961"
    assert facts.channel == "mobile_money"
    assert facts.reason == "Approved"
    assert facts.reference == "ORD-1"
    assert facts.occurred_at == datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    assert facts.raw == CHARGE  # the whole webhook body
    assert facts.event_key == "charge.success:ORD-1"


def test_verify_success_and_the_webhook_share_one_event_key() -> None:
    webhook = webhook_facts(parse_webhook(json.dumps(CHARGE)))
    verified = transaction_facts(_txn("success"))
    assert webhook is not None and webhook.event_key == verified.event_key == charge_event_key("ORD-1")


@pytest.mark.parametrize(
    ("status", "outcome", "final"),
    [
        ("success", Outcome.PAID, True),
        ("failed", Outcome.FAILED, True),
        ("abandoned", Outcome.CANCELLED, False),
        ("ongoing", Outcome.PENDING, False),
        ("pending", Outcome.PENDING, False),
        ("processing", Outcome.PENDING, False),
        ("queued", Outcome.PENDING, False),
        ("reversed", Outcome.REFUNDED, True),
        ("something_new", Outcome.PENDING, False),
    ],
)
def test_every_verify_status_has_an_outcome(status: str, outcome: Outcome, final: bool) -> None:
    facts = transaction_facts(_txn(status, gateway_response="Declined" if status == "failed" else None))
    assert (facts.outcome, facts.final, facts.reason_code) == (outcome, final, status)
    assert facts.event_key == f"charge.{status}:ORD-1"
    assert facts.reason


def test_failed_and_abandoned_reasons() -> None:
    assert transaction_facts(_txn("failed", gateway_response="Insufficient Funds")).reason == "Insufficient Funds"
    assert transaction_facts(_txn("abandoned")).reason == "the customer did not complete the payment"


def test_xof_subunits_become_whole_francs() -> None:
    data = {"reference": "r", "status": "success", "amount": 150000, "currency": "XOF"}
    facts = transaction_facts(parse_verify(parse_envelope({"status": True, "message": "", "data": data})))
    assert facts.amount == Money(1500, "XOF")


def test_a_currency_we_cannot_hold_is_refused() -> None:
    with pytest.raises(InvalidCallback, match="EGP"):
        transaction_facts(Transaction(reference="r", status="success", amount=100, currency="EGP"))


@pytest.mark.parametrize(
    ("status", "outcome", "final"),
    [
        ("pending", Outcome.PENDING, False),
        ("processing", Outcome.PENDING, False),
        ("needs-attention", Outcome.PENDING, False),
        ("processed", Outcome.REFUNDED, True),
        ("failed", Outcome.FAILED, True),
    ],
)
def test_refund_events(status: str, outcome: Outcome, final: bool) -> None:
    body = json.loads(json.dumps(REFUND))
    body["event"] = f"refund.{status}"
    body["data"]["status"] = status
    event = parse_webhook(json.dumps(body))
    facts = webhook_facts(event)
    assert facts is not None
    assert facts.kind == "refund"
    assert (facts.outcome, facts.final) == (outcome, final)
    assert facts.amount == Money(50000, "KES")
    assert facts.reference == "ORD-1"
    assert facts.refund_id == "3018284"
    assert facts.reason_code == f"refund.{status}"
    assert facts.event_key == f"refund.{status}:ORD-1:3018284" == webhook_event_key(event)


def test_refund_key_falls_back_to_the_refund_reference() -> None:
    body = json.loads(json.dumps(REFUND))
    del body["data"]["id"]
    facts = webhook_facts(parse_webhook(json.dumps(body)))
    assert facts is not None and facts.event_key == "refund.processed:ORD-1:132013318360"


def test_a_fetched_refund_needs_the_payment_reference_when_it_has_only_the_transaction_id() -> None:
    data = {"id": 9, "status": "processed", "amount": 500, "currency": "KES", "transaction": 77}
    parsed = parse_refund_response(parse_envelope({"status": True, "message": "", "data": data}))
    with pytest.raises(InvalidCallback, match="reference"):
        refund_facts(parsed)
    facts = refund_facts(parsed, payment_reference="ORD-1")
    assert facts.reference == "ORD-1" and facts.transaction_id == "77"
    assert facts.event_key == "refund.processed:ORD-1:9"


def test_unknown_events_have_no_facts_but_a_stable_key() -> None:
    event = parse_webhook(json.dumps({"event": "transfer.success", "data": {"reference": "TRF-1"}}))
    assert webhook_facts(event) is None
    assert webhook_event_key(event) == "transfer.success:TRF-1"
    bare = parse_webhook(json.dumps({"event": "customeridentification.failed", "data": {"x": 1}}))
    assert webhook_event_key(bare) == webhook_event_key(bare)
    assert webhook_event_key(bare).startswith("customeridentification.failed:sha256-")


def test_events_from_webhook_checks_the_signature_first() -> None:
    key = "sk_test_merchant"
    body = json.dumps(CHARGE).encode()
    [event] = events_from_webhook(body, {SIGNATURE_HEADER: sign(body, key)}, key)
    assert event.provider == "paystack"
    assert event.outcome is Outcome.PAID
    assert event.payment_reference == "ORD-1"
    assert event.amount == Money(150000, "KES")
    assert event.provider_txn_id == "302961"
    assert event.event_key == "charge.success:ORD-1"
    assert event.reason_code == "success"
    with pytest.raises(InvalidCallback) as forged:
        events_from_webhook(body, {SIGNATURE_HEADER: sign(body, "sk_test_other")}, key)
    assert forged.value.status == 401
    garbage = b"not json"
    with pytest.raises(InvalidCallback) as malformed:
        events_from_webhook(garbage, {SIGNATURE_HEADER: sign(garbage, key)}, key)
    assert malformed.value.status == 400
    other = json.dumps({"event": "charge.dispute.create", "data": {}}).encode()
    assert events_from_webhook(other, {SIGNATURE_HEADER: sign(other, key)}, key) == []
