"""PayPal's wire format (Orders v2, Payments v2 refunds, OAuth, webhooks), free of I/O so that the simulator can
import it: request bodies built, answers parsed tolerantly.

Parsing is tolerant of what is unconfirmed (SOURCES.md): our reference is read from ``custom_id``, else
``invoice_id``, else ``reference_id``; the approve link from ``rel: approve`` or ``rel: payer-action``; a capture's
order from ``supplementary_data.related_ids.order_id`` or its ``up`` link. Unknown fields are kept in ``raw``. A
body that cannot be understood raises InvalidCallback naming the field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from core.money import Money, MoneyError
from payments.base import InvalidCallback
from payments.paypal.currencies import money_of

LIVE_HOST: Final = "https://api-m.paypal.com"
SANDBOX_HOST: Final = "https://api-m.sandbox.paypal.com"
TOKEN_PATH: Final = "/v1/oauth2/token"  # noqa: S105 - a path, not a password
ORDERS_PATH: Final = "/v2/checkout/orders"
VERIFY_PATH: Final = "/v1/notifications/verify-webhook-signature"
REQUEST_ID_HEADER: Final = "PayPal-Request-Id"

# The headers of a webhook delivery, lower-cased, and the verify request's field each one fills.
TRANSMISSION_HEADERS: Final = {
    "paypal-auth-algo": "auth_algo",
    "paypal-cert-url": "cert_url",
    "paypal-transmission-id": "transmission_id",
    "paypal-transmission-sig": "transmission_sig",
    "paypal-transmission-time": "transmission_time",
}

ORDER_APPROVED: Final = "CHECKOUT.ORDER.APPROVED"
CAPTURE_COMPLETED: Final = "PAYMENT.CAPTURE.COMPLETED"
CAPTURE_DENIED: Final = "PAYMENT.CAPTURE.DENIED"
CAPTURE_DECLINED: Final = "PAYMENT.CAPTURE.DECLINED"
CAPTURE_PENDING: Final = "PAYMENT.CAPTURE.PENDING"
CAPTURE_REFUNDED: Final = "PAYMENT.CAPTURE.REFUNDED"
CAPTURE_REVERSED: Final = "PAYMENT.CAPTURE.REVERSED"
ORDER_EVENTS: Final = frozenset({ORDER_APPROVED})
CAPTURE_EVENTS: Final = frozenset({CAPTURE_COMPLETED, CAPTURE_DENIED, CAPTURE_DECLINED, CAPTURE_PENDING})
REFUND_EVENTS: Final = frozenset({CAPTURE_REFUNDED, CAPTURE_REVERSED})


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidCallback(f"{where} is not a JSON object")
    return value


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if isinstance(value, str) and value.strip() and len(value) <= 256:
        return value.strip()
    raise InvalidCallback(f"{where}.{key} is missing or not text")


def _optional(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value.strip() or None if isinstance(value, str) else None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _amount(data: Mapping[str, Any], where: str) -> Money:
    amount = _object(data.get("amount"), f"{where}.amount")
    try:
        return money_of(amount.get("value"), amount.get("currency_code"))
    except MoneyError as error:
        raise InvalidCallback(f"{where}.amount: {error}") from None


def _link(data: Mapping[str, Any], *rels: str) -> str | None:
    links = data.get("links")
    for rel in rels:
        for link in links if isinstance(links, list) else []:
            if isinstance(link, Mapping) and link.get("rel") == rel and isinstance(link.get("href"), str):
                return str(link["href"])
    return None


def loads(body: bytes, where: str = "body") -> Mapping[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidCallback(f"{where} is not JSON") from None
    return _object(data, where)


# --- OAuth ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_in: int  # seconds


def parse_token(data: Mapping[str, Any]) -> AccessToken:
    token = _text(data, "access_token", "token")
    expires = data.get("expires_in")
    if isinstance(expires, str) and expires.isdigit():
        expires = int(expires)
    if not isinstance(expires, int) or isinstance(expires, bool) or expires <= 0:
        raise InvalidCallback("token.expires_in is not a number of seconds")
    return AccessToken(token, expires)


# --- orders and captures -------------------------------------------------------------------------------------


def create_order_body(
    *,
    reference: str,
    amount: Money,
    value: str,
    description: str,
    brand_name: str,
    return_url: str,
    cancel_url: str,
) -> dict[str, Any]:
    """The create-order request: intent CAPTURE, one purchase unit carrying our reference three ways, and the
    return and cancel URLs in the PayPal payment source's experience context."""
    return {
        "intent": "CAPTURE",
        "purchase_units": [
            {
                "reference_id": reference,
                "custom_id": reference,
                "invoice_id": reference,
                "description": description[:127],
                "amount": {"currency_code": amount.currency, "value": value},
            }
        ],
        "payment_source": {
            "paypal": {
                "experience_context": {
                    "brand_name": brand_name[:127],
                    "shipping_preference": "NO_SHIPPING",
                    "user_action": "PAY_NOW",
                    "return_url": return_url,
                    "cancel_url": cancel_url,
                }
            }
        },
    }


