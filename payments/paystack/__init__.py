"""Paystack: a link to Paystack's hosted checkout (card, bank, mobile money), refunds whole or in part.

What it is, for the registry (:mod:`payments.providers`). Kept free of imports beyond the metadata types and the
amount rules of :mod:`payments.paystack.limits`: the operator CLI lists providers from here without loading httpx."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.money import exponent
from core.texts import register_catalog
from payments.base import Capability, CurrencyLimits, ProviderEntry, ProviderInfo, ProviderKind
from payments.paystack.limits import MAXIMUM_MAJOR, MINIMUM_SUBUNITS, SUBUNIT_DIGITS

if TYPE_CHECKING:
    from payments.chat import ChatStep

register_catalog(f"{__name__}.locales")


def _limits(currency: str) -> CurrencyLimits:
    digits = exponent(currency)
    return CurrencyLimits(
        currency,
        digits,
        minimum_minor=MINIMUM_SUBUNITS[currency] // 10 ** (SUBUNIT_DIGITS - digits),
        maximum_minor=MAXIMUM_MAJOR * 10**digits,
    )


INFO = ProviderInfo(
    name="paystack",
    display_key="provider.paystack",
    kind=ProviderKind.HOSTED_LINK,
    button_code=3,  # in payment menus already sent: never changes
    countries=frozenset({"NG", "GH", "ZA", "KE", "CI"}),
    currencies=tuple(_limits(currency) for currency in MINIMUM_SUBUNITS),
    capabilities=frozenset({Capability.QUERY, Capability.REFUND, Capability.PARTIAL_REFUND, Capability.CONFIRM_HELD}),
)


def _setup() -> type[Any]:
    from payments.paystack.settings import PaystackSetup

    return PaystackSetup


def _factory() -> Any:
    from payments.paystack.provider import FACTORY

    return FACTORY


def _routes() -> Sequence[Any]:
    from payments.paystack.routes import ROUTES

    return ROUTES


def _chat() -> ChatStep:
    from payments.paystack.chat import STEP

    return STEP.check(INFO.name)


def _evidence() -> Any:
    from payments.paystack.evidence import read

    return read


ENTRY = ProviderEntry(INFO, setup=_setup, factory=_factory, routes=_routes, chat=_chat, evidence=_evidence)
