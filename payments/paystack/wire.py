"""Paystack's wire format, parsed tolerantly: envelopes, transactions, refunds and webhook events.

Paystack is loose with types (amount as number or string, ``metadata`` as object, ``""``, ``0``, null or
stringified JSON, ids as numbers), so the parsers accept every documented variant and keep the raw body for
the record. A body that cannot be understood at all raises InvalidCallback with a reason that says which field
is wrong. Nothing here talks to the network or looks at signatures (see ``signature.py``); turning these
models into payment facts is ``facts.py``."""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.money import MAX_MINOR
from core.unicode import holds_lone_surrogate
from payments.base import InvalidCallback
from payments.json_fields import iso_time, required_text

_UINT64_MAX = 2**64 - 1
_AMOUNT_TEXT = re.compile(r"^\s*([0-9]{1,20})(?:\.0*)?\s*$")  # ASCII digits, no more than a uint64 has


class TransactionStatus(enum.StrEnum):
    SUCCESS = "success"
    FAILED = "failed"
    ABANDONED = "abandoned"
    ONGOING = "ongoing"
    PENDING = "pending"
    PROCESSING = "processing"
    QUEUED = "queued"
    REVERSED = "reversed"


class RefundStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"
    NEEDS_ATTENTION = "needs-attention"


CHARGE_SUCCESS = "charge.success"
REFUND_EVENTS = frozenset(f"refund.{status.value}" for status in RefundStatus)


# --- field helpers --------------------------------------------------------------------------------


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidCallback(f"{where} is not a JSON object")
    return value


def _optional_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def parse_amount(value: Any, where: str) -> int:
    """A subunit amount sent as a JSON number (``5000``, ``5000.0``) or a string (``"5000"``)."""
    if isinstance(value, bool):
        raise InvalidCallback(f"{where} is not an amount")
    if isinstance(value, int):
        amount = value
    elif isinstance(value, float) and value.is_integer():
        amount = int(value)
    elif isinstance(value, str) and (match := _AMOUNT_TEXT.match(value)):
        amount = int(match.group(1))
    else:
        raise InvalidCallback(f"{where} is missing or not a whole number of subunits")
    if amount < 0:
        raise InvalidCallback(f"{where} is negative")
    if amount > MAX_MINOR:
        raise InvalidCallback(f"{where} is out of range")
    return amount


def _optional_amount(value: Any, where: str) -> int | None:
    return None if value is None or value == "" else parse_amount(value, where)


