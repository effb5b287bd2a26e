"""LinkPay's wire format, and the edge where its amounts become :class:`core.money.Money`.

- ``POST /v2/links`` (``Authorization: Key <api key>``) with ``{"merchant_ref", "total", "currency", "notify",
  "return"}`` answers ``201 {"link": LINK}``; ``GET /v2/links/by-ref/{merchant_ref}`` answers ``200 {"link": LINK}``
  or 404; ``GET /v2/whoami`` answers ``{"account", "mode"}``.
- A LINK is ``{"id", "merchant_ref", "state": "open"|"paid"|"declined", "total", "currency", "pay_url",
  "paid_at", "decline_reason"}``; ``total`` is a decimal string of major units (``"420.00"``).
- ``POST /v2/refunds`` with ``{"merchant_ref", "total", "currency", "idempotency_key"}`` answers
  ``201 {"refund": REFUND}``; ``GET /v2/refunds/{id}`` answers ``200 {"refund": REFUND}`` or 404. A REFUND is
  ``{"id", "merchant_ref", "state": "pending"|"done"|"failed", "total", "currency"}``.
- A webhook is ``{"event_id", "kind": "link.paid"|"link.declined", "link": LINK}`` or ``{"event_id", "kind":
  "refund.done"|"refund.failed", "refund": REFUND}``, signed in ``LinkPay-Signature: sha256=<hex>``, the
  HMAC-SHA256 of the raw body under the account's webhook secret."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.money import Money, MoneyError
from payments.base import InvalidCallback, RefundResult, RefundState

SIGNATURE_HEADER = "linkpay-signature"
LIVE_HOST, SANDBOX_HOST = "https://api.linkpay.example", "https://sandbox.linkpay.example"
START_PATH = "/v2/links"
REFUND_PATH = "/v2/refunds"
# LinkPay's words for a refund's state, in the contract's (payments.base.RefundState).
REFUND_STATES = {"pending": RefundState.PENDING, "done": RefundState.PROCESSED, "failed": RefundState.FAILED}


def total(amount: Money) -> str:
    """Our minor units as LinkPay's decimal string of major units."""
    return f"{amount.major():f}"


@dataclass(frozen=True, slots=True)
class Link:
    id: str
    merchant_ref: str
    state: str
    amount: Money
    pay_url: str
    paid_at: datetime | None
    decline_reason: str | None
    raw: Mapping[str, Any]


def parse_link(data: Any) -> Link:
    """A LINK as LinkPay sends it; InvalidCallback (400) for anything else, including an amount in a currency
    dukabot does not know or with more decimals than the currency has."""
    if not isinstance(data, Mapping):
        raise InvalidCallback("a link is an object")
    try:
        amount = Money.parse(str(data["total"]), str(data["currency"]))
        paid_at = datetime.fromisoformat(data["paid_at"]) if data.get("paid_at") else None
        return Link(
            id=str(data["id"]),
            merchant_ref=str(data["merchant_ref"]),
            state=str(data["state"]),
            amount=amount,
            pay_url=str(data.get("pay_url") or ""),
            paid_at=paid_at,
            decline_reason=str(data["decline_reason"]) if data.get("decline_reason") else None,
            raw=dict(data),
        )
    except (KeyError, TypeError, ValueError, MoneyError) as error:
        raise InvalidCallback(f"not a LinkPay link: {error}") from None


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def parse_refund(data: Any) -> RefundResult:
    """A REFUND as the contract's one refund report; InvalidCallback (400) for anything else."""
    if not isinstance(data, Mapping):
        raise InvalidCallback("a refund is an object")
    try:
        state = str(data["state"])
        return RefundResult(
            event_key=f"refund:{data['id']}:{state}",  # the step, not the message: webhook and fetch agree
            status=REFUND_STATES.get(state, state),
            amount=Money.parse(str(data["total"]), str(data["currency"])),
            provider_refund_id=str(data["id"]),
            payment_reference=str(data["merchant_ref"]),
            raw=dict(data),
        )
    except (KeyError, TypeError, ValueError, MoneyError) as error:
        raise InvalidCallback(f"not a LinkPay refund: {error}") from None


def verified_webhook(body: bytes, headers: Mapping[str, str], secret: str) -> tuple[str, Link | RefundResult]:
    """The webhook's event id and its link or refund, once its signature is checked over the raw bytes
    (InvalidCallback 401 before anything is read), then its body (InvalidCallback 400)."""
    given = headers.get(SIGNATURE_HEADER, "")
    if not given or not secret or not hmac.compare_digest(given.encode(), sign(body, secret).encode()):
        raise InvalidCallback("missing or bad LinkPay-Signature", status=401)
    try:
        data = json.loads(body)
        event_id, kind = str(data["event_id"]), str(data["kind"])
    except (ValueError, KeyError, TypeError):
        raise InvalidCallback("not a LinkPay webhook") from None
    if kind in ("refund.done", "refund.failed"):
        return event_id, parse_refund(data.get("refund"))
    if kind not in ("link.paid", "link.declined"):
        raise InvalidCallback(f"a LinkPay event not acted on: {kind[:40]}")
    return event_id, parse_link(data.get("link"))
