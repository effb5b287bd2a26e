"""Money as an integer count of minor units with its ISO 4217 currency.

Floats never touch money. Conversions to a provider's unit (whole units for one, subunits for another)
happen at that provider's edge, using the helpers here.

Exponents are ISO 4217's: KES, TZS, NGN, GHS, ZAR, USD have 2 decimals; UGX, XOF and RWF have none (a price of
XOF 1 250 is 1250 minor units). A provider that counts otherwise (in "subunits" of a currency without minor
units, or in whole units only) converts at its own edge, in its own folder, never here.

Rounding, stated once:
- Typed amounts (:meth:`Money.parse`: catalog prices, refund amounts) are never rounded: finer than the currency
  allows is refused, with a message naming what it takes (``"12.50"`` in XOF: "XOF has no decimals").
- A provider's major-unit figure (:meth:`Money.from_major`) is rounded half up to the minor unit.
- Shown amounts (:meth:`Money.format`) are exact: whole amounts drop their decimals (``KES 1,250``), others show
  all of the currency's (``KES 12.50``); nothing is rounded for display.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency

# Minor units per major unit (ISO 4217).
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

# English shows the ISO code before the amount ("KES 1,250"), as dukabot always has: a shop's English readers are in
# several countries, and "$" or "Sh" would be ambiguous. Other languages take CLDR's own pattern and symbol for the
# language ("Ksh 1,250", "1 250 F CFA", with the non-breaking spaces CLDR puts there).
_ISO_CODE_LANGUAGES = frozenset({"en"})
_ISO_PATTERN = "¤¤ #,##0.00;¤¤ -#,##0.00"  # "KES -50": the sign stays with the number


class MoneyError(ValueError):
    """An amount or currency that cannot be money. ``reason`` is ``"too_precise"`` for a typed amount finer than its
    currency allows, so a person can be told what it takes in their own language."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


def exponent(currency: str) -> int:
    try:
        return _EXPONENTS[currency]
    except KeyError:
        raise MoneyError(f"unsupported currency {currency!r}") from None


def example(currency: str) -> str:
    """A typed amount the currency takes, for messages: ``1250`` for XOF, ``12.50`` for KES."""
    return "1250" if exponent(currency) == 0 else "12." + "50".ljust(exponent(currency), "0")


def precision_rule(currency: str) -> str:
    """What a typed amount in ``currency`` may hold, in the words of a message (English, for operators)."""
    digits = exponent(currency)
    if digits == 0:
        return f"{currency} has no decimals: give a whole amount such as {example(currency)}"
    return f"{currency} takes at most {digits} decimals, such as {example(currency)}"


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


_SPACES = re.compile(r"[\s\u00a0\u202f_']")
_GROUPED = re.compile(r"[1-9]\d{0,2}(,\d{3})+(\.\d*)?")
_DECIMAL_COMMA = re.compile(r"\d*,\d{1,2}")
_DOT_GROUPED = re.compile(r"\d{1,3}(\.\d{3}){2,}|\d{1,3}(\.\d{3})+,\d*")


def _plain_decimal(text: str, currency: str) -> str:
    """A typed amount as a plain decimal string: ``"KES 1,250.00"``, ``"1 250"``, ``"12,50"`` (a decimal comma, as
    French and Swahili writers may type it), ``"1.250.000"``. A comma before exactly three digits groups thousands
    (``"1,250"`` is 1250); before one or two it is the decimal mark."""
    raw = _SPACES.sub("", text.strip())
    upper = raw.upper()
    if upper.startswith(currency) or upper.endswith(currency):
        raw = raw[3:] if upper.startswith(currency) else raw[:-3]
    sign = "-" if raw.startswith("-") else ""
    body = raw.removeprefix("-")
    if _GROUPED.fullmatch(body):
        body = body.replace(",", "")
    elif _DOT_GROUPED.fullmatch(body):
        body = body.replace(".", "").replace(",", ".")
    elif _DECIMAL_COMMA.fullmatch(body):
        body = body.replace(",", ".")
    return sign + body


@cache
def locale_of(language: str) -> Locale:
    """Babel's locale for a customer's language code (``sw``, ``fr``, ``pt-BR``); English for one it does not know."""
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")


@cache
def _whole_pattern(language: str) -> str:
    """The language's currency pattern without its fraction digits, for whole amounts (``"¤ #,##0"``)."""
    if locale_of(language).language in _ISO_CODE_LANGUAGES:
        return _ISO_PATTERN.replace(".00", "")
    standard = locale_of(language).currency_formats["standard"].pattern
    return re.sub(r"\.0+", "", standard)


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
        """Parse a typed major-unit amount such as ``"1250"``, ``"12.50"``, ``"1,250.00"``, ``"12,50"`` or
        ``"1 250"``; an amount finer than the currency allows is refused (``MoneyError``, reason
        ``too_precise``), never rounded."""
        raw = _plain_decimal(str(text), currency)
        scaled = _scaled(raw, currency)
        if scaled != scaled.to_integral_value():
            raise MoneyError(f"{str(text)[:20]!r}: {precision_rule(currency)}", reason="too_precise")
        return cls(int(scaled), currency)

    @classmethod
    def from_major(cls, value: Decimal | int | float | str, currency: str) -> Money:
        """Round a provider's major-unit figure (e.g. ``1.00``) to minor units, half up."""
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

    def format(self, language: str = "en") -> str:
        """The amount as a reader of ``language`` writes it (Babel, CLDR data): ``KES 1,250`` and ``KES 12.50`` in
        English, ``Ksh 1,250`` in Swahili, ``1 250 F CFA`` in French. Whole amounts drop the decimals, as shop
        prices are usually written; others show every decimal of the currency. Exact: nothing is rounded."""
        return _formatted(self, language)

    def __str__(self) -> str:
        return self.format()


# Shops show the same few prices over and over: Babel's formatting (~20 µs) is done once per amount and language.
@lru_cache(maxsize=4096)
def _formatted(amount: Money, language: str) -> str:
    locale = locale_of(language)
    if amount.is_whole_major():
        pattern = _whole_pattern(language)
        return format_currency(amount.major(), amount.currency, pattern, locale=locale, currency_digits=False)
    own = _ISO_PATTERN if locale.language in _ISO_CODE_LANGUAGES else None
    return format_currency(amount.major(), amount.currency, own, locale=locale, currency_digits=True)
