"""LinkPay, an invented hosted-link provider: the worked example of docs/adding-a-provider.md, written from that page
alone, and registered for the contract suite only (``payments.providers.registered``; the product never imports it).

Its folder is what a real provider's ``payments/<name>/`` would be: this declaration, its settings model, the
provider object, its webhook route, its chat step and its texts. Its simulator (``simulator.py``) stands in for
``sandbox/<name>/``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.texts import register_catalog
from payments.base import Capability, CurrencyLimits, ProviderEntry, ProviderInfo, ProviderKind

if TYPE_CHECKING:
    from payments.chat import ChatStep

register_catalog(f"{__name__}.locales")

INFO = ProviderInfo(
    name="linkpay",
    display_key="provider.linkpay",
    kind=ProviderKind.HOSTED_LINK,
    button_code=901,  # taken for good by this provider, even in tests
    countries=frozenset({"KE"}),
    currencies=(CurrencyLimits("KES", 2, minimum_minor=100_00, maximum_minor=500_000_00),),
    capabilities=frozenset({Capability.QUERY, Capability.REFUND, Capability.PARTIAL_REFUND}),
)


def _setup() -> type[Any]:
    from tests.contract.linkpay.settings import LinkPaySetup

    return LinkPaySetup


def _factory() -> Any:
    from tests.contract.linkpay.provider import FACTORY

    return FACTORY


def _routes() -> Sequence[Any]:
    from tests.contract.linkpay.routes import ROUTES

    return ROUTES


def _chat() -> ChatStep:
    from tests.contract.linkpay.chat import STEP

    return STEP.check(INFO.name)


def _notices() -> Any:
    from tests.contract.linkpay.notices import NOTICES

    return NOTICES


ENTRY = ProviderEntry(INFO, setup=_setup, factory=_factory, routes=_routes, chat=_chat, notices=_notices)
