"""What every payment provider speaks: normalised events, what the customer is shown, and the provider protocol."""

from __future__ import annotations

import enum
import re
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NoReturn, Protocol, TypeVar, runtime_checkable

from core.money import Money, MoneyError
from core.money import exponent as money_exponent

if TYPE_CHECKING:  # types only: importing this module loads no HTTP client and no database layer
    import asyncio

    import httpx
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.clock import Clock
    from core.db.engine import Database
    from core.db.tables import Tenant
    from core.vault import Vault
    from payments.chat import ChatStep
    from payments.evidence import EvidenceReader
    from payments.inbound import InboundRoute
    from payments.jobs import JobHandler
    from payments.notices import ProviderNotices
    from payments.registry import ProviderRegistry

T = TypeVar("T")


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
    raw: Mapping[str, Any] = field(default_factory=dict)
    # The provider's id of the attempt this event reports (a push's checkout request id), when it names one: a query's
    # "paid" and the callback's receipt for the same attempt are the same money, reported twice.
    provider_ref: str | None = None
    # Why money that otherwise fits must still be checked by the merchant (a mistyped Paybill account number).
    review: str | None = None
    channel: str | None = None  # how the customer paid, when the provider says (card, mobile_money...)
    # A paid event without an amount is money of unknown size, held for review, unless the event vouches that it is
    # the attempt's own amount: only a push provider's status query does, for a push whose amount was fixed when it was
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


# --- What a provider is, declared once in its folder (``payments/<name>/__init__.py``) ------------------------------


class ProviderKind(enum.StrEnum):
    """How the customer pays: the chat step and the wording follow from it."""

    PHONE_PUSH = "phone_push"  # a prompt on the customer's phone (an STK push)
    HOSTED_LINK = "hosted_link"  # a link to the provider's own checkout page
    CHAT_INVOICE = "chat_invoice"  # an invoice inside the chat (Telegram payments)
    MANUAL_PROOF = "manual_proof"  # paid by hand, a proof checked by the merchant


class Capability(enum.StrEnum):
    QUERY = "query"  # it can be asked what became of a payment
    REFUND = "refund"
    PARTIAL_REFUND = "partial_refund"
    # Money it reported that was held for review is accepted only once the provider, asked again at that moment,
    # confirms it arrived (a HeldMoneyConfirmer: one whose signed webhook its status query may contradict).
    CONFIRM_HELD = "confirm_held"


_NAME = re.compile(r"[a-z][a-z0-9_]{1,30}")
_COUNTRY = re.compile(r"[A-Z]{2}")
BUTTON_CODE_MAX = 999  # what a payment-menu button carries (core.buttons.PayWith.method)


class ProviderInfoError(ValueError):
    """A provider's declaration contradicts itself: raised at import, so a wrong one never reaches a customer."""


