"""What every payment provider speaks: normalised events, what the customer is shown, and the provider protocol.

What a provider is (:mod:`payments.info`), its registry line (:mod:`payments.entry`) and its refunds
(:mod:`payments.refunding`) are declared beside this module and importable from it."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol, runtime_checkable

from core.money import Money

# Declared in their own modules, and still importable from here.
from payments.entry import OperatorKit as OperatorKit
from payments.entry import OperatorSession as OperatorSession
from payments.entry import ProcessKit as ProcessKit
from payments.entry import ProcessParts as ProcessParts
from payments.entry import ProviderEntry as ProviderEntry
from payments.entry import Worker as Worker
from payments.info import BUTTON_CODE_MAX as BUTTON_CODE_MAX
from payments.info import Capability as Capability
from payments.info import CurrencyLimits as CurrencyLimits
from payments.info import ProviderInfo as ProviderInfo
from payments.info import ProviderInfoError as ProviderInfoError
from payments.info import ProviderKind as ProviderKind
from payments.refunding import RATE_LIMITED as RATE_LIMITED
from payments.refunding import RefundingProvider as RefundingProvider
from payments.refunding import RefundRequest as RefundRequest
from payments.refunding import RefundResult as RefundResult
from payments.refunding import RefundState as RefundState


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
class ReviewWord:
    """One reason money is held for review, as a catalog key and its values: the merchant reads it in their language
    (``review_reason``). ``amounts`` are formatted in that language too."""

    key: str
    values: Mapping[str, str] = field(default_factory=dict)
    amounts: Mapping[str, Money] = field(default_factory=dict)

    def render(self, language: str) -> str:
        from core.texts import text  # reads the catalog: not needed to import the declaration

        formatted = {name: money.format(language) for name, money in self.amounts.items()}
        return text(self.key, language, **self.values, **formatted)


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """One fact from a provider (or from the merchant, for manual payments), normalised.

    ``event_key`` makes the event idempotent: the same key from the same provider is applied at most once
    (a receipt number, a webhook event and reference, a proof decision id).
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
    # The catalog key ``reason`` was rendered from (in English, as the payment's record): what the customer reads
    # instead, in their own language.
    reason_key: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    # The provider's id of the attempt this event reports (a push's checkout request id), when it names one: a query's
    # "paid" and the callback's receipt for the same attempt are the same money, reported twice.
    provider_ref: str | None = None
    # Why money that otherwise fits must still be checked by the merchant (a mistyped Paybill account number): in
    # English, as the event's record, when ``review_words`` say it for the merchant to read in their language.
    review: str | None = None
    review_words: tuple[ReviewWord, ...] = ()
    channel: str | None = None  # how the customer paid, when the provider says (card, mobile_money...)
    # A paid event without an amount is money of unknown size, held for review, unless the event vouches that it is
    # the attempt's own amount: only a push provider's status query does, for a push whose amount was fixed when it was
    # requested and which the query names by its CheckoutRequestID.
    amount_is_attempts: bool = False


def review_reason(event: ProviderEvent, language: str) -> str:
    """Why ``event``'s money is held for review, in ``language`` when the provider said it in catalog words."""
    if event.review_words:
        return "; ".join(word.render(language) for word in event.review_words)
    return event.review or ""


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
    that the shop's own settings are wrong (credentials, business number), so the merchant must act: a provider's
    subclass names the codes that always mean so in ``misconfigured_codes``. ``http_status``: the provider's
    answer, when there was one."""

    misconfigured_codes: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retryable: bool = False,
        misconfigured: bool = False,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.misconfigured = misconfigured or code in self.misconfigured_codes
        self.http_status = http_status


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
    # The order's total, when the attempt charges another amount (a provider that converts the shop's currency):
    # the customer is shown both. None: ``amount`` is the order's total.
    order_total: Money | None = None
    # What the customer chose in the provider's chat step that the start needs (a mobile-money network), as the step
    # gave it to ``payments.chat.start_online_payment``; carried by the start job, so it holds across a restart.
    choices: Mapping[str, str] = field(default_factory=dict)
    # The customer's language: what a provider writes on its own page in our words (an order's description) is in it.
    language: str = "en"


@runtime_checkable
class SandboxAware(Protocol):
    """A provider object that can tell whether it takes real money: a live shop configured with the provider's
    sandbox credentials or host takes none, and its merchant is told so wherever the shop's mode is shown."""

    @property
    def sandboxed(self) -> bool:
        """True when this provider object talks to the provider's sandbox (test host or test credentials)."""
        ...


# --- Accepting money held for review (providers that declare Capability.CONFIRM_HELD) ------------------------------


@dataclass(frozen=True, slots=True)
class HeldWord:
    """What the provider says, asked now, of money held for review: its own word for the payment (``not_found``
    when it knows no such payment), the amount it says arrived, and whether that word means received."""

    status: str
    amount: Money | None = None
    received: bool = False

    def confirms(self, expected: Money) -> bool:
        return self.received and self.amount == expected


class HeldMoneyConfirmer(Protocol):
    """Its folder's text catalog carries ``<name>.review.missing``, ``<name>.review.unavailable`` and
    ``<name>.review.disagrees`` (the merchant's words when it cannot be asked, is not set up, or does not confirm)."""

    async def confirm_held(self, payment_reference: str) -> HeldWord:
        """Asked afresh, outside any transaction. Raises ProviderError when it cannot be asked now (the acceptance
        then waits: nothing is accepted on a guess)."""
        ...
