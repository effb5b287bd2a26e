"""Stripe: a link to a Stripe Checkout Session (cards and the account's other methods), refunds whole or in part.

What it is, for the registry (:mod:`payments.providers`). Imports only the declaration types and the pure amount
table of :mod:`payments.stripe.currencies`: the operator CLI lists providers from here without loading httpx."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.money import exponent
from core.texts import register_catalog
from payments.base import Capability, CurrencyLimits, ProviderEntry, ProviderInfo, ProviderKind
from payments.stripe.currencies import CURRENCIES, MAXIMUM_AMOUNT, MINIMUM_AMOUNT, from_amount

if TYPE_CHECKING:
    from payments.chat import ChatStep

register_catalog(f"{__name__}.locales")


def _limits(currency: str) -> CurrencyLimits:
    return CurrencyLimits(
        currency,
        exponent(currency),
        minimum_minor=from_amount(MINIMUM_AMOUNT.get(currency, 1), currency).minor,
        maximum_minor=from_amount(MAXIMUM_AMOUNT, currency).minor,
    )


INFO = ProviderInfo(
    name="stripe",
    display_key="provider.stripe",
    kind=ProviderKind.HOSTED_LINK,
    button_code=5,  # in payment menus already sent: never changes
    countries=frozenset({"US", "KE", "NG", "ZA", "GB"}),
    currencies=tuple(_limits(currency) for currency in CURRENCIES),
    capabilities=frozenset({Capability.QUERY, Capability.REFUND, Capability.PARTIAL_REFUND}),
)


def _setup() -> type[Any]:
    from payments.stripe.settings import StripeSetup

    return StripeSetup


def _factory() -> Any:
    from payments.stripe.provider import FACTORY

    return FACTORY


def _routes() -> Sequence[Any]:
    from payments.stripe.routes import ROUTES

    return ROUTES


def _chat() -> ChatStep:
    from payments.stripe.chat import STEP

    return STEP.check(INFO.name)


def _process(kit: Any) -> Any:
    from payments.stripe.connect import process

    return process(kit)


def _merchant_commands() -> Any:
    from payments.stripe.connect import COMMANDS

    return COMMANDS


ENTRY = ProviderEntry(
    INFO,
    setup=_setup,
    factory=_factory,
    routes=_routes,
    chat=_chat,
    process=_process,
    merchant_commands=_merchant_commands,
)