@dataclass(frozen=True, slots=True)
class CurrencyLimits:
    """One currency a provider takes, in minor units of :mod:`core.money`. ``step_minor`` is the smallest
    increment it takes: one that takes whole shillings only, 100 cents."""

    currency: str
    exponent: int
    minimum_minor: int
    maximum_minor: int
    step_minor: int = 1

    def __post_init__(self) -> None:
        try:
            known = money_exponent(self.currency)
        except MoneyError:
            raise ProviderInfoError(f"{self.currency!r} is not a currency of core.money") from None
        if known != self.exponent:
            raise ProviderInfoError(f"{self.currency} has exponent {known}, not {self.exponent}")
        if not 0 < self.step_minor <= self.minimum_minor <= self.maximum_minor:
            raise ProviderInfoError(f"{self.currency}: need 0 < step <= minimum <= maximum")
        if self.minimum_minor % self.step_minor:
            raise ProviderInfoError(f"{self.currency}: the minimum is not a multiple of the step")

    def takes(self, amount: Money) -> bool:
        return (
            amount.currency == self.currency
            and self.minimum_minor <= amount.minor <= self.maximum_minor
            and amount.minor % self.step_minor == 0
        )


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """What a provider is, apart from any tenant: checked when its folder is imported.

    ``currencies`` empty means any currency the shop sells in (a manual payment has no limits of its own).
    ``button_code``: the small number its button in the payment menu carries (``core.buttons.PayWith``). Buttons
    already sent in chats hold it, so it never changes meaning: a new provider takes an unused number (the registry
    refuses two providers with one code)."""

    name: str
    display_key: str  # the text-catalog key of its name as people read it
    kind: ProviderKind
    countries: frozenset[str] = frozenset()
    currencies: tuple[CurrencyLimits, ...] = ()
    capabilities: frozenset[Capability] = frozenset()
    button_code: int | None = None
    # Its error codes that say nothing about whether a start reached it (its own word for a dropped connection): the
    # start is never sent again (payments.starter), besides the generic "timeout" and "network".
    no_answer_codes: frozenset[str] = frozenset()
    # The reason code of an attempt that failed on something unexpected, in its own vocabulary when it words one.
    unexpected_code: str = "unexpected"

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ProviderInfoError(f"provider name {self.name!r}: lower-case letters, digits, _")
        if self.button_code is not None and not 1 <= self.button_code <= BUTTON_CODE_MAX:
            raise ProviderInfoError(f"{self.name}: button_code is 1 to {BUTTON_CODE_MAX}, not {self.button_code}")
        if not self.display_key.strip() or any(ch.isspace() for ch in self.display_key):
            raise ProviderInfoError(f"{self.name}: display_key is a text-catalog key")
        bad = sorted(country for country in self.countries if not _COUNTRY.fullmatch(country))
        if bad:
            raise ProviderInfoError(f"{self.name}: countries are ISO 3166 codes such as KE, not {', '.join(bad)}")
        codes = [limits.currency for limits in self.currencies]
        if len(set(codes)) != len(codes):
            raise ProviderInfoError(f"{self.name}: a currency is listed twice")
        if Capability.PARTIAL_REFUND in self.capabilities and Capability.REFUND not in self.capabilities:
            raise ProviderInfoError(f"{self.name}: partial refunds without refunds")

    def limits(self, currency: str) -> CurrencyLimits | None:
        return next((limits for limits in self.currencies if limits.currency == currency), None)

    def takes(self, amount: Money) -> bool:
        """Whether an amount is within what the provider takes (currency, minimum, maximum, step)."""
        if not self.currencies:
            return True
        limits = self.limits(amount.currency)
        return limits is not None and limits.takes(amount)

    def refusal(self, amount: Money) -> Literal["currency", "step", "limits"] | None:
        """Why the provider cannot take ``amount``, for the customer's words: another currency, a fraction it does
        not take (cents, to one that takes whole units), or outside its minimum and maximum; None when it can."""
        if not self.currencies:
            return None
        limits = self.limits(amount.currency)
        if limits is None:
            return "currency"
        if amount.minor % limits.step_minor:
            return "step"
        return None if limits.takes(amount) else "limits"

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def title(self) -> str:
        """Its name as an operator reads it at the start of a line (``Manual payment``)."""
        from core.texts import text  # reads the catalog: not needed to import the declaration

        words = text(self.display_key)
        return words[:1].upper() + words[1:]


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    """One line of the registry (:mod:`payments.providers`): what a provider is, and how to load its parts.

    The parts are loaded only when needed, so that listing providers (``dukabot --help``) imports no HTTP client
    and no pydantic: ``setup`` returns its settings model (a :class:`payments.setup.ProviderSetup`), ``factory`` its
    ``ProviderFactory`` (None: no provider object, as for manual payments), ``commands`` its own subcommands of
    ``dukabot provider`` (Click commands, given the :class:`OperatorKit`; their module imports only Click at the
    top, since ``dukabot --help`` lists them), ``routes`` the requests it answers (:mod:`payments.inbound`: its
    callbacks and pages, mounted by the web server), ``chat`` its step in the customer's conversation
    (:class:`payments.chat.ChatStep`: what it asks before the start, its buttons; None: the shop's own proof step,
    for a manual payment), ``process`` what it adds to the server process (its shared objects, payment-job handlers
    and workers: :class:`ProcessParts`, given the :class:`ProcessKit`)."""

    info: ProviderInfo
    setup: Callable[[], type[Any]]
    factory: Callable[[], Any] | None = None
    commands: Callable[[OperatorKit], Sequence[Any]] | None = None
    routes: Callable[[], Sequence[InboundRoute]] | None = None
    chat: Callable[[], ChatStep] | None = None
    process: Callable[[ProcessKit], ProcessParts] | None = None
    # What the merchant checks a payment against, read from the provider's payload (payments.evidence): its reader.
    evidence: Callable[[], EvidenceReader] | None = None
    # What the customer reads in the provider's own way (payments.notices.ProviderNotices): its receipt, the end of
    # an attempt, the buttons kept on the started message; None: the generic messages.
    notices: Callable[[], ProviderNotices] | None = None

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def settings_manifest(self) -> Path:
        """``settings.json`` in the provider's folder: what the command line needs of its settings model, written
        from the model (``python -m payments.setup``) so that ``--help`` reads it without importing pydantic."""
        return Path(sys.modules[self.setup.__module__].__file__ or ".").parent / "settings.json"