def _id(value: Any) -> int | None:
    """Paystack ids are unsigned 64-bit integers, sent as numbers (sometimes as digit strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 20:
        number = int(value.strip())
    else:
        return None
    return number if 0 <= number <= _UINT64_MAX else None


def _currency(data: Mapping[str, Any], where: str) -> str:
    return required_text(data, "currency", where).upper()


def parse_metadata(value: Any) -> Mapping[str, Any]:
    """``metadata`` as an object: ``""``, ``0`` and null are empty, a stringified JSON object is decoded."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str) and value.strip():
        try:
            decoded = json.loads(value, parse_float=_finite_float, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            return {}
        return decoded if isinstance(decoded, Mapping) else {}
    return {}


def _finite_float(text: str) -> float:
    """A JSON number with a fraction or exponent; ``1e310`` (infinity to Python) is refused: no JSON column takes it."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _no_constant(name: str) -> Any:
    """Python's json reads ``NaN`` and ``Infinity``, which are not JSON: refused."""
    raise ValueError(f"{name} is not JSON")


def load_json(body: bytes | str, where: str = "body") -> Mapping[str, Any]:
    """Decode a JSON object, or raise InvalidCallback saying why not."""
    if isinstance(body, bytes | bytearray):
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidCallback(f"{where} is not UTF-8") from None
    else:
        text = body
    if not text.strip():
        raise InvalidCallback(f"{where} is empty")
    try:
        decoded = json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InvalidCallback(f"{where} is not JSON ({exc.msg} at position {exc.pos})") from None
    except (ValueError, RecursionError):
        raise InvalidCallback(f"{where} is not JSON") from None
    if holds_lone_surrogate(decoded):  # no Paystack body does; it could be neither stored nor logged
        raise InvalidCallback(f"{where} holds text that is not Unicode")
    return _object(decoded, where)


# --- envelope -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Envelope:
    """``{status, message, data, meta}``; error bodies add ``type`` and ``code``."""

    status: bool
    message: str
    data: Any = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    type: str | None = None
    code: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def next_step(self) -> str | None:
        return _optional_text(self.meta.get("nextStep"))

    def data_object(self, where: str = "data") -> Mapping[str, Any]:
        return _object(self.data, where)


def parse_envelope(body: bytes | str | Mapping[str, Any]) -> Envelope:
    raw = body if isinstance(body, Mapping) else load_json(body, "response")
    status = raw.get("status")
    if isinstance(status, str) and status.lower() in {"true", "false"}:
        status = status.lower() == "true"
    if not isinstance(status, bool):
        raise InvalidCallback("response.status is missing or not a boolean")
    meta = raw.get("meta")
    return Envelope(
        status=status,
        message=_optional_text(raw.get("message")) or "",
        data=raw.get("data"),
        meta=meta if isinstance(meta, Mapping) else {},
        type=_optional_text(raw.get("type")),
        code=_optional_text(raw.get("code")),
        raw=raw,
    )


# --- initialize -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InitializeResult:
    authorization_url: str
    access_code: str
    reference: str


def parse_initialize(envelope: Envelope) -> InitializeResult:
    data = envelope.data_object()
    return InitializeResult(
        authorization_url=required_text(data, "authorization_url", "data"),
        access_code=required_text(data, "access_code", "data"),
        reference=required_text(data, "reference", "data"),
    )


# --- transactions (verify data and charge.success data) -------------------------------------------


@dataclass(frozen=True, slots=True)
class Transaction:
    reference: str
    status: str  # a TransactionStatus value, or whatever new word Paystack sends (kept, never refused)
    amount: int  # subunits
    currency: str
    id: int | None = None
    domain: str | None = None
    channel: str | None = None
    gateway_response: str | None = None
    message: str | None = None
    paid_at: datetime | None = None
    created_at: datetime | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    requested_amount: int | None = None
    customer_email: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def known_status(self) -> TransactionStatus | None:
        try:
            return TransactionStatus(self.status)
        except ValueError:
            return None


def parse_transaction(data: Any, where: str = "data") -> Transaction:
    obj = _object(data, where)
    customer = obj.get("customer")
    return Transaction(
        reference=required_text(obj, "reference", where),
        status=required_text(obj, "status", where).lower(),
        amount=parse_amount(obj.get("amount"), f"{where}.amount"),
        currency=_currency(obj, where),
        id=_id(obj.get("id")),
        domain=_optional_text(obj.get("domain")),
        channel=_optional_text(obj.get("channel")),
        gateway_response=_optional_text(obj.get("gateway_response")),
        message=_optional_text(obj.get("message")),
        paid_at=iso_time(obj.get("paid_at")) or iso_time(obj.get("paidAt")),
        created_at=iso_time(obj.get("created_at")) or iso_time(obj.get("createdAt")),
        metadata=parse_metadata(obj.get("metadata")),
        requested_amount=_optional_amount(obj.get("requested_amount"), f"{where}.requested_amount"),
        customer_email=_optional_text(customer.get("email")) if isinstance(customer, Mapping) else None,
        raw=obj,
    )


def parse_verify(envelope: Envelope) -> Transaction:
    return parse_transaction(envelope.data, "data")


# --- refunds (create, fetch, and refund.* webhook data) -------------------------------------------


@dataclass(frozen=True, slots=True)
class Refund:
    status: str  # a RefundStatus value, or a new word (kept)
    amount: int  # subunits
    currency: str
    id: int | None = None
    transaction_reference: str | None = None
    transaction_id: int | None = None
    refund_reference: str | None = None
    domain: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    expected_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def known_status(self) -> RefundStatus | None:
        try:
            return RefundStatus(self.status)
        except ValueError:
            return None


def parse_refund(data: Any, where: str = "data", *, status: str | None = None) -> Refund:
    """A refund object. ``transaction`` may be an object (create), an id (fetch) or absent (webhooks, which
    carry ``transaction_reference`` instead); ``amount`` may be a number or a string."""
    obj = _object(data, where)
    txn = obj.get("transaction")
    txn_obj: Mapping[str, Any] = txn if isinstance(txn, Mapping) else {}
    reference = _optional_text(obj.get("transaction_reference")) or _optional_text(txn_obj.get("reference"))
    if reference is None and isinstance(txn, str) and not txn.strip().isdigit():
        reference = txn.strip() or None
    currency = _optional_text(obj.get("currency")) or _optional_text(txn_obj.get("currency"))
    if currency is None:
        raise InvalidCallback(f"{where}.currency is missing or not text")
    raw_status = status or _optional_text(obj.get("status"))
    if raw_status is None:
        raise InvalidCallback(f"{where}.status is missing or not text")
    return Refund(
        status=raw_status.lower(),
        amount=parse_amount(obj.get("amount"), f"{where}.amount"),
        currency=currency.upper(),
        id=_id(obj.get("id")),
        transaction_reference=reference,
        transaction_id=_id(txn_obj.get("id")) if txn_obj else _id(txn),
        refund_reference=_optional_text(obj.get("refund_reference")),
        domain=_optional_text(obj.get("domain")),
        created_at=iso_time(obj.get("createdAt")) or iso_time(obj.get("created_at")),
        updated_at=iso_time(obj.get("updatedAt")) or iso_time(obj.get("updated_at")),
        expected_at=iso_time(obj.get("expected_at")),
        raw=obj,
    )


def parse_refund_response(envelope: Envelope) -> Refund:
    return parse_refund(envelope.data, "data")


# --- webhook events -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChargeEvent:
    """``charge.success``: the only charge event Paystack sends (none for failed or abandoned payments)."""

    event: str
    transaction: Transaction
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RefundEvent:
    """``refund.pending|processing|processed|failed|needs-attention``; ``refund.status`` follows the event
    name."""

    event: str
    refund: Refund
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """Any other event (disputes, transfers, subscriptions…), kept as it came."""

    event: str
    data: Mapping[str, Any]
    raw: Mapping[str, Any] = field(default_factory=dict)


WebhookEvent = ChargeEvent | RefundEvent | UnknownEvent


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> WebhookEvent:
    """Parse a webhook body (check its signature first: ``signature.require_valid``)."""
    raw = body if isinstance(body, Mapping) else load_json(body, "webhook body")
    event = required_text(raw, "event", "webhook").lower()
    data = raw.get("data")
    if event == CHARGE_SUCCESS:
        return ChargeEvent(event=event, transaction=parse_transaction(data, "webhook data"), raw=raw)
    if event in REFUND_EVENTS:
        refund = parse_refund(data, "webhook data", status=event.removeprefix("refund."))
        return RefundEvent(event=event, refund=refund, raw=raw)
    return UnknownEvent(event=event, data=data if isinstance(data, Mapping) else {}, raw=raw)
