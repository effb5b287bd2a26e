"""Stripe's amounts: which currencies Stripe counts in whole units, and the one place Money becomes Stripe's integer
``amount`` and back. Pure (the simulator imports it).

Stripe's rule (docs.stripe.com/currencies, "Minor units in API amounts"): every amount is an integer in the
currency's smallest unit, ``1000`` for USD 10.00, except the zero-decimal currencies, whose amount is the whole
units, ``500`` for JPY 500. The table is the documentation's list, not a guess (see SOURCES.md); every other
currency Stripe takes has two decimals on the wire."""

from __future__ import annotations

from typing import Final

from core.money import Money, MoneyError, exponent

# docs.stripe.com/currencies#zero-decimal (the same sixteen in stripe.com/docs/currencies, archived 2022-06-18).
ZERO_DECIMAL: Final = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
# What dukabot offers Stripe for (core.money knows them, Stripe presents them). GHS is left out: no source found
# that Stripe presents it.
CURRENCIES: Final = ("USD", "KES", "NGN", "ZAR", "TZS", "UGX", "RWF", "XOF")
# "The amount value supports up to eight digits" (docs.stripe.com/currencies, minimum and maximum charge amounts).
MAXIMUM_AMOUNT: Final = 99_999_999
# The documented minimum charge for USD; for the others Stripe's minimum is the settlement currency's equivalent
# (unknown here): Stripe answers amount_too_small, which the customer reads as such.
MINIMUM_AMOUNT: Final = {"USD": 50}


def stripe_digits(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL else 2


def to_amount(money: Money) -> int:
    """``money`` as Stripe's integer ``amount``; MoneyError when it has finer units than Stripe counts."""
    ours, theirs = exponent(money.currency), stripe_digits(money.currency)
    if theirs >= ours:
        return int(money.minor * 10 ** (theirs - ours))
    factor = 10 ** (ours - theirs)
    if money.minor % factor:
        raise MoneyError(f"{money} has more decimals than Stripe takes in {money.currency}")
    return int(money.minor // factor)


def from_amount(amount: int, currency: str) -> Money:
    """Stripe's ``amount`` in ``currency`` (any case) as Money; MoneyError for a currency dukabot does not know, or an
    amount finer than it counts."""
    code = currency.upper()
    ours, theirs = exponent(code), stripe_digits(code)
    if ours >= theirs:
        return Money(amount * 10 ** (ours - theirs), code)
    factor = 10 ** (theirs - ours)
    if amount % factor:
        raise MoneyError(f"{amount} {code} is finer than dukabot counts {code}")
    return Money(amount // factor, code)