class OperatorSession(Protocol):
    """One unit of work of an operator command (see :class:`OperatorKit`)."""

    session: AsyncSession

    async def tenant(self, slug: str) -> Tenant:
        """The shop, or the command refused with "no shop with slug ..."."""
        ...

    async def provider(self, tenant: Tenant, name: str, http: httpx.AsyncClient, callback_base: str) -> Any:
        """The shop's configured provider object (as the server builds it), or None."""
        ...

    async def managed_secret(
        self, slug: str, provider: str, field: str, make: Callable[[], str], *, rotate: bool
    ) -> str:
        """A secret the provider makes itself (a ``managed`` settings field): made when missing or rotated."""
        ...


class OperatorKit(Protocol):
    """What a provider's own ``dukabot provider`` commands use of the operator CLI. The CLI hands it to the
    provider's ``commands`` hook, so that a provider folder imports nothing from ``admin/``."""

    def refuse(self, message: str) -> NoReturn:
        """Stop the command: one line on stderr, exit status 1."""
        ...

    def done(self, message: str) -> None: ...

    def public_url(self, given: str | None) -> str | None:
        """``given`` or DUKABOT_PUBLIC_URL, without a trailing slash; None when neither is an http(s) URL."""
        ...

    def run(self, work: Callable[[OperatorSession], Awaitable[T]]) -> T:
        """Run ``work`` in one unit of work, committed when it returns; shop errors become one line."""
        ...


# --- What a provider adds to the server process (``ProviderEntry.process``) -----------------------------------------


class ProcessKit(Protocol):
    """What the server hands a provider's ``process`` hook, once, when it builds itself: the real objects every part
    of the process shares (the composition root, :mod:`webhooks.runtime`, builds them)."""

    @property
    def database(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def http(self) -> httpx.AsyncClient: ...

    @property
    def vault(self) -> Vault: ...

    @property
    def redis(self) -> Redis | None:
        """Shared state for several server processes (``DUKABOT_REDIS_URL``); None: this process is alone."""
        ...

    @property
    def registry(self) -> ProviderRegistry:
        """Builds a tenant's provider objects (for jobs that call the provider)."""
        ...


class Worker(Protocol):
    """A loop of a provider's own, started with the server and stopped with it."""

    @property
    def name(self) -> str: ...

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set, then return (soon: the server waits a few seconds for it)."""
        ...


@dataclass(frozen=True, slots=True)
class ProcessParts:
    """A provider's process-wide parts: ``shared`` objects its provider objects find in ``ProviderDeps.shared``
    (a token cache, with its Redis store when there is one), the handlers of its payment-job kinds
    (:class:`payments.jobs.JobHandler`, each kind named ``<provider>.<job>``), and its own ``workers``."""

    shared: Mapping[str, Any] = field(default_factory=dict)
    jobs: Mapping[str, JobHandler] = field(default_factory=dict)
    workers: Sequence[Worker] = ()


# --- Refunds (providers that declare Capability.REFUND) --------------------------------------------------------------

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
