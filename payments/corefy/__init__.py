"""Corefy (payment orchestration): one API in front of the acquirers the merchant's Corefy account is connected to.
A payment invoice through the Commerce private API, paid on Corefy's hosted payment page (a link), confirmed by
fetching the invoice, refunds whole or in part.

What it is, for the registry (:mod:`payments.providers`): only the declaration and loaders, so that ``dukabot --help``
imports no HTTP client and no pydantic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.texts import register_catalog
from payments.base import Capability, CurrencyLimits, ProviderEntry, ProviderInfo, ProviderKind
from payments.corefy.limits import CURRENCIES, maximum_minor, minimum_minor

if TYPE_CHECKING:
    from payments.chat import ChatStep

register_catalog(f"{__name__}.locales")


def _limits(currency: str) -> CurrencyLimits:
    from core.money import exponent

    return CurrencyLimits(currency, exponent(currency), minimum_minor(currency), maximum_minor(currency))


INFO = ProviderInfo(
    name="corefy",
    display_key="provider.corefy",
    kind=ProviderKind.HOSTED_LINK,
    button_code=8,  # in payment menus already sent: never changes
    countries=frozenset({"KE", "NG", "GH", "ZA", "UG", "TZ", "RW"}),
    currencies=tuple(_limits(currency) for currency in CURRENCIES),
    capabilities=frozenset({Capability.QUERY, Capability.REFUND, Capability.PARTIAL_REFUND}),
)


def _setup() -> type[Any]:
    from payments.corefy.settings import CorefySetup

    return CorefySetup


def _factory() -> Any:
    from payments.corefy.provider import FACTORY

    return FACTORY


def _routes() -> Sequence[Any]:
    from payments.corefy.routes import ROUTES

    return ROUTES


def _chat() -> ChatStep:
    from payments.corefy.chat import STEP

    return STEP.check(INFO.name)


ENTRY = ProviderEntry(INFO, setup=_setup, factory=_factory, routes=_routes, chat=_chat)
