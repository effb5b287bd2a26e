"""What every payment provider speaks: normalised events, what the customer is shown, and the provider protocol."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

from core.money import Money


class Outcome(enum.StrEnum):
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    PENDING = "pending"
    REFUNDED = "refunded"
    PROOF_SUBMITTED = "proof_submitted"
    REJECTED = "rejected"
    ACCEPTED = "accepted"  # the merchant accepts money that was held for review, as it arrived


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """One fact from a provider (or from the merchant, for manual payments), normalised.

    ``event_key`` makes the event idempotent: the same key from the same provider is applied at most once
    (an M-Pesa receipt number, a Paystack event and reference, a proof decision id).
    """

    provider: str
    event_key: str
    payment_reference: str
    outcome: Outcome
    amount: Money | None = None
    provider_txn_id: str | None = None
    reason: str | None = None
    reason_code: str | None = None
    occurred_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    # The provider's id of the attempt this event reports (M-Pesa's CheckoutRequestID), when it names one: a query's
    # "paid" and the callback's receipt for the same attempt are the same money, reported twice.
    provider_ref: str | None = None
    # Why money that otherwise fits must still be checked by the merchant (a mistyped Paybill account number).
    review: str | None = None
    channel: str | None = None  # how the customer paid, when the provider says (Paystack: card, mobile_money...)
    # A paid event without an amount is money of unknown size, held for review, unless the event vouches that it is
    # the attempt's own amount: only M-Pesa's STK Query answer does, for a push whose amount was fixed when it was
    # requested and which the query names by its CheckoutRequestID.
    amount_is_attempts: bool = False


@dataclass(frozen=True, slots=True)
class Callback:
    """An inbound provider request, free of any web framework."""

    body: bytes
    headers: Mapping[str, str]
    path_params: Mapping[str, str]
    remote_ip: str | None = None


class InvalidCallback(Exception):
    """A callback that is forged, malformed or not ours. Nothing is changed; the route answers with ``status``."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class ProviderError(Exception):
    """The provider refused or failed a call. ``retryable`` says whether trying later may help; ``misconfigured``
    that the shop's own settings are wrong (credentials, business number), so the merchant must act."""

    def __init__(
        self, message: str, *, code: str | None = None, retryable: bool = False, misconfigured: bool = False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.misconfigured = misconfigured


@dataclass(frozen=True, slots=True)
class LinkButton:
    text_key: str
    url: str


@dataclass(frozen=True, slots=True)
class Started:
    """What the customer sees once a payment attempt has started: a text-catalog key with its values, maybe a link."""

    text_key: str
    values: Mapping[str, str] = field(default_factory=dict)
    link: LinkButton | None = None
    provider_ref: str | None = None


class PaymentProvider(Protocol):
    name: ClassVar[str]

    async def start(self, start: StartRequest) -> Started:
        """Ask the provider to collect. Raises ProviderError; ``retryable`` with code "timeout" means the request
        may have reached the provider, so the payment must not be started again blindly."""
        ...

    def parse_callback(self, request: Callback) -> list[ProviderEvent]: ...

    async def query(self, payment_reference: str, provider_ref: str | None) -> ProviderEvent | None:
        """What the provider says of this payment now; None when it cannot tell (still pending, or unknown)."""
        ...

    def next_check(self, checks_done: int) -> timedelta | None:
        """When the reconciler should ask again after ``checks_done`` queries; None to stop asking."""
        ...

    def lifetime(self, tenant_timeout: timedelta) -> timedelta:
        """How long an attempt may stay open before it expires."""
        ...

    async def check(self) -> str:
        """Check the credentials with a cheap authenticated call (for ``dukabot doctor``): a short description of
        what answered. Raises ProviderError when they do not work."""
        ...


@dataclass(frozen=True, slots=True)
class StartRequest:
    """Everything a provider needs to start collecting one payment, as plain values."""

    payment_reference: str
    callback_token: str  # random and per payment: providers build their callback URLs with it
    tenant_slug: str
    order_code: str
    amount: Money
    customer_phone: str | None
    customer_email: str | None
    shop_name: str
    metadata: Mapping[str, str] = field(default_factory=dict)
