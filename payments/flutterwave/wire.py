"""Flutterwave v3's wire format, free of I/O (the simulator imports it): paths, amounts at the edge, the answers'
envelope, transactions, refunds, webhooks and their two ways of being signed. Where each fact comes from, and which
are unconfirmed (parsed tolerantly here), is in SOURCES.md.

- ``POST /v3/payments`` ``{tx_ref, amount, currency, redirect_url, customer: {email, phonenumber, name},
  payment_options, customizations, meta}`` answers ``{"status": "success", "message": "Hosted Link", "data":
  {"link": ...}}``.
- ``GET /v3/transactions/{id}/verify`` and ``GET /v3/transactions/verify_by_reference?tx_ref=`` answer a transaction
  ``{id, tx_ref, flw_ref, amount, currency, charged_amount, status, payment_type, created_at, ...}``.
- ``POST /v3/transactions/{id}/refund`` ``{amount?, comments?}`` answers a refund ``{id, tx_id, flw_ref,
  amount_refunded, status, created_at, ...}``; ``GET /v3/refunds/{id}`` fetches one.
- Errors are ``{"status": "error", "message": ..., "data": null}`` with a 4xx/5xx status.
- A webhook is ``{"event": "charge.completed", "data": TRANSACTION, "event.type": ...}``, with the header
  ``verif-hash`` equal to the secret hash set on the dashboard (not an HMAC), or, newer, ``flutterwave-signature``:
  base64 of the HMAC-SHA256 of the raw body under that secret.

Amounts are JSON numbers of major units (``420``, ``1.4``): read through their decimal text, refusing more decimals
than the currency has; never a float's arithmetic."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from core.money import Money
from payments.base import InvalidCallback
from payments.json_fields import amount_in as amount_in
from payments.json_fields import iso_time, load_json, optional_text, required_text

LIVE_HOST: Final = "https://api.flutterwave.com"
PAYMENTS_PATH: Final = "/v3/payments"
VERIFY_PATH: Final = "/v3/transactions/{id}/verify"
VERIFY_BY_REFERENCE_PATH: Final = "/v3/transactions/verify_by_reference"
REFUND_PATH: Final = "/v3/transactions/{id}/refund"
REFUND_FETCH_PATH: Final = "/v3/refunds/{id}"
BALANCES_PATH: Final = "/v3/balances"

HASH_HEADER: Final = "verif-hash"
SIGNATURE_HEADER: Final = "flutterwave-signature"
CHARGE_COMPLETED: Final = "charge.completed"

SUCCESSFUL, FAILED, PENDING = "successful", "failed", "pending"
# Flutterwave's words for a refund, in the contract's (payments.base.RefundState); another word moves nothing.
REFUND_STATES: Final = {
    "completed": "processed",
    "completed-offline": "processed",
    "successful": "processed",
    "pending": "pending",
    "processing": "processing",
    "failed": "failed",
}
# Where the customer may pay, as the shop chooses them (``payment_options``).
CHANNELS: Final = frozenset(
    {
        "card",
        "mobilemoney",
        "mpesa",
        "banktransfer",
        "ussd",
        "account",
        "mobilemoneyghana",
        "mobilemoneyuganda",
        "mobilemoneyrwanda",
        "mobilemoneyzambia",
        "mobilemoneyfranco",
        "barter",
        "nqr",
        "credit",
    }
)


def is_test_key(secret_key: str) -> bool:
    """Flutterwave's test keys carry ``_TEST`` (``FLWSECK_TEST-…``)."""
    return "_TEST" in secret_key.upper()


# --- amounts ---------------------------------------------------------------------------------------------------


def amount_out(amount: Money) -> int | str:
    """Our minor units as Flutterwave's major units: a whole number as a JSON integer, else a decimal string."""
    major = amount.major()
    return int(major) if major == major.to_integral_value() else f"{major:f}"


# --- reading JSON ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Envelope:
    """``{status: "success" | "error", message, data}``."""

    ok: bool
    message: str
    data: Any


def parse_envelope(body: bytes) -> Envelope:
    raw = load_json(body, "response")
    status = raw.get("status")
    if not isinstance(status, str):
        raise InvalidCallback("response.status is missing")
    return Envelope(status.strip().lower() == "success", optional_text(raw.get("message")) or "", raw.get("data"))


