"""FeexPay: a request-to-pay pushed to the customer's mobile-money phone (MTN, Moov, Celtiis, Togocom, Orange, Wave,
Free) in Benin, Togo, Côte d'Ivoire, Burkina Faso and Senegal, in XOF, settled only by FeexPay's status endpoint.

What it is, for the registry (:mod:`payments.providers`): only the declaration and loaders, so that ``dukabot --help``
imports no HTTP client and no pydantic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.texts import register_catalog
from payments.base import Capability, CurrencyLimits, ProviderEntry, ProviderInfo, ProviderKind

if TYPE_CHECKING:
    from payments.chat import ChatStep

register_catalog(f"{__name__}.locales")

INFO = ProviderInfo(
    name="feexpay",
    display_key="provider.feexpay",
    kind=ProviderKind.PHONE_PUSH,
    button_code=7,  # in payment menus already sent: never changes
    countries=frozenset({"BJ", "TG", "CI", "BF", "SN"}),
    # XOF has no minor units (core.money): francs. FeexPay's minimum is 50 F; the maximum is ours (wire.py).
    currencies=(CurrencyLimits("XOF", 0, minimum_minor=50, maximum_minor=2_000_000),),
    # No REFUND: FeexPay's API offers payouts, no refund of a collection (SOURCES.md); refunds are the merchant's.
    capabilities=frozenset({Capability.QUERY}),
    # A 5xx answer to a request-to-pay: the push may have left, so it is never sent again (provider.py).
    no_answer_codes=frozenset({"feexpay.unconfirmed"}),
)


def _setup() -> type[Any]:
    from payments.feexpay.settings import FeexPaySetup

    return FeexPaySetup


def _factory() -> Any:
    from payments.feexpay.provider import FACTORY

    return FACTORY


def _routes() -> Sequence[Any]:
    from payments.feexpay.routes import ROUTES

    return ROUTES


def _chat() -> ChatStep:
    from payments.feexpay.chat import STEP

    return STEP.check(INFO.name)


ENTRY = ProviderEntry(INFO, setup=_setup, factory=_factory, routes=_routes, chat=_chat)
