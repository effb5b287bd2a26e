"""Money as an integer count of minor units with its ISO 4217 currency.

Floats never touch money. Conversions to a provider's unit (whole units for one, subunits for another)
happen at that provider's edge, using the helpers here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# Minor units per major unit. Every currency dukabot sells in today has 2 decimals; others can be added here.
_EXPONENTS: dict[str, int] = {
    "KES": 2,
    "NGN": 2,
    "GHS": 2,
    "ZAR": 2,
    "USD": 2,
    "UGX": 0,
    "TZS": 2,
    "XOF": 0,
    "RWF": 0,
    "XTR": 0,  # Telegram Stars: whole stars, the currency of digital goods paid inside Telegram
}


# Amounts are stored in BIGINT columns; anything bigger is no amount anybody pays (and would not fit).
MAX_MINOR = 2**63 - 1


class MoneyError(ValueError):
    """An amount or currency that cannot be money."""


def exponent(currency: str) -> int:
    try:
        return _EXPONENTS[currency]
    except KeyError:
        raise MoneyError(f"unsupported currency {currency!r}") from None


def _scaled(raw: str, currency: str) -> Decimal:
    """``raw`` major units as a Decimal count of minor units; MoneyError for anything that is not a finite amount
    that fits (``"1e999999"`` would overflow the decimal context, or take ages to turn into an int)."""
    digits = exponent(currency)
    try:
        value = Decimal(raw)
    except ArithmeticError:  # decimal.InvalidOperation
        raise MoneyError(f"not an amount: {raw[:40]!r}") from None
    if not value.is_finite():
        raise MoneyError(f"not an amount: {raw[:40]!r}")
    if value and value.adjusted() + digits > len(str(MAX_MINOR)):
        raise MoneyError("amount out of range")
    try:
        return value.scaleb(digits)
    except ArithmeticError:
        raise MoneyError(f"not an amount: {raw[:40]!r}") from None


@dataclass(frozen=True, slots=True, order=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise MoneyError("money is an integer count of minor units")
        if not -MAX_MINOR <= self.minor <= MAX_MINOR:
            raise MoneyError("amount out of range")
        exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str | int | Decimal, currency: str) -> Money:
        """Parse a major-unit amount such as ``"1250"``, ``"12.50"`` or ``"1,250.00"``; refuse extra precision."""
        raw = str(text).strip().replace(",", "").replace("_", "")
        scaled = _scaled(raw, currency)
        if scaled != scaled.to_integral_value():
            raise MoneyError(f"{text!r} has more decimals than {currency} allows")
        return cls(int(scaled), currency)

    @classmethod
    def from_major(cls, value: Decimal | int | float | str, currency: str) -> Money:
        """Round a provider's major-unit figure (e.g. ``1.00``) to minor units."""
        scaled = _scaled(str(value), currency)
        return cls(int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP)), currency)

    def major(self) -> Decimal:
        return Decimal(self.minor).scaleb(-exponent(self.currency))

    def is_whole_major(self) -> bool:
        return bool(self.minor % (10 ** exponent(self.currency)) == 0)

    def _check(self, other: Money) -> None:
        if self.currency != other.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor - other.minor, self.currency)

    def __mul__(self, quantity: int) -> Money:
        return Money(self.minor * quantity, self.currency)

    def format(self) -> str:
        """``KES 1,250`` or ``KES 12.50``: whole amounts drop the decimals, as shop prices are usually written."""
        digits = exponent(self.currency)
        value = self.major()
        if self.is_whole_major() or digits == 0:
            return f"{self.currency} {int(value):,}"
        return f"{self.currency} {value:,.{digits}f}"

    def __str__(self) -> str:
        return self.format()
