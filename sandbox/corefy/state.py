"""What Corefy's simulator holds: its invoices and refunds, each able to say itself as Corefy's API documents do, and
what it sends (a callback's exact bytes)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from payments.corefy.wire import INVOICE_TYPE, REFUND_TYPE

PAGE_PREFIX = "/hpp/"


@dataclass
class SimInvoice:
    id: str
    reference_id: str
    key: str  # the API key that made it
    amount: Decimal
    currency: str
    return_url: str
    callback_url: str
    test_mode: bool
    service: str | None
    created: int
    status: str = "created"
    resolution: str = "ok"
    method: str = "payment_card"
    processed: int | None = None
    processed_amount: Decimal | None = None
    refunded: Decimal = Decimal(0)

    def wire(self, origin: str) -> dict[str, Any]:
        return {
            "type": INVOICE_TYPE,
            "id": self.id,
            "attributes": {
                "serial_number": self.id.removeprefix("cpi_"),
                "status": self.status,
                "resolution": self.resolution,
                "moderation_required": False,
                "amount": _number(self.amount),
                "payment_amount": _number(self.amount),
                "currency": self.currency,
                "service_currency": self.currency,
                "reference_id": self.reference_id,
                "test_mode": self.test_mode,
                "fee": 0,
                "processed": self.processed,
                "processed_amount": None if self.processed_amount is None else _number(self.processed_amount),
                "refunded_amount": _number(self.refunded) if self.refunded else None,
                "flow_data": {
                    "action": f"{origin}{PAGE_PREFIX}{self.id}",
                    "method": "GET",
                    "params": [],
                    "metadata": {"sid": self.id.replace("cpi_", "cgi_")},
                },
                "flow": "hpp",
                "payment_flow": "charge",
                "created": self.created,
                "updated": self.processed or self.created,
                "callback_url": self.callback_url,
                "return_url": self.return_url,
                "service": self.service,
            },
            "relationships": {"payment-method": {"data": {"type": "payment-methods", "id": self.method}}},
            "links": {"self": f"/api/payment-invoices/{self.id}"},
        }


@dataclass
class SimRefund:
    id: str
    invoice_id: str
    reference_id: str
    amount: Decimal
    currency: str
    status: str
    created: int
    description: str = ""

    def wire(self) -> dict[str, Any]:
        attributes = {
            "reference_id": self.reference_id,
            "original_id": None,
            "description": self.description,
            "status": self.status,
            "amount": _number(self.amount),
            "fee": 0,
            "currency": self.currency,
            "created": self.created,
            "invoiceId": self.invoice_id,
        }
        return {"type": REFUND_TYPE, "id": self.id, "attributes": attributes, "links": {"self": f"/refunds/{self.id}"}}


@dataclass(frozen=True)
class Outgoing:
    """A callback as Corefy sends it: the exact bytes and their headers."""

    url: str
    body: bytes
    headers: dict[str, str]
    status: str  # the object's status it tells


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
