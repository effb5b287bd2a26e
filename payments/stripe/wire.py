"""Stripe's wire format, free of I/O (the simulator imports it): form-encoded requests, JSON answers and events.

- ``POST /v1/checkout/sessions`` (``Authorization: Bearer sk_…``, ``Idempotency-Key``), form-encoded with Stripe's
  bracket notation (``line_items[0][price_data][unit_amount]=1500``), answers a Checkout Session: ``id``
  (``cs_test_…``/``cs_live_…``), ``url``, ``status`` (``open``/``complete``/``expired``), ``payment_status``
  (``unpaid``/``paid``/``no_payment_required``), ``amount_total``, ``currency`` (lower case),
  ``client_reference_id``, ``metadata``, ``payment_intent``, ``expires_at``.
- ``GET /v1/checkout/sessions/{id}`` answers the same object; ``POST /v1/refunds`` (``payment_intent``, ``amount``,
  ``metadata``) and ``GET /v1/refunds/{id}`` a Refund: ``id`` (``re_…``), ``amount``, ``currency``, ``status``
  (``pending``/``requires_action``/``succeeded``/``failed``/``canceled``), ``payment_intent``, ``metadata``.
- An error is ``{"error": {"type", "code", "message", "param"}}`` with a 4xx/5xx status.
- An event is ``{"id": "evt_…", "type", "created", "livemode", "data": {"object": …}}``.

Fields not confirmed by a source we could read (SOURCES.md) are read tolerantly: missing ones leave a fact unknown,
never a guess."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from core.money import Money, MoneyError
from payments.base import InvalidCallback, RefundResult, RefundState
from payments.stripe.currencies import from_amount

LIVE_HOST = "https://api.stripe.com"
SESSIONS_PATH = "/v1/checkout/sessions"
REFUNDS_PATH = "/v1/refunds"
BALANCE_PATH = "/v1/balance"
ACCOUNTS_PATH = "/v1/accounts"
ACCOUNT_LINKS_PATH = "/v1/account_links"
PAYOUTS_PATH = "/v1/payouts"
# Our reference travels as client_reference_id and in the metadata of the session and of its payment (so that a
# charge's events name it too).
REFERENCE_KEY = "payment_reference"

# Stripe's words for a refund's state, in the contract's.
REFUND_STATES = {
    "pending": RefundState.PENDING,
    "requires_action": RefundState.NEEDS_ATTENTION,
    "succeeded": RefundState.PROCESSED,
    "failed": RefundState.FAILED,
    "canceled": RefundState.FAILED,
}
SESSION_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
    }
)
REFUND_EVENTS = frozenset({"charge.refunded", "refund.created", "refund.updated", "charge.refund.updated"})


def form(fields: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """``fields`` in Stripe's bracket notation, nested mappings and lists included; None values left out."""
    pairs: list[tuple[str, str]] = []
    for key, value in fields.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if value is None:
            continue
        if isinstance(value, Mapping):
            pairs.extend(form(value, name))
        elif isinstance(value, Sequence) and not isinstance(value, str):
            for index, item in enumerate(value):
                pairs.extend(form({str(index): item}, name))
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        else:
            pairs.append((name, str(value)))
    return pairs


def encode(fields: Mapping[str, Any]) -> bytes:
    return urlencode(form(fields)).encode()


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if isinstance(value, int) and value > 0 else None


def _money(amount: Any, currency: Any) -> Money | None:
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        return None
    return from_amount(amount, currency)


def _metadata(data: Mapping[str, Any]) -> Mapping[str, Any]:
    found = data.get("metadata")
    return found if isinstance(found, Mapping) else {}


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return str(value) if isinstance(value, str | int) and value != "" else None


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    url: str | None
    status: str
    payment_status: str
    amount: Money | None
    reference: str | None
    payment_intent: str | None
    livemode: bool | None
    created: datetime | None
    raw: Mapping[str, Any]


def parse_session(data: Any) -> Session:
    """A Checkout Session object; InvalidCallback (400) when it is none, or names money dukabot cannot count."""
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
        raise InvalidCallback("not a Stripe Checkout Session")
    metadata = _metadata(data)
    intent = data.get("payment_intent")
    if isinstance(intent, Mapping):  # expanded
        intent = intent.get("id")
    try:
        amount = _money(data.get("amount_total"), data.get("currency"))
    except MoneyError as error:
        raise InvalidCallback(f"a Stripe amount dukabot cannot count: {error}") from None
    return Session(
        id=data["id"],
        url=_text(data, "url"),
        status=str(data.get("status") or ""),
        payment_status=str(data.get("payment_status") or ""),
        amount=amount,
        reference=_text(data, "client_reference_id") or _text(metadata, REFERENCE_KEY),
        payment_intent=str(intent) if isinstance(intent, str) else None,
        livemode=data["livemode"] if isinstance(data.get("livemode"), bool) else None,
        created=_time(data.get("created")),
        raw=dict(data),
    )


