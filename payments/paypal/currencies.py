"""The currencies PayPal takes, and the one place an amount becomes PayPal's decimal string and back.

PayPal's table of currency codes (SOURCES.md): amounts are decimal strings in the currency's major unit, and HUF, JPY
and TWD take no decimals at all ("if you pass a decimal amount, an error occurs"). A currency is usable here only when
:mod:`core.money` knows it too, with the same number of decimals; the rest of the table stays for the settings'
check and for reading what PayPal sends."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Final

from core.money import Money, MoneyError, exponent
from payments.base import ProviderError

# PayPal's supported transaction currencies and their decimals (developer.paypal.com, "Currency codes").
DECIMALS: Final[dict[str, int]] = {
    "AUD": 2,
    "BRL": 2,
    "CAD": 2,
    "CNY": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "HKD": 2,
    "HUF": 0,
    "ILS": 2,
    "JPY": 0,
    "MYR": 2,
    "MXN": 2,
    "TWD": 0,
    "NZD": 2,
    "NOK": 2,
    "PHP": 2,
    "PLN": 2,
    "GBP": 2,
    "RUB": 2,
    "SGD": 2,
    "SEK": 2,
    "CHF": 2,
    "THB": 2,
    "USD": 2,
}
NO_DECIMALS: Final = frozenset(code for code, digits in DECIMALS.items() if digits == 0)
# The value field of PayPal's amount: at most 32 characters; we keep amounts far below that.
MAXIMUM_MAJOR: Final = 10_000_000

CURRENCY_NOT_SUPPORTED = "currency_not_supported"
AMOUNT_NOT_POSITIVE = "amount_not_positive"
AMOUNT_ABOVE_MAXIMUM = "amount_above_maximum"


class AmountNotAllowed(ProviderError):
    """An amount PayPal would refuse, refused before any request; never retryable."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, code=code, retryable=False)


def usable(currency: str) -> bool:
    """PayPal takes it and dukabot counts it with the same decimals."""
    try:
        return DECIMALS.get(currency) == exponent(currency)
    except MoneyError:
        return False


USABLE: Final = tuple(code for code in DECIMALS if usable(code))


def check_amount(amount: Money) -> str:
    """``amount`` as PayPal's value string; AmountNotAllowed for what PayPal would refuse."""
    if not usable(amount.currency):
        raise AmountNotAllowed(f"PayPal does not take {amount.currency} here", code=CURRENCY_NOT_SUPPORTED)
    if amount.minor <= 0:
        raise AmountNotAllowed(f"amount must be positive, got {amount}", code=AMOUNT_NOT_POSITIVE)
    if amount.major() > MAXIMUM_MAJOR:
        raise AmountNotAllowed(f"{amount} is above {MAXIMUM_MAJOR}", code=AMOUNT_ABOVE_MAXIMUM)
    return value_of(amount)


def value_of(amount: Money) -> str:
    """``Money(1155, "USD")`` -> ``"11.55"``; ``Money(1500, "JPY")`` -> ``"1500"`` (no decimal point at all)."""
    digits = DECIMALS.get(amount.currency, exponent(amount.currency))
    return f"{amount.major():.{digits}f}"


def money_of(value: object, currency: object) -> Money:
    """PayPal's ``{"currency_code", "value"}`` as Money, exactly: more decimals than the currency has is refused
    (MoneyError), as is a currency dukabot does not count."""
    if not isinstance(value, str) or not isinstance(currency, str):
        raise MoneyError("a PayPal amount is a currency code and a decimal string")
    try:
        Decimal(value)
    except InvalidOperation:
        raise MoneyError(f"{value!r} is not a decimal amount") from None
    return Money.parse(value, currency.strip().upper())
