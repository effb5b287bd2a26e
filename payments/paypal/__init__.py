"""PayPal (Orders v2): a link to PayPal's approval page, the order captured once approved, refunds whole or in part.

What it is, for the registry (:mod:`payments.providers`). Kept free of imports beyond the metadata types and the
currency table of :mod:`payments.paypal.currencies`: the operator CLI lists providers from here without httpx."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.texts import register_catalog
from payments.base import Capability, CurrencyLimits, ProviderEntry, ProviderInfo, ProviderKind
from payments.paypal.currencies import DECIMALS, MAXIMUM_MAJOR, USABLE

if TYPE_CHECKING:
    from payments.base import ProcessKit, ProcessParts
    from payments.chat import ChatStep

register_catalog(f"{__name__}.locales")

INFO = ProviderInfo(
    name="paypal",
    display_key="provider.paypal",
    kind=ProviderKind.HOSTED_LINK,
    button_code=6,  # in payment menus already sent: never changes
    countries=frozenset(),  # worldwide; a shop in a currency PayPal does not take sets a conversion
    currencies=tuple(
        CurrencyLimits(code, DECIMALS[code], minimum_minor=1, maximum_minor=MAXIMUM_MAJOR * 10 ** DECIMALS[code])
        for code in USABLE
    ),
    capabilities=frozenset({Capability.QUERY, Capability.REFUND, Capability.PARTIAL_REFUND}),
)


def _setup() -> type[Any]:
    from payments.paypal.settings import PayPalSetup

    return PayPalSetup


def _factory() -> Any:
    from payments.paypal.provider import FACTORY

    return FACTORY


def _routes() -> Sequence[Any]:
    from payments.paypal.routes import ROUTES

    return ROUTES


def _chat() -> ChatStep:
    from payments.paypal.chat import STEP

    return STEP.check(INFO.name)


def _process(kit: ProcessKit) -> ProcessParts:
    from payments.paypal.process import parts

    return parts(kit)


def _evidence() -> Any:
    from payments.paypal.evidence import read

    return read


ENTRY = ProviderEntry(
    INFO, setup=_setup, factory=_factory, routes=_routes, chat=_chat, process=_process, evidence=_evidence
)
