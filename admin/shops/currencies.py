"""The operator's side of :mod:`payments.currency_check`: a payment method that cannot take the shop's currency is
refused by ``dukabot provider set``, saying what it takes, and nothing is stored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from admin.shops.errors import ShopError
from payments.base import ProviderEntry
from payments.currency_check import accepted, converts, takes_currency


def refuse_other_currency(entry: ProviderEntry, slug: str, currency: str, options: Mapping[str, Any]) -> None:
    """ShopError unless ``entry`` can take ``currency``, the currency shop ``slug`` sells in."""
    if takes_currency(entry, currency, options):
        return
    conversion = " (or set its conversion options)" if converts(entry) else ""
    raise ShopError(
        f"{entry.info.title()} does not take {currency}, the currency of {slug!r}: it takes "
        f"{', '.join(accepted(entry))}{conversion}; nothing was changed"
    )
