"""Flutterwave's wire at the edge: amounts both ways, the documented answers parsed as documented, the two webhook
headers, and the settings an operator can and cannot give."""

from __future__ import annotations

import json

import pytest

from core.money import Money
from payments.base import InvalidCallback
from payments.flutterwave.settings import FlutterwaveSetup
from payments.flutterwave.wire import (
    amount_in,
    amount_out,
    is_authentic,
    parse_envelope,
    parse_refund,
    parse_transaction,
    sign,
)
from payments.setup import SetupError

# developer.flutterwave.com's verify sample (SOURCES.md), trimmed of the card block.
DOCUMENTED_VERIFY = b"""{"status": "success", "message": "Transaction fetched successfully", "data": {
  "id": 288200108, "tx_ref": "LiveCardTest", "flw_ref": "YemiDesola/FLW275407301", "device_fingerprint": "N/A",
  "amount": 100, "currency": "NGN", "charged_amount": 100, "app_fee": 1.4, "merchant_fee": 0,
  "processor_response": "Approved by Financial Institution", "auth_model": "PIN", "ip": "::ffff:10.5.179.3",
  "narration": "CARD Transaction ", "status": "successful", "payment_type": "card",
  "created_at": "2020-07-15T14:31:16.000Z", "account_id": 17321}}"""
# developer.flutterwave.com's refund sample.
DOCUMENTED_REFUND = {
    "id": 75923,
    "account_id": 73362,
    "tx_id": 908790,
    "flw_ref": "URF_1577867664541_3572735",
    "wallet_id": 74639,
    "amount_refunded": 6900,
    "status": "completed",
    "destination": "payment_source",
    "meta": {"source": "availablebalance"},
    "created_at": "2021-01-24T09:18:37.366Z",
}


def test_amounts_cross_the_edge_in_major_units_and_never_round() -> None:
    assert amount_out(Money(42000, "KES")) == 420 and amount_out(Money(42050, "KES")) == "420.50"
    assert amount_out(Money(1500, "UGX")) == 1500
    assert amount_in(420, "KES", "a") == Money(42000, "KES") and amount_in(1.4, "NGN", "a") == Money(140, "NGN")
    assert amount_in("420.50", "KES", "a") == Money(42050, "KES")
    for bad in (420.001, "1e999999", True, None, float("nan"), -5, {"v": 1}):
        with pytest.raises(InvalidCallback):
            amount_in(bad, "KES", "a")
    with pytest.raises(InvalidCallback):
        amount_in(1, "XAF", "a")  # a currency dukabot does not know is no amount


def test_the_documented_answers_read_as_documented() -> None:
    envelope = parse_envelope(DOCUMENTED_VERIFY)
    txn = parse_transaction(envelope.data)
    assert envelope.ok and (txn.id, txn.tx_ref, txn.status, txn.amount) == (
        "288200108",
        "LiveCardTest",
        "successful",
        Money(10000, "NGN"),
    )
    assert (txn.payment_type, txn.created_at is not None) == ("card", True)
    refund = parse_refund(DOCUMENTED_REFUND, "NGN")
    assert (refund.id, refund.tx_id, refund.amount, refund.state) == (
        "75923",
        "908790",
        Money(690000, "NGN"),
        "processed",
    )
    assert parse_refund({**DOCUMENTED_REFUND, "status": "queued-somewhere"}, "NGN").state == "queued-somewhere"
    error = parse_envelope(b'{"status": "error", "message": "No transaction was found for this id", "data": null}')
    assert (error.ok, error.message) == (False, "No transaction was found for this id")
    with pytest.raises(InvalidCallback):
        parse_transaction({"id": 1, "tx_ref": "x", "status": "successful", "currency": "KES"})  # no amount


def test_verif_hash_is_the_secret_itself_and_the_hmac_counts_only_where_configured() -> None:
    body = json.dumps({"event": "charge.completed", "data": {}}).encode()
    hashes = ("live-secret-hash-000001", "test-secret-hash-000001")
    assert is_authentic(body, {"verif-hash": "live-secret-hash-000001"}, hashes, ())
    assert is_authentic(body, {"verif-hash": "test-secret-hash-000001"}, hashes, ())
    assert not is_authentic(body, {"verif-hash": "live-secret-hash-00000"}, hashes, ())
    assert not is_authentic(body, {"verif-hash": "ëlive-secret-hash-000001"}, hashes, ())
    assert not is_authentic(body, {}, hashes, ())
    assert not is_authentic(body, {"verif-hash": ""}, ("",), ())  # no secret set: nothing is authentic
    signed = {"flutterwave-signature": sign(body, "hmac-secret-0000001")}
    assert not is_authentic(body, signed, hashes, ())  # no HMAC secret set: the header is not read
    assert is_authentic(body, signed, hashes, ("hmac-secret-0000001",))
    assert not is_authentic(body + b" ", signed, hashes, ("hmac-secret-0000001",))
    wrong_hash = {**signed, "verif-hash": "someone-elses"}
    assert not is_authentic(body, wrong_hash, hashes, ("hmac-secret-0000001",))  # a wrong header is never saved


def test_settings_refuse_public_keys_short_hashes_and_unknown_channels() -> None:
    given = {"secret_key": "FLWSECK-abc-X", "secret_hash": "a-long-enough-hash"}
    secrets, options = FlutterwaveSetup.parse({**given, "payment_options": "Card, mpesa,card"}).stored()
    assert secrets == {"secret_key": "FLWSECK-abc-X", "secret_hash": "a-long-enough-hash"}
    assert options == {"payment_options": "card,mpesa"}
    for wrong, said in (
        ({"secret_key": "FLWPUBK-abc-X"}, "flutterwave secret_key starts with FLWSECK-"),
        ({"secret_hash": "short"}, "flutterwave secret_hash is at least 16 characters"),
        ({"test_secret_key": "FLWSECK-live-X"}, "flutterwave test_secret_key is a test key"),
        ({"payment_options": "card,bitcoin"}, "flutterwave payment_options are a comma-separated choice"),
    ):
        with pytest.raises(SetupError) as refused:
            FlutterwaveSetup.parse({**given, **wrong})
        assert str(refused.value).startswith(said), str(refused.value)
