"""What the PayPal simulator holds: apps, tokens, orders with their captures, refunds, and the webhooks it has made.
Wire shapes follow PayPal's Orders v2 and Payments v2 answers (see payments/paypal/SOURCES.md)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# The simulator's own signing key: PayPal signs with its certificate's private key (RSA-SHA256); here an HMAC that
# only the simulator's verify endpoint can check plays that part.
_SIGNING_KEY = secrets.token_bytes(32)
CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-simulator"


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def paypal_id(length: int = 17) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass
class App:
    client_id: str
    secret: str
    webhook_id: str
    sandbox: bool
    webhook_url: str | None = None  # where the simulator delivers by itself (the playground); None: the test does


@dataclass
class SimCapture:
    id: str
    status: str
    value: str
    currency: str
    reference: str
    order_id: str
    created: str = field(default_factory=now_text)
    refunded: list[str] = field(default_factory=list)

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "amount": {"currency_code": self.currency, "value": self.value},
            "final_capture": True,
            "custom_id": self.reference,
            "invoice_id": self.reference,
            "seller_protection": {"status": "ELIGIBLE"},
            "create_time": self.created,
            "update_time": self.created,
            "supplementary_data": {"related_ids": {"order_id": self.order_id}},
            "links": [
                {"href": f"/v2/payments/captures/{self.id}", "rel": "self", "method": "GET"},
                {"href": f"/v2/checkout/orders/{self.order_id}", "rel": "up", "method": "GET"},
            ],
        }


@dataclass
class SimOrder:
    id: str
    client_id: str
    reference: str
    value: str
    currency: str
    description: str
    return_url: str
    cancel_url: str
    status: str = "CREATED"
    decline: bool = False  # the buyer's funding will be declined at capture
    captures: list[SimCapture] = field(default_factory=list)
    created: str = field(default_factory=now_text)

    def wire(self, page_base: str) -> dict[str, Any]:
        unit: dict[str, Any] = {
            "reference_id": self.reference,
            "custom_id": self.reference,
            "invoice_id": self.reference,
            "description": self.description,
            "amount": {"currency_code": self.currency, "value": self.value},
        }
        if self.captures:
            unit["payments"] = {"captures": [capture.wire() for capture in self.captures]}
        links = [{"href": f"/v2/checkout/orders/{self.id}", "rel": "self", "method": "GET"}]
        if self.status == "CREATED":
            links.append({"href": f"{page_base}/checkoutnow?token={self.id}", "rel": "approve", "method": "GET"})
        if self.status == "APPROVED":
            links.append({"href": f"/v2/checkout/orders/{self.id}/capture", "rel": "capture", "method": "POST"})
        return {
            "id": self.id,
            "intent": "CAPTURE",
            "status": self.status,
            "purchase_units": [unit],
            "create_time": self.created,
            "links": links,
        }


@dataclass
class SimRefund:
    id: str
    capture_id: str
    value: str
    currency: str
    reference: str
    invoice_id: str
    status: str = "COMPLETED"
    created: str = field(default_factory=now_text)

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "amount": {"currency_code": self.currency, "value": self.value},
            "custom_id": self.reference,
            "invoice_id": self.invoice_id,
            "create_time": self.created,
            "update_time": self.created,
            "links": [
                {"href": f"/v2/payments/refunds/{self.id}", "rel": "self", "method": "GET"},
                {"href": f"/v2/payments/captures/{self.capture_id}", "rel": "up", "method": "GET"},
            ],
        }


@dataclass(frozen=True)
class Delivery:
    """One webhook as PayPal posts it: the body and its transmission headers."""

    event_type: str
    body: bytes
    headers: dict[str, str]
    webhook_id: str


def _canonical(event: Any) -> bytes:
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


def signature(transmission_id: str, when: str, webhook_id: str, event: Any, key: bytes = _SIGNING_KEY) -> str:
    """PayPal signs ``transmission_id|transmission_time|webhook_id|crc32(body)``; so does the simulator."""
    signed = f"{transmission_id}|{when}|{webhook_id}|{zlib.crc32(_canonical(event))}".encode()
    return hmac.new(key, signed, hashlib.sha256).hexdigest()


def verified(fields: dict[str, Any], webhook_id: str, event: Any) -> bool:
    expected = signature(str(fields.get("transmission_id")), str(fields.get("transmission_time")), webhook_id, event)
    return fields.get("auth_algo") == "SHA256withRSA" and hmac.compare_digest(
        expected, str(fields.get("transmission_sig"))
    )


def delivery(
    event_type: str, resource: dict[str, Any], resource_type: str, webhook_id: str, *, key: bytes | None = None
) -> Delivery:
    event = {
        "id": f"WH-{paypal_id(17)}-{paypal_id(17)}",
        "event_version": "1.0",
        "create_time": now_text(),
        "resource_type": resource_type,
        "resource_version": "2.0",
        "event_type": event_type,
        "summary": f"{event_type} (simulator)",
        "resource": resource,
    }
    transmission_id = secrets.token_hex(16)
    when = now_text()
    headers = {
        "Content-Type": "application/json",
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        "PAYPAL-CERT-URL": CERT_URL,
        "PAYPAL-TRANSMISSION-ID": transmission_id,
        "PAYPAL-TRANSMISSION-TIME": when,
        "PAYPAL-TRANSMISSION-SIG": signature(transmission_id, when, webhook_id, event, key or _SIGNING_KEY),
    }
    return Delivery(event_type, json.dumps(event).encode(), headers, webhook_id)