@dataclass(frozen=True, slots=True)
class Capture:
    id: str
    status: str  # COMPLETED, DECLINED, PENDING, FAILED, REFUNDED, PARTIALLY_REFUNDED
    amount: Money | None  # None: a currency dukabot does not count
    reference: str | None
    order_id: str | None
    reason: str | None  # status_details.reason
    at: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict)


def _reference(data: Mapping[str, Any]) -> str | None:
    return _optional(data, "custom_id") or _optional(data, "invoice_id") or _optional(data, "reference_id")


def parse_capture(data: Mapping[str, Any], where: str = "capture") -> Capture:
    data = _object(data, where)
    try:
        amount: Money | None = _amount(data, where)
    except InvalidCallback:
        if "amount" not in data:
            raise
        amount = None
    related = data.get("supplementary_data")
    order_id = None
    if isinstance(related, Mapping) and isinstance(related.get("related_ids"), Mapping):
        order_id = _optional(related["related_ids"], "order_id")
    if order_id is None:
        up = _link(data, "up")
        order_id = up.rstrip("/").rsplit("/", 1)[-1] if up and "/checkout/orders/" in up else None
    details = data.get("status_details")
    return Capture(
        id=_text(data, "id", where),
        status=_text(data, "status", where).upper(),
        amount=amount,
        reference=_reference(data),
        order_id=order_id,
        reason=_optional(details, "reason") if isinstance(details, Mapping) else None,
        at=_time(data.get("update_time") or data.get("create_time")),
        raw=dict(data),
    )


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    status: str  # CREATED, SAVED, APPROVED, VOIDED, COMPLETED, PAYER_ACTION_REQUIRED
    reference: str | None
    amount: Money | None
    captures: tuple[Capture, ...]
    approve_url: str | None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def capture(self) -> Capture | None:
        """The capture that decides the order: a completed one first, else the latest."""
        done = [c for c in self.captures if c.status in {"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"}]
        chosen = done or list(self.captures)
        return chosen[-1] if chosen else None


def parse_order(data: Mapping[str, Any]) -> Order:
    data = _object(data, "order")
    units = data.get("purchase_units")
    unit: Mapping[str, Any] = units[0] if isinstance(units, list) and units and isinstance(units[0], Mapping) else {}
    payments = unit.get("payments")
    raw_captures = payments.get("captures") if isinstance(payments, Mapping) else None
    captures = tuple(
        parse_capture(item, f"order.purchase_units[0].payments.captures[{i}]")
        for i, item in enumerate(raw_captures if isinstance(raw_captures, list) else [])
    )
    amount = None
    if "amount" in unit:
        try:
            amount = _amount(unit, "order.purchase_units[0]")
        except InvalidCallback:
            amount = None
    order_id = _text(data, "id", "order")
    return Order(
        id=order_id,
        status=_text(data, "status", "order").upper(),
        reference=_reference(unit),
        amount=amount,
        captures=tuple(
            c
            if c.order_id
            else Capture(c.id, c.status, c.amount, c.reference or _reference(unit), order_id, c.reason, c.at, c.raw)
            for c in captures
        ),
        approve_url=_link(data, "approve", "payer-action"),
        raw=dict(data),
    )


