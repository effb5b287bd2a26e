"""A shop that sells in a currency PayPal does not take (KES) charges through PayPal in another (USD), at the rate
the merchant sets: ``conversion_currency`` and ``conversion_rate`` (units of that currency per one unit of the
shop's). The converted amount is rounded half up to what the target currency can hold (whole units for JPY).

It is read the same way by the payment menu, the chat step and the provider; the amount charged is the payment's own
amount, so the receipt and the amount check use it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from core.money import Money, MoneyError
from payments.paypal.currencies import DECIMALS, usable


@dataclass(frozen=True, slots=True)
class Conversion:
    currency: str
    rate: Decimal  # units of ``currency`` per one unit of the shop's currency

    def convert(self, amount: Money) -> Money:
        digits = DECIMALS[self.currency]
        exact = amount.major() * self.rate
        rounded = exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
        return Money.parse(f"{rounded:f}", self.currency)

    def describe(self, source: str) -> str:
        """``1 KES = 0.0077 USD``: how the customer and the merchant read the rate."""
        return f"1 {source} = {self.rate.normalize():f} {self.currency}"


def parse_rate(value: str) -> Decimal:
    """A positive decimal rate; ValueError otherwise."""
    try:
        rate = Decimal(value.strip())
    except (InvalidOperation, AttributeError):
        raise ValueError("is a decimal number such as 0.0077") from None
    if not rate.is_finite() or rate <= 0 or rate > Decimal(1_000_000):
        raise ValueError("is a positive number (units of the conversion currency per unit of the shop's)")
    return rate


def conversion_of(options: Mapping[str, Any]) -> Conversion | None:
    """The shop's conversion, or None when it sets none (or a broken one: then PayPal is not offered)."""
    currency = str(options.get("conversion_currency") or "").strip().upper()
    rate = str(options.get("conversion_rate") or "").strip()
    if not currency or not rate or not usable(currency):
        return None
    try:
        return Conversion(currency, parse_rate(rate))
    except ValueError:
        return None


def charged(options: Mapping[str, Any], amount: Money) -> Money | None:
    """What PayPal charges for an order of ``amount``: None when it charges the order's own amount (PayPal takes
    the shop's currency, or no conversion is set)."""
    if usable(amount.currency):
        return None
    conversion = conversion_of(options)
    if conversion is None:
        return None
    try:
        return conversion.convert(amount)
    except MoneyError:
        return None
