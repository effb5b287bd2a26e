"""Flutterwave v3: a link to Flutterwave's hosted checkout (card, M-Pesa and other mobile money, bank transfer, USSD,
as the shop chooses), confirmed by verify, refunds whole or in part.

What it is, for the registry (:mod:`payments.providers`): only the declaration and loaders, so that ``dukabot --help``
imports no HTTP client and no pydantic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.texts import register_catalog
from payments.base import Capability, CurrencyLimits, ProviderEntry, ProviderInfo, ProviderKind
from payments.flutterwave.limits import CURRENCIES, maximum_minor, minimum_minor

if TYPE_CHECKING:
    from payments.chat import ChatStep

register_catalog(f"{__name__}.locales")


def _limits(currency: str) -> CurrencyLimits:
    from core.money import exponent

    return CurrencyLimits(currency, exponent(currency), minimum_minor(currency), maximum_minor(currency))


INFO = ProviderInfo(
    name="flutterwave",
    display_key="provider.flutterwave",
    kind=ProviderKind.HOSTED_LINK,
    button_code=4,  # in payment menus already sent: never changes
    countries=frozenset({"NG", "GH", "KE", "UG", "ZA", "RW"}),
    currencies=tuple(_limits(currency) for currency in CURRENCIES),
    capabilities=frozenset({Capability.QUERY, Capability.REFUND, Capability.PARTIAL_REFUND, Capability.CONFIRM_HELD}),
)


def _setup() -> type[Any]:
    from payments.flutterwave.settings import FlutterwaveSetup

    return FlutterwaveSetup


def _factory() -> Any:
    from payments.flutterwave.provider import FACTORY

    return FACTORY


def _routes() -> Sequence[Any]:
    from payments.flutterwave.routes import ROUTES

    return ROUTES


def _chat() -> ChatStep:
    from payments.flutterwave.chat import STEP

    return STEP.check(INFO.name)


ENTRY = ProviderEntry(INFO, setup=_setup, factory=_factory, routes=_routes, chat=_chat)
