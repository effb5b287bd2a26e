"""The currencies dukabot takes through Corefy, and their limits, in minor units of :mod:`core.money`.

Corefy routes an invoice to whichever acquirer the merchant's account has for its currency, and says it invoices in
over 150 currencies (SOURCES.md); it publishes no per-currency minimum or maximum, which are the acquirers'. The
currencies below are every one ``core.money`` knows; the limits are ours, wide enough for a shop's sales and narrow
enough that a typo (KES 42,000,000) is refused before any request."""

from __future__ import annotations

from typing import Final

from core.money import exponent

CURRENCIES: Final = ("KES", "NGN", "GHS", "ZAR", "USD", "UGX", "TZS", "XOF", "RWF")
MAXIMUM_MAJOR: Final = 10_000_000


def minimum_minor(currency: str) -> int:
    """One major unit, or 100 of a currency without minor units (UGX, XOF, RWF)."""
    places = exponent(currency)
    return int(10**places) if places else 100


def maximum_minor(currency: str) -> int:
    return MAXIMUM_MAJOR * int(10 ** exponent(currency))