def parse_refund(data: Any, payment_reference: str | None = None) -> RefundResult:
    """A Refund object as the contract's one refund report; InvalidCallback (400) for anything else."""
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
        raise InvalidCallback("not a Stripe Refund")
    metadata = _metadata(data)
    status = str(data.get("status") or "pending")
    try:
        amount = _money(data.get("amount"), data.get("currency"))
    except MoneyError as error:
        raise InvalidCallback(f"a Stripe amount dukabot cannot count: {error}") from None
    if amount is None:
        raise InvalidCallback("a Stripe Refund without its amount")
    intent = data.get("payment_intent")
    return RefundResult(
        event_key=f"refund:{data['id']}:{status}",  # the step, not the message: webhook and fetch agree
        status=REFUND_STATES.get(status, status),
        amount=amount,
        provider_refund_id=data["id"],
        payment_reference=_text(metadata, REFERENCE_KEY) or payment_reference,
        provider_txn_id=intent if isinstance(intent, str) else None,
        reason=_text(data, "failure_reason"),
        occurred_at=_time(data.get("created")),
        raw=dict(data),
    )


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    type: str
    livemode: bool | None
    created: datetime | None
    object: Mapping[str, Any]
    account: str | None  # a Connect event: the connected account it happened on
    raw: Mapping[str, Any]


def parse_event(body: bytes) -> Event:
    """An event's envelope (read only once its signature is checked); InvalidCallback (400) when it is none."""
    try:
        data = json.loads(body)
    except ValueError:
        raise InvalidCallback("a Stripe event is JSON") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        raise InvalidCallback("not a Stripe event")
    inner = data.get("data")
    obj = inner.get("object") if isinstance(inner, Mapping) else None
    if not isinstance(obj, Mapping):
        raise InvalidCallback("a Stripe event without its object")
    return Event(
        id=data["id"][:100],
        type=data["type"][:100],
        livemode=data["livemode"] if isinstance(data.get("livemode"), bool) else None,
        created=_time(data.get("created")),
        object=obj,
        account=_text(data, "account"),
        raw=dict(data),
    )


def charge_refunds(charge: Mapping[str, Any]) -> list[RefundResult]:
    """The refunds a ``charge.refunded`` event lists (``refunds.data``: older API versions expand it, newer ones
    may not; then the event tells nothing a refund's own events or fetch will not)."""
    metadata = _metadata(charge)
    listed = charge.get("refunds")
    items = listed.get("data") if isinstance(listed, Mapping) else None
    if not isinstance(items, list):
        return []
    return [parse_refund(item, _text(metadata, REFERENCE_KEY)) for item in items]


@dataclass(frozen=True, slots=True)
class ApiError:
    status: int
    type: str
    code: str
    message: str


def parse_error(status: int, body: bytes) -> ApiError:
    """Stripe's ``{"error": {...}}``, read tolerantly (a proxy's page is an error too)."""
    try:
        data = json.loads(body)
    except ValueError:
        data = {}
    error = data.get("error") if isinstance(data, Mapping) else None
    error = error if isinstance(error, Mapping) else {}
    return ApiError(
        status,
        str(error.get("type") or "api_error"),
        str(error.get("code") or error.get("type") or f"http_{status}"),
        str(error.get("message") or "")[:300],
    )


@dataclass(frozen=True, slots=True)
class Payout:
    amount: Money
    status: str  # paid, pending, in_transit, canceled, failed
    arrival: datetime | None


def _known_money(amount: Any, currency: Any) -> Money | None:
    try:
        return _money(amount, currency)
    except MoneyError:  # a currency dukabot does not count: left out of what the merchant reads
        return None


def parse_balance(data: Mapping[str, Any]) -> list[Money]:
    """A Balance's ``available`` amounts, one per currency."""
    items = data.get("available")
    found = (
        [_known_money(i.get("amount"), i.get("currency")) for i in items if isinstance(i, Mapping)]
        if isinstance(items, list)
        else []
    )
    return [money for money in found if money is not None]


def parse_payouts(data: Mapping[str, Any]) -> list[Payout]:
    """A list of Payouts (``{"data": [...]}``), newest first as Stripe lists them."""
    items = data.get("data")
    payouts = []
    for item in items if isinstance(items, list) else []:
        money = _known_money(item.get("amount"), item.get("currency")) if isinstance(item, Mapping) else None
        if money is not None:
            payouts.append(Payout(money, str(item.get("status") or "?"), _time(item.get("arrival_date"))))
    return payouts


def account_ready(obj: Mapping[str, Any]) -> tuple[str, bool] | None:
    """An Account object's id and whether it can take charges (``charges_enabled``); None for anything else."""
    account = obj.get("id")
    if obj.get("object") != "account" or not isinstance(account, str):
        return None
    return account, obj.get("charges_enabled") is True


def named_tenant(body: bytes) -> str | None:
    """The shop an event's object names in its metadata (``tenant``), read before the signature only to know whose
    secrets check it; None when it names none."""
    try:
        data = json.loads(body)
        slug = data["data"]["object"]["metadata"]["tenant"]
    except (ValueError, KeyError, TypeError):
        return None
    return slug if isinstance(slug, str) and 0 < len(slug) <= 64 else None
