"""The currencies dukabot takes through Flutterwave, and their limits, in minor units of :mod:`core.money`.

Flutterwave's Standard checkout names a currency per payment and counts amounts in major units (``"amount": 420``
is KES 420). It publishes no per-currency minimum or maximum for Standard payments (SOURCES.md): the limits below
are ours, wide enough for a shop's sales and narrow enough that a typo (KES 42,000,000) is refused before any
request. Currencies are those of ``core.money`` the reference and Flutterwave's docs name for hosted checkout in the
countries dukabot serves; TZS is left out until its Standard checkout is confirmed (SOURCES.md)."""

from __future__ import annotations

from typing import Final

from core.money import exponent

# Our own bounds, in major units (Flutterwave documents none for Standard checkout).
MINIMUM_MAJOR: Final[dict[str, int]] = {"NGN": 100, "GHS": 1, "KES": 10, "UGX": 500, "ZAR": 1, "USD": 1, "RWF": 100}
MAXIMUM_MAJOR: Final = 10_000_000

CURRENCIES: Final = tuple(MINIMUM_MAJOR)


def minimum_minor(currency: str) -> int:
    return MINIMUM_MAJOR[currency] * int(10 ** exponent(currency))


def maximum_minor(currency: str) -> int:
    return MAXIMUM_MAJOR * int(10 ** exponent(currency))
