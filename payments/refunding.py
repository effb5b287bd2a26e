"""Refunds through a provider (one that declares ``Capability.REFUND``): the request, the one shape of every report,
and the protocol its provider object adds. Re-exported by :mod:`payments.base`."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from core.money import Money

# A standard error code of ProviderError: the provider turned the call away before doing anything (too many calls),
# so asking again later cannot do it twice.
RATE_LIMITED = "rate_limited"


class RefundState(enum.StrEnum):
    """Where a refund is at the provider: one vocabulary for every provider (its own words map onto these; a word
    it has not documented stays as it came and moves nothing)."""

    PENDING = "pending"  # taken, queued
    PROCESSING = "processing"
    NEEDS_ATTENTION = "needs-attention"  # the provider needs someone to act (the customer's bank details)
    PROCESSED = "processed"  # the money is on its way back: the payment is refunded
    FAILED = "failed"  # nothing was refunded


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """Send ``amount`` of one payment back to the customer."""

    refund_id: int  # our refund's id: unique, so a provider that takes an idempotency key is given this
    payment_reference: str
    provider_txn_id: str | None  # the provider's id of the payment, when it gave one
    amount: Money
    note: str  # for the provider's dashboard


@dataclass(frozen=True, slots=True)
class RefundResult:
    """What a provider says of one refund, whatever asked (its answer to the request, a follow-up check, a webhook):
    one shape for every provider, as ActiveMerchant's ``Response``.

    ``provider_refund_id`` is the provider's id of the refund when the report names it; ``alias`` another name the
    provider gives the same refund (a provider's own refund reference): a report with only an alias is matched to our
    refund by amount. ``event_key`` makes the report idempotent; ``status`` is a :class:`RefundState` value, or the
    provider's own word when it is not one of them."""

    event_key: str
    status: str
    amount: Money
    provider_refund_id: str | None = None
    alias: str | None = None
    payment_reference: str | None = None
    provider_txn_id: str | None = None
    reason: str | None = None
    occurred_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ident(self) -> str | None:
        """The name our refund row keeps for it: the provider's id, else its alias."""
        return self.provider_refund_id or self.alias


class RefundingProvider(Protocol):
    """What a provider with :attr:`Capability.REFUND` adds to :class:`PaymentProvider`. The shop's ``/refund`` writes
    a ``requested`` refund (no network in the chat); the reconciler sends it with :meth:`refund` outside any
    transaction, and follows it with :meth:`refund_status` while it is on its way, in case the provider's own report
    (a webhook) is lost.

    Its folder's text catalog carries ``<name>.refund.how`` (the confirmation's "who sends it back"),
    ``<name>.refund.requested``, ``<name>.refund.not_configured``, ``<name>.refund.made_elsewhere`` and
    ``<name>.refund.merchant.{processed,needs-attention,unconfirmed,unresolved}``."""

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Ask the provider to refund. Raises ProviderError: ``retryable`` means the request may have reached the
        provider (it is never sent again: the provider's reports settle it); code :data:`RATE_LIMITED` that it
        surely did not."""
        ...

    async def refund_status(self, provider_refund_id: str, payment_reference: str) -> RefundResult | None:
        """The state at the provider now of a refund of the payment ``payment_reference``; None when it cannot be
        asked by this name. Raises ProviderError (not answered) or InvalidCallback (an answer not understood)."""
        ...

    def refund_next_check(self, checks_done: int) -> timedelta:
        """How long to wait before asking about a refund on its way again, after ``checks_done`` checks."""
        ...

    @property
    def refund_horizon(self) -> timedelta:
        """How long after the merchant asked we keep asking; then the merchant is told once, and we stop."""
        ...
