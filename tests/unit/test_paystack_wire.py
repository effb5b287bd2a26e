# ruff: noqa: E501
"""Paystack wire parsing: every sample body of the provider reference (Part B and appendix), parsed verbatim,
plus the tolerated variants and the malformed bodies that must be refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from payments.base import InvalidCallback
from payments.paystack.wire import (
    ChargeEvent,
    RefundEvent,
    TransactionStatus,
    UnknownEvent,
    parse_amount,
    parse_envelope,
    parse_initialize,
    parse_metadata,
    parse_refund_response,
    parse_verify,
    parse_webhook,
)

# --- samples, verbatim from the reference -------------------------------------------------------------

INITIALIZE_SUCCESS = r"""{
  "status": true,
  "message": "Authorization URL created",
  "data": {
    "authorization_url": "https://checkout.paystack.com/3ni8kdavz62431k",
    "access_code": "3ni8kdavz62431k",
    "reference": "re4lyvq3s3"
  }
}"""

DUPLICATE_REFERENCE = r"""{
  "status": false,
  "message": "Duplicate Transaction Reference",
  "meta": { "nextStep": "Try and create the Transaction or Charge with a new reference" },
  "type": "validation_error",
  "code": "duplicate_reference",
  "errorCodeMappingNotFound": false
}"""

VERIFY_SUCCESS = r"""{
  "status": true,
  "message": "Verification successful",
  "data": {
    "id": 4099260516,
    "domain": "test",
    "status": "success",
    "reference": "re4lyvq3s3",
    "receipt_number": null,
    "amount": 40333,
    "message": null,
    "gateway_response": "Successful",
    "paid_at": "2024-08-22T09:15:02.000Z",
    "created_at": "2024-08-22T09:14:24.000Z",
    "channel": "card",
    "currency": "NGN",
    "ip_address": "197.210.54.33",
    "metadata": "",
    "fees": 10283,
    "authorization": {
      "authorization_code": "AUTH_uh8bcl3zbn", "bin": "408408", "last4": "4081",
      "exp_month": "12", "exp_year": "2030", "channel": "card", "card_type": "visa ",
      "bank": "TEST BANK", "country_code": "NG", "brand": "visa", "reusable": true,
      "signature": "SIG_yEXu7dLBeqG0kU7g95Ke", "account_name": null
    },
    "customer": {
      "id": 181873746, "first_name": null, "last_name": null, "email": "demo@test.com",
      "customer_code": "CUS_1rkzaqsv4rrhqo6", "phone": null, "metadata": null,
      "risk_action": "default", "international_format_phone": null
    },
    "plan": null,
    "split": {},
    "order_id": null,
    "paidAt": "2024-08-22T09:15:02.000Z",
    "createdAt": "2024-08-22T09:14:24.000Z",
    "requested_amount": 30050,
    "transaction_date": "2024-08-22T09:14:24.000Z",
    "log": { "start_time": 1724318098, "time_spent": 4, "attempts": 1, "errors": 0, "success": true, "mobile": false, "input": [], "history": [] }
  }
}"""

CHARGE_SUCCESS = r"""{
  "event": "charge.success",
  "data": {
    "id": 302961,
    "domain": "live",
    "status": "success",
    "reference": "qTPrJoy9Bx",
    "amount": 10000,
    "message": null,
    "gateway_response": "Approved by Financial Institution",
    "paid_at": "2016-09-30T21:10:19.000Z",
    "created_at": "2016-09-30T21:09:56.000Z",
    "channel": "card",
    "currency": "NGN",
    "ip_address": "41.242.49.37",
    "metadata": 0,
    "log": { "time_spent": 16, "attempts": 1, "authentication": "pin", "errors": 0, "success": false, "mobile": false, "input": [], "channel": null, "history": [] },
    "fees": null,
    "customer": { "id": 68324, "first_name": "BoJack", "last_name": "Horseman", "email": "bojack@horseman.com", "customer_code": "CUS_qo38as2hpsgk2r0", "phone": null, "metadata": null, "risk_action": "default" },
    "authorization": { "authorization_code": "AUTH_f5rnfq9p", "bin": "539999", "last4": "8877", "exp_month": "08", "exp_year": "2020", "card_type": "mastercard DEBIT", "bank": "Guaranty Trust Bank", "country_code": "NG", "brand": "mastercard", "account_name": "BoJack Horseman" },
    "plan": {}
  }
}"""

REFUND_CREATED = r"""{
  "status": true,
  "message": "Refund has been queued for processing",
  "data": {
    "transaction": { "id": 1004723697, "domain": "live", "reference": "T685312322670591", "amount": 10000, "paid_at": "2021-08-20T18:34:11.000Z", "channel": "apple_pay", "currency": "NGN" },
    "integration": 412829,
    "deducted_amount": 0,
    "channel": null,
    "merchant_note": "Refund for transaction T685312322670591 by test@me.com",
    "customer_note": "Refund for transaction T685312322670591",
    "status": "pending",
    "refunded_by": "test@me.com",
    "expected_at": "2021-12-16T09:21:17.016Z",
    "currency": "NGN",
    "domain": "live",
    "amount": 10000,
    "fully_deducted": false,
    "id": 3018284,
    "createdAt": "2021-12-07T09:21:17.122Z",
    "updatedAt": "2021-12-07T09:21:17.122Z"
  }
}"""

REFUND_PROCESSED = r"""{
  "event": "refund.processed",
  "data": {
    "status": "processed",
    "transaction_reference": "T2154954_412829_3be32076_6lcg3",
    "refund_reference": "132013318360",
    "amount": "5000",
    "currency": "NGN",
    "processor": "mpgs_zen",
    "customer": { "first_name": "Damilola", "last_name": "Kwabena", "email": "damilola@email.com" },
    "integration": 412829,
    "domain": "live"
  }
}"""

VERIFY_ABANDONED = r"""{"status":true,"message":"Verification successful","data":{"id":4099260517,"domain":"test","status":"abandoned","reference":"ORD-12345-1","amount":150000,"currency":"KES","gateway_response":"The transaction was not completed","paid_at":null,"channel":"card","metadata":{"order_id":"12345"}}}"""

INVALID_KEY = r"""{"status": false, "message": "Invalid key"}"""

REFERENCE_NOT_FOUND = r"""{"status": false, "message": "Transaction reference not found"}"""

# --- envelopes ----------------------------------------------------------------------------------------


def test_initialize_success_sample() -> None:
    envelope = parse_envelope(INITIALIZE_SUCCESS.encode())
    assert envelope.status is True
    assert envelope.message == "Authorization URL created"
    result = parse_initialize(envelope)
    assert result.authorization_url == "https://checkout.paystack.com/3ni8kdavz62431k"
    assert result.access_code == "3ni8kdavz62431k"
    assert result.reference == "re4lyvq3s3"


def test_duplicate_reference_error_sample() -> None:
    envelope = parse_envelope(DUPLICATE_REFERENCE)
    assert envelope.status is False
    assert envelope.message == "Duplicate Transaction Reference"
    assert envelope.type == "validation_error"
    assert envelope.code == "duplicate_reference"
    assert envelope.next_step == "Try and create the Transaction or Charge with a new reference"
    assert envelope.data is None


@pytest.mark.parametrize(
    ("body", "message"),
    [(INVALID_KEY, "Invalid key"), (REFERENCE_NOT_FOUND, "Transaction reference not found")],
)
def test_error_envelopes_with_message_only(body: str, message: str) -> None:
    envelope = parse_envelope(body)
    assert envelope.status is False
    assert envelope.message == message
    assert envelope.meta == {} and envelope.code is None


def test_envelope_without_message_is_tolerated() -> None:
    assert parse_envelope(b'{"status": true, "data": []}').message == ""


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"<html>502 Bad Gateway</html>", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"message": "x"}', "status"),
        (b'{"status": "yes", "message": "x"}', "status"),
    ],
)
def test_malformed_envelopes_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidCallback) as caught:
        parse_envelope(body)
    assert reason in caught.value.reason


# --- verify -------------------------------------------------------------------------------------------


def test_verify_success_sample() -> None:
    txn = parse_verify(parse_envelope(VERIFY_SUCCESS))
    assert txn.status == "success" and txn.known_status is TransactionStatus.SUCCESS
    assert txn.id == 4099260516
    assert txn.domain == "test"
    assert txn.reference == "re4lyvq3s3"
    assert txn.amount == 40333
    assert txn.requested_amount == 30050
    assert txn.currency == "NGN"
    assert txn.channel == "card"
    assert txn.gateway_response == "Successful"
    assert txn.paid_at == datetime(2024, 8, 22, 9, 15, 2, tzinfo=UTC)
    assert txn.created_at == datetime(2024, 8, 22, 9, 14, 24, tzinfo=UTC)
    assert txn.metadata == {}  # sent as ""
    assert txn.customer_email == "demo@test.com"
    assert txn.raw["authorization"]["last4"] == "4081"


def test_verify_abandoned_sample() -> None:
    txn = parse_verify(parse_envelope(VERIFY_ABANDONED))
    assert txn.status == "abandoned"
    assert txn.reference == "ORD-12345-1"
    assert txn.amount == 150000 and txn.currency == "KES"
    assert txn.paid_at is None
    assert txn.gateway_response == "The transaction was not completed"
    assert txn.metadata == {"order_id": "12345"}


@pytest.mark.parametrize("status", [s.value for s in TransactionStatus])
def test_every_documented_status_is_known(status: str) -> None:
    data = {"reference": "r-1", "status": status.upper(), "amount": 300, "currency": "kes"}
    txn = parse_verify(parse_envelope(json.dumps({"status": True, "message": "ok", "data": data})))
    assert txn.known_status is TransactionStatus(status)
    assert txn.currency == "KES"


def test_an_unknown_status_is_kept_not_refused() -> None:
    data = {"reference": "r-1", "status": "chargeback_pending", "amount": "300", "currency": "KES"}
    txn = parse_verify(parse_envelope({"status": True, "message": "ok", "data": data}))
    assert txn.status == "chargeback_pending" and txn.known_status is None
    assert txn.amount == 300


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ("", {}),
        (0, {}),
        (None, {}),
        ({"order_id": "1"}, {"order_id": "1"}),
        ('{"order_id": "1"}', {"order_id": "1"}),
        ("not json", {}),
        ("[1]", {}),
    ],
)
def test_metadata_in_all_its_shapes(metadata: Any, expected: dict[str, Any]) -> None:
    assert parse_metadata(metadata) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(5000, 5000), ("5000", 5000), (" 5000 ", 5000), (5000.0, 5000), ("5000.00", 5000)]
)
def test_amounts_as_numbers_or_strings(value: Any, expected: int) -> None:
    assert parse_amount(value, "amount") == expected


@pytest.mark.parametrize("value", [None, True, "", "50.5", 50.5, -1, "-1", "ten", [], {}])
def test_bad_amounts_are_refused(value: Any) -> None:
    with pytest.raises(InvalidCallback, match="amount"):
        parse_amount(value, "data.amount")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (None, "data is not a JSON object"),
        ({"status": "success", "amount": 1, "currency": "KES"}, "data.reference"),
        ({"reference": "r", "amount": 1, "currency": "KES"}, "data.status"),
        ({"reference": "r", "status": "success", "currency": "KES"}, "data.amount"),
        ({"reference": "r", "status": "success", "amount": 1}, "data.currency"),
    ],
)
def test_a_verify_answer_missing_what_matters_is_refused(data: Any, reason: str) -> None:
    with pytest.raises(InvalidCallback) as caught:
        parse_verify(parse_envelope({"status": True, "message": "ok", "data": data}))
    assert reason in caught.value.reason


def test_ids_and_timestamps_are_tolerant() -> None:
    data = {
        "reference": "r",
        "status": "success",
        "amount": 300,
        "currency": "KES",
        "id": "18446744073709551615",
        "paidAt": "2024-08-22T09:15:02Z",
        "created_at": "yesterday",
    }
    txn = parse_verify(parse_envelope({"status": True, "message": "ok", "data": data}))
    assert txn.id == 2**64 - 1
    assert txn.paid_at == datetime(2024, 8, 22, 9, 15, 2, tzinfo=UTC)
    assert txn.created_at is None


# --- refunds ------------------------------------------------------------------------------------------


def test_refund_created_sample() -> None:
    refund = parse_refund_response(parse_envelope(REFUND_CREATED))
    assert refund.status == "pending"
    assert refund.id == 3018284
    assert refund.amount == 10000 and refund.currency == "NGN"
    assert refund.transaction_reference == "T685312322670591"
    assert refund.transaction_id == 1004723697
    assert refund.domain == "live"
    assert refund.created_at == datetime(2021, 12, 7, 9, 21, 17, 122000, tzinfo=UTC)
    assert refund.expected_at == datetime(2021, 12, 16, 9, 21, 17, 16000, tzinfo=UTC)


def test_a_fetched_refund_with_the_transaction_as_an_id() -> None:
    data = {"id": 7, "status": "processed", "amount": 500, "currency": "KES", "transaction": 1004723697}
    refund = parse_refund_response(parse_envelope({"status": True, "message": "ok", "data": data}))
    assert refund.transaction_id == 1004723697 and refund.transaction_reference is None


def test_a_refund_without_currency_takes_the_transaction_currency() -> None:
    data = {"status": "pending", "amount": 500, "transaction": {"id": 1, "reference": "r", "currency": "kes"}}
    refund = parse_refund_response(parse_envelope({"status": True, "message": "ok", "data": data}))
    assert refund.currency == "KES" and refund.transaction_reference == "r"


# --- webhooks -----------------------------------------------------------------------------------------


def test_charge_success_sample() -> None:
    event = parse_webhook(CHARGE_SUCCESS.encode())
    assert isinstance(event, ChargeEvent)
    txn = event.transaction
    assert event.event == "charge.success"
    assert txn.id == 302961 and txn.domain == "live"
    assert txn.reference == "qTPrJoy9Bx"
    assert txn.amount == 10000 and txn.currency == "NGN"
    assert txn.gateway_response == "Approved by Financial Institution"
    assert txn.paid_at == datetime(2016, 9, 30, 21, 10, 19, tzinfo=UTC)
    assert txn.metadata == {}  # sent as 0
    assert txn.customer_email == "bojack@horseman.com"
    assert event.raw["data"]["plan"] == {}


def test_refund_processed_sample_with_a_string_amount() -> None:
    event = parse_webhook(REFUND_PROCESSED.encode())
    assert isinstance(event, RefundEvent)
    refund = event.refund
    assert event.event == "refund.processed"
    assert refund.status == "processed"
    assert refund.amount == 5000  # "5000" on the wire
    assert refund.currency == "NGN"
    assert refund.transaction_reference == "T2154954_412829_3be32076_6lcg3"
    assert refund.refund_reference == "132013318360"
    assert refund.id is None
    assert refund.domain == "live"


@pytest.mark.parametrize("status", ["pending", "processing", "processed", "failed", "needs-attention"])
@pytest.mark.parametrize("amount", [5000, "5000"])
def test_every_refund_event_with_string_or_number_amounts(status: str, amount: Any) -> None:
    body = json.loads(REFUND_PROCESSED)
    body["event"] = f"refund.{status}"
    body["data"]["status"] = status
    body["data"]["amount"] = amount
    event = parse_webhook(json.dumps(body).encode())
    assert isinstance(event, RefundEvent)
    assert event.refund.status == status
    assert event.refund.amount == 5000


def test_refund_status_follows_the_event_name() -> None:
    body = json.loads(REFUND_PROCESSED)
    body["event"] = "refund.failed"
    del body["data"]["status"]
    event = parse_webhook(json.dumps(body))
    assert isinstance(event, RefundEvent) and event.refund.status == "failed"


@pytest.mark.parametrize("name", ["charge.dispute.create", "transfer.success", "subscription.create", "charge.failed"])
def test_other_events_are_kept_as_unknown(name: str) -> None:
    event = parse_webhook(json.dumps({"event": name, "data": {"id": 9, "reference": "x"}}))
    assert isinstance(event, UnknownEvent)
    assert event.event == name and event.data == {"id": 9, "reference": "x"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"event=charge.success", "not JSON"),
        (b'{"data": {}}', "webhook.event"),
        (b'{"event": "charge.success", "data": "x"}', "webhook data is not a JSON object"),
        (
            b'{"event": "charge.success", "data": {"reference": "r", "status": "success", "currency": "KES"}}',
            "webhook data.amount",
        ),
        (b'{"event": "refund.processed", "data": {"amount": "12.5", "currency": "KES"}}', "webhook data.amount"),
        (b'{"event": "refund.processed", "data": {"amount": "5"}}', "webhook data.currency"),
    ],
)
def test_malformed_webhooks_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidCallback) as caught:
        parse_webhook(body)
    assert reason in caught.value.reason
    assert caught.value.status == 400