# --- transactions ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transaction:
    """A transaction as verify and the ``charge.completed`` webhook tell it. ``status`` is Flutterwave's word
    (``successful``, ``failed``, ``pending``, or a new one, kept)."""

    id: str
    tx_ref: str
    status: str
    amount: Money
    flw_ref: str | None = None
    charged_amount: Money | None = None
    payment_type: str | None = None
    processor_response: str | None = None
    created_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


def parse_transaction(data: Any, where: str = "data") -> Transaction:
    if not isinstance(data, Mapping):
        raise InvalidCallback(f"{where} is not a JSON object")
    currency = required_text(data, "currency", where).upper()
    charged = data.get("charged_amount")
    return Transaction(
        id=required_text(data, "id", where),
        tx_ref=required_text(data, "tx_ref", where),
        status=required_text(data, "status", where).lower(),
        amount=amount_in(data.get("amount"), currency, f"{where}.amount"),
        flw_ref=optional_text(data.get("flw_ref")),
        charged_amount=None if charged is None else amount_in(charged, currency, f"{where}.charged_amount"),
        payment_type=optional_text(data.get("payment_type")),
        processor_response=optional_text(data.get("processor_response")),
        created_at=iso_time(data.get("created_at")),
        raw=dict(data),
    )


# --- refunds ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    status: str  # Flutterwave's word
    amount: Money
    tx_id: str | None = None
    created_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> str:
        """The contract's word for it (:class:`payments.base.RefundState`), or Flutterwave's own when it is new."""
        return REFUND_STATES.get(self.status, self.status)

    @property
    def created(self) -> datetime | None:
        return self.created_at


def parse_refund(data: Any, currency: str, where: str = "data") -> Refund:
    """A refund object. It names no currency (SOURCES.md): a refund is in its payment's, which the caller knows."""
    if not isinstance(data, Mapping):
        raise InvalidCallback(f"{where} is not a JSON object")
    named = optional_text(data.get("currency"))
    amount = data.get("amount_refunded", data.get("amount"))
    return Refund(
        id=required_text(data, "id", where),
        status=required_text(data, "status", where).lower(),
        amount=amount_in(amount, (named or currency).upper(), f"{where}.amount_refunded"),
        tx_id=optional_text(data.get("tx_id")) or optional_text(data.get("transaction_id")),
        created_at=iso_time(data.get("created_at")),
        raw=dict(data),
    )


# --- webhooks --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Webhook:
    event: str
    data: Mapping[str, Any]
    raw: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return self.event


def parse_webhook(body: bytes) -> Webhook:
    """The body of a webhook whose header was checked (:func:`is_authentic`)."""
    raw = load_json(body, "webhook")
    event = optional_text(raw.get("event")) or optional_text(raw.get("type")) or ""
    data = raw.get("data")
    if not event or not isinstance(data, Mapping):
        raise InvalidCallback("webhook: no event or no data")
    return Webhook(event.lower(), data, raw)


def sign(body: bytes, secret: str) -> str:
    """``flutterwave-signature``: base64 of the HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _same(given: str, expected: str) -> bool:
    return given.isascii() and hmac.compare_digest(given.encode(), expected.encode())


def is_authentic(
    body: bytes, headers: Mapping[str, str], hashes: tuple[str, ...], hmac_secrets: tuple[str, ...]
) -> bool:
    """Whether the request carries one of the shop's secret hashes in ``verif-hash`` (compared in constant time: it
    is a shared secret, not a signature), or, where the shop set one, a ``flutterwave-signature`` HMAC of the body.
    A header that is present but wrong is never saved by the other."""
    given_hash = headers.get(HASH_HEADER)
    given_signature = headers.get(SIGNATURE_HEADER) if any(hmac_secrets) else None  # read only where configured
    if given_hash is None and given_signature is None:
        return False
    if given_hash is not None and not any(_same(given_hash.strip(), secret) for secret in hashes if secret):
        return False
    if given_signature is not None:
        return any(_same(given_signature.strip(), sign(body, secret)) for secret in hmac_secrets if secret)
    return True