# --- refunds -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    status: str  # CANCELLED, FAILED, PENDING, COMPLETED
    amount: Money | None
    reference: str | None  # custom_id: the payment's reference, as we sent it
    capture_id: str | None
    reason: str | None
    at: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict)


def refund_body(amount: Money, value: str, reference: str, invoice_id: str, note: str) -> dict[str, Any]:
    return {
        "amount": {"currency_code": amount.currency, "value": value},
        "custom_id": reference,
        "invoice_id": invoice_id,
        "note_to_payer": note[:255],
    }


def parse_refund(data: Mapping[str, Any], where: str = "refund") -> Refund:
    data = _object(data, where)
    try:
        amount: Money | None = _amount(data, where)
    except InvalidCallback:
        amount = None
    up = _link(data, "up")
    details = data.get("status_details")
    return Refund(
        id=_text(data, "id", where),
        status=_text(data, "status", where).upper(),
        amount=amount,
        reference=_optional(data, "custom_id"),
        capture_id=up.rstrip("/").rsplit("/", 1)[-1] if up and "/captures/" in up else None,
        reason=_optional(details, "reason") if isinstance(details, Mapping) else None,
        at=_time(data.get("update_time") or data.get("create_time")),
        raw=dict(data),
    )


# --- errors --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiError:
    name: str  # INVALID_REQUEST, UNPROCESSABLE_ENTITY, RESOURCE_NOT_FOUND, ... or OAuth's "invalid_client"
    message: str
    issue: str | None  # details[0].issue: INSTRUMENT_DECLINED, ORDER_NOT_APPROVED, ORDER_ALREADY_CAPTURED, ...
    debug_id: str | None


def parse_error(body: bytes) -> ApiError:
    try:
        data = loads(body, "error")
    except InvalidCallback:
        return ApiError("", "", None, None)
    details = data.get("details")
    first = details[0] if isinstance(details, list) and details and isinstance(details[0], Mapping) else {}
    return ApiError(
        name=str(data.get("name") or data.get("error") or ""),
        message=str(data.get("message") or data.get("error_description") or "")[:200],
        issue=_optional(first, "issue"),
        debug_id=_optional(data, "debug_id"),
    )


# --- webhooks ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: str
    event_type: str
    resource: Mapping[str, Any]
    raw: Mapping[str, Any]


def parse_webhook(body: bytes) -> WebhookEvent:
    data = loads(body, "webhook")
    return WebhookEvent(
        id=_text(data, "id", "webhook"),
        event_type=_text(data, "event_type", "webhook").upper(),
        resource=_object(data.get("resource"), "webhook.resource"),
        raw=dict(data),
    )


def transmission(headers: Mapping[str, str]) -> dict[str, str] | None:
    """The five transmission headers as the verify request's fields; None when any is missing (unsigned)."""
    found = {field: (headers.get(header) or "").strip() for header, field in TRANSMISSION_HEADERS.items()}
    if not all(found.values()) or any(len(value) > 500 for value in found.values()):
        return None
    return found


def verify_body(fields: Mapping[str, str], webhook_id: str, event: Mapping[str, Any]) -> dict[str, Any]:
    return {**fields, "webhook_id": webhook_id, "webhook_event": dict(event)}


def verification_status(data: Mapping[str, Any]) -> str:
    return str(data.get("verification_status") or "").upper()


def reference_of(event: WebhookEvent) -> str | None:
    """Our reference as the webhook names it (the order's purchase unit, or the capture): a hint to find the
    payment by; what decides is the GET of the order, which must name the same reference."""
    if event.event_type in ORDER_EVENTS:
        units = event.resource.get("purchase_units")
        unit = units[0] if isinstance(units, list) and units and isinstance(units[0], Mapping) else {}
        return _reference(unit)
    return _reference(event.resource)


def order_id_of(event: WebhookEvent) -> str | None:
    """The order a webhook is about: the resource itself for an order event, the capture's order otherwise."""
    if event.event_type in ORDER_EVENTS:
        return _optional(event.resource, "id")
    try:
        return parse_capture(event.resource, "webhook.resource").order_id
    except InvalidCallback:
        return None
