"""What Paystack accepts as an amount, and the one place Money becomes Paystack subunits and back.

Paystack counts every amount in subunits (×100), even XOF, which has no subunit (the fractional part is
ignored). For the 2-decimal currencies that is just ``Money.minor``. Minimums per currency and the
per-transaction maximum come from the provider reference (Part B.0); checking them here means a bad amount
fails before any network call."""

from __future__ import annotations

from core.money import Money, MoneyError, exponent
from payments.base import ProviderError

SUBUNIT_DIGITS = 2  # Paystack's wire unit is always 1/100 of the major unit

# Transaction minimum in subunits, per currency (reference Part B.0). These are also the currencies we accept.
MINIMUM_SUBUNITS: dict[str, int] = {
    "NGN": 5000,
    "USD": 200,
    "GHS": 10,
    "ZAR": 100,
    "KES": 300,
    "XOF": 100,
}

# "The maximum per transaction is 10,000,000" (error "Transaction amount limit exceeded"). The reference does
# not say in which unit; we read it as major units (NGN 10,000,000), the only reading that fits ordinary
# sales.
MAXIMUM_MAJOR = 10_000_000
MAXIMUM_SUBUNITS = MAXIMUM_MAJOR * 10**SUBUNIT_DIGITS

SUPPORTED_CURRENCIES = frozenset(MINIMUM_SUBUNITS)

# Stable reason keys (ProviderError.code) for amounts refused before any call.
CURRENCY_NOT_SUPPORTED = "currency_not_supported"
AMOUNT_NOT_POSITIVE = "amount_not_positive"
AMOUNT_BELOW_MINIMUM = "amount_below_minimum"
AMOUNT_ABOVE_MAXIMUM = "amount_above_maximum"


class AmountNotAllowed(ProviderError):
    """An amount Paystack would refuse. ``code`` is one of the reason keys above; never retryable."""

    def __init__(self, message: str, *, code: str, limit: Money | None = None) -> None:
        super().__init__(message, code=code, retryable=False)
        self.limit = limit


def _factor(currency: str) -> int:
    if currency not in SUPPORTED_CURRENCIES:
        raise AmountNotAllowed(f"Paystack does not take {currency}", code=CURRENCY_NOT_SUPPORTED)
    digits = exponent(currency)
    if digits > SUBUNIT_DIGITS:  # pragma: no cover - no supported currency has more than 2 decimals
        raise AmountNotAllowed(f"{currency} has more decimals than Paystack's subunit", code=CURRENCY_NOT_SUPPORTED)
    return int(10 ** (SUBUNIT_DIGITS - digits))


def to_subunits(amount: Money) -> int:
    """``amount`` in Paystack's wire unit: ``minor`` for 2-decimal currencies, ``minor × 100`` for XOF."""
    return amount.minor * _factor(amount.currency)


def from_subunits(subunits: int, currency: str) -> Money:
    """A Paystack amount as Money; for 0-decimal currencies the fraction is dropped, as Paystack does."""
    try:
        exponent(currency)
    except MoneyError:
        raise AmountNotAllowed(f"unknown currency {currency!r}", code=CURRENCY_NOT_SUPPORTED) from None
    factor = _factor(currency)
    return Money(subunits // factor, currency)


def minimum(currency: str) -> Money:
    """The smallest amount Paystack takes in ``currency``."""
    _factor(currency)  # refuses an unsupported currency
    return from_subunits(MINIMUM_SUBUNITS[currency], currency)


def maximum(currency: str) -> Money:
    """The largest amount Paystack takes in one transaction."""
    return from_subunits(MAXIMUM_SUBUNITS, currency)


def check_amount(amount: Money) -> int:
    """Refuse an amount Paystack would refuse; return it in subunits otherwise."""
    subunits = to_subunits(amount)  # raises for an unsupported currency
    if subunits <= 0:
        raise AmountNotAllowed(f"amount must be positive, got {amount}", code=AMOUNT_NOT_POSITIVE)
    low = minimum(amount.currency)
    if subunits < MINIMUM_SUBUNITS[amount.currency]:
        raise AmountNotAllowed(f"{amount} is below Paystack's minimum of {low}", code=AMOUNT_BELOW_MINIMUM, limit=low)
    if subunits > MAXIMUM_SUBUNITS:
        high = maximum(amount.currency)
        raise AmountNotAllowed(
            f"{amount} is above Paystack's per-transaction maximum of {high}",
            code=AMOUNT_ABOVE_MAXIMUM,
            limit=high,
        )
    return subunits
