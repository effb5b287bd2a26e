"""What a provider is, apart from any tenant: its kind, capabilities and the amounts it takes (:class:`ProviderInfo`),
declared once in its folder and checked when the folder is imported. Re-exported by :mod:`payments.base`."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from core.money import Money, MoneyError
from core.money import exponent as money_exponent

if TYPE_CHECKING:  # types only: importing this module loads no HTTP client and no database layer
    pass


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
    # With Capability.REFUND: the currencies of the payments it refunds through its API, when not all of them (Telegram
    # refunds Stars; a card invoice's money is refunded by the merchant at the card provider). Empty: every one.
    refunded_currencies: frozenset[str] = frozenset()

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

    def refunds(self, currency: str | None) -> bool:
        """Whether it sends back money of a payment in ``currency`` itself (None: of some payment)."""
        if Capability.REFUND not in self.capabilities:
            return False
        return currency is None or not self.refunded_currencies or currency in self.refunded_currencies

    def title(self) -> str:
        """Its name as an operator reads it at the start of a line (``Manual payment``)."""
        from core.texts import text  # reads the catalog: not needed to import the declaration

        words = text(self.display_key)
        return words[:1].upper() + words[1:]
