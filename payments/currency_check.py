"""Whether a payment method can take a shop's currency: asked when the operator configures one (``dukabot provider
set``, :mod:`admin.shops.currencies`) and when a customer chooses one (:mod:`flows.payment`).

The provider's declaration says what it takes (``ProviderInfo.currencies``; empty: whatever the shop sells in). A
provider that charges a converted amount (``ChatStep.charged``: PayPal with the shop's own rate) takes the shop's
currency once its options set that conversion."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.money import Money, exponent
from payments.entry import ProviderEntry


def accepted(entry: ProviderEntry) -> tuple[str, ...]:
    """The currencies the provider takes, as it declares them; empty for any."""
    return tuple(sorted(limits.currency for limits in entry.info.currencies))


def converts(entry: ProviderEntry) -> bool:
    """Whether the provider can charge a converted amount, given the options for it."""
    step = entry.chat() if entry.chat is not None else None
    return step is not None and step.charged is not None


def takes_currency(entry: ProviderEntry, currency: str, options: Mapping[str, Any]) -> bool:
    info = entry.info
    if not info.currencies or info.limits(currency) is not None:
        return True
    step = entry.chat() if entry.chat is not None else None
    if step is None or step.charged is None:
        return False
    return step.charged(options, Money(10 ** exponent(currency), currency)) is not None
