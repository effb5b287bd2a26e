"""What an order costs in Telegram Stars: each line at its product's Stars price when the shop set one, else the
shop's rate (Stars per one unit of its currency) applied to the line, rounded up to a whole Star. Pure: the chat
step, the pre-checkout check and the settings all read the shop's options through it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

from core.money import Money

STARS = "XTR"
# Telegram's bounds for one Stars invoice (Bot API: 1 to 10000 Stars for digital goods).
MIN_STARS, MAX_STARS = 1, 10_000


class PricingError(ValueError):
    """A rate or a price list an operator typed that is no Stars price."""


@dataclass(frozen=True, slots=True)
class Line:
    sku: str
    unit: Money  # the line's unit price in the shop's currency
    quantity: int


def parse_rate(raw: str) -> Decimal:
    try:
        rate = Decimal(raw.strip())
    except InvalidOperation:
        raise PricingError("is a number of Stars per unit of the shop's currency, such as 0.08") from None
    if not rate.is_finite() or rate <= 0 or rate > 10_000:
        raise PricingError("is a number of Stars above 0 and at most 10000")
    return rate


def parse_prices(raw: str) -> dict[str, int]:
    prices: dict[str, int] = {}
    for part in (piece.strip() for piece in raw.split(",")):
        sku, sep, stars = part.partition("=")
        if not sep or not sku.strip() or not stars.strip().isdigit():
            raise PricingError("is a list like RICE2=40,OIL1=25 (SKU=whole Stars)")
        count = int(stars)
        if not MIN_STARS <= count <= MAX_STARS:
            raise PricingError(f"gives {sku.strip()} {count} Stars: 1 to {MAX_STARS}")
        prices[sku.strip()] = count
    return prices


def stars_for(options: Mapping[str, Any], lines: Iterable[Line]) -> Money | None:
    """What the order costs in Stars, or None when a line has neither a Stars price nor a rate to convert it."""
    prices = parse_prices(str(options["stars_prices"])) if options.get("stars_prices") else {}
    rate = parse_rate(str(options["stars_rate"])) if options.get("stars_rate") else None
    total = 0
    for line in lines:
        if line.sku in prices:
            total += prices[line.sku] * line.quantity
        elif rate is not None:
            total += int((line.unit.major() * line.quantity * rate).to_integral_value(rounding=ROUND_CEILING))
        else:
            return None
    return Money(total, STARS)


def stars_at_rate(options: Mapping[str, Any], total: Money) -> Money | None:
    """The order's total at the shop's rate (the payment menu's check): None without a rate."""
    if not options.get("stars_rate"):
        return None
    return stars_for({"stars_rate": options["stars_rate"]}, [Line("", total, 1)])
