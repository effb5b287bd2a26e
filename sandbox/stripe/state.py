"""What the Stripe simulator holds: accounts (secret keys and their mode), Checkout Sessions, refunds, and the
events it sends, each as the JSON object Stripe's API shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SimSession:
    id: str
    key: str  # the secret key that made it: a test key's sessions are the test mode's
    livemode: bool
    amount_total: int
    currency: str  # lower case, as Stripe writes it
    client_reference_id: str | None
    metadata: dict[str, str]
    intent_metadata: dict[str, str]
    success_url: str
    cancel_url: str
    expires_at: int
    created: int
    url: str
    status: str = "open"
    payment_status: str = "unpaid"
    payment_intent: str | None = None
    destination: str | None = None  # Connect: the destination charge's connected account
    application_fee: int = 0

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "checkout.session",
            "amount_total": self.amount_total,
            "currency": self.currency,
            "client_reference_id": self.client_reference_id,
            "created": self.created,
            "expires_at": self.expires_at,
            "livemode": self.livemode,
            "metadata": dict(self.metadata),
            "mode": "payment",
            "payment_intent": self.payment_intent,
            "payment_status": self.payment_status,
            "status": self.status,
            "success_url": self.success_url,
            "cancel_url": self.cancel_url,
            "url": self.url if self.status == "open" else None,
        }


@dataclass
class SimRefund:
    id: str
    key: str
    payment_intent: str
    charge: str
    amount: int
    currency: str
    metadata: dict[str, str]
    created: int
    status: str = "pending"

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "charge": self.charge,
            "created": self.created,
            "currency": self.currency,
            "metadata": dict(self.metadata),
            "payment_intent": self.payment_intent,
            "status": self.status,
        }


@dataclass(frozen=True)
class SimEvent:
    """An event Stripe sends: its JSON, and the mode of the account it belongs to."""

    id: str
    type: str
    livemode: bool
    body: dict[str, Any]


@dataclass
class Idempotent:
    """A request answered under an Idempotency-Key: the same key with other parameters is refused."""

    fields: dict[str, Any]
    status: int
    answer: dict[str, Any]


@dataclass
class Endpoint:
    url: str
    secret: str


@dataclass
class Account:
    keys: dict[str, bool] = field(default_factory=dict)  # secret key -> livemode
    endpoints: dict[bool, Endpoint] = field(default_factory=dict)  # livemode -> where its events are sent


@dataclass
class SimAccount:
    """A connected (Express) account of the platform."""

    id: str
    livemode: bool
    metadata: dict[str, str]
    charges_enabled: bool = False
    details_submitted: bool = False
    return_url: str = ""
    refresh_url: str = ""
    payouts: list[dict[str, Any]] = field(default_factory=list)

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "account",
            "type": "express",
            "charges_enabled": self.charges_enabled,
            "details_submitted": self.details_submitted,
            "payouts_enabled": self.charges_enabled,
            "metadata": dict(self.metadata),
        }
