"""Money as each reader writes it (Babel, CLDR), each currency's own exponent, and typed amounts read per currency:
finer than the currency allows is refused with what it takes, never rounded. The providers' own units agree."""

from __future__ import annotations

import pytest

from core.money import Money, MoneyError, example, exponent
from payments.paystack.limits import from_subunits, to_subunits
from payments.stripe.currencies import from_amount, to_amount

NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.mark.parametrize(
    ("currency", "digits"),
    [("KES", 2), ("TZS", 2), ("UGX", 0), ("NGN", 2), ("GHS", 2), ("ZAR", 2), ("XOF", 0), ("USD", 2)],
)
def test_each_currency_has_its_iso_exponent(currency: str, digits: int) -> None:
    assert exponent(currency) == digits


@pytest.mark.parametrize(
    ("amount", "english", "swahili", "french"),
    [
        (Money(125_000, "KES"), "KES 1,250", f"Ksh{NBSP}1,250", f"1{NNBSP}250{NBSP}KES"),
        (Money(1_250, "KES"), "KES 12.50", f"Ksh{NBSP}12.50", f"12,50{NBSP}KES"),
        (Money(1_250, "TZS"), "TZS 12.50", f"TSh{NBSP}12.50", f"12,50{NBSP}TZS"),
        (Money(1_250, "UGX"), "UGX 1,250", f"UGX{NBSP}1,250", f"1{NNBSP}250{NBSP}UGX"),
        (Money(99_999, "NGN"), "NGN 999.99", f"NGN{NBSP}999.99", f"999,99{NBSP}NGN"),
        (Money(500, "GHS"), "GHS 5", f"GHS{NBSP}5", f"5{NBSP}GHS"),
        (Money(1_234_567, "ZAR"), "ZAR 12,345.67", f"ZAR{NBSP}12,345.67", f"12{NNBSP}345,67{NBSP}ZAR"),
        (Money(1_250, "XOF"), "XOF 1,250", f"F{NNBSP}CFA{NBSP}1,250", f"1{NNBSP}250{NBSP}F{NNBSP}CFA"),
        (Money(5, "USD"), "USD 0.05", f"US${NBSP}0.05", f"0,05{NBSP}$US"),
        (Money(-5_000, "KES"), "KES -50", f"-Ksh{NBSP}50", f"-50{NBSP}KES"),
    ],
)
def test_amounts_read_as_each_language_writes_them(amount: Money, english: str, swahili: str, french: str) -> None:
    assert (amount.format(), amount.format("sw"), amount.format("fr")) == (english, swahili, french)
    assert str(amount) == english


def test_a_language_babel_does_not_know_reads_english() -> None:
    assert Money(125_000, "KES").format("xx") == "KES 1,250"
    assert Money(125_000, "KES").format("fr-CI") == f"1{NNBSP}250{NBSP}KES"


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [
        ("1250", "KES", 125_000),
        ("12.50", "KES", 1_250),
        ("12.5", "KES", 1_250),
        ("1,250", "KES", 125_000),  # a comma before three digits groups thousands
        ("1,250.75", "KES", 125_075),
        ("12,50", "KES", 1_250),  # before one or two it is the decimal mark, as French and Swahili writers type it
        ("1 250", "XOF", 1_250),
        (f"1{NNBSP}250", "XOF", 1_250),
        ("1.250.000", "XOF", 1_250_000),
        ("XOF 2500", "XOF", 2_500),
        ("2500 xof", "XOF", 2_500),
        ("1.250.000,50", "NGN", 125_000_050),
        ("-3", "KES", -300),
    ],
)
def test_typed_amounts_are_read_per_currency(typed: str, currency: str, minor: int) -> None:
    assert Money.parse(typed, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("typed", "currency", "message"),
    [
        ("12.50", "XOF", "'12.50': XOF has no decimals: give a whole amount such as 1250"),
        ("1500.5", "UGX", "'1500.5': UGX has no decimals: give a whole amount such as 1250"),
        ("12.505", "KES", "'12.505': KES takes at most 2 decimals, such as 12.50"),
        ("9.999", "GHS", "'9.999': GHS takes at most 2 decimals, such as 12.50"),
    ],
)
def test_amounts_finer_than_the_currency_are_refused_not_rounded(typed: str, currency: str, message: str) -> None:
    with pytest.raises(MoneyError) as refused:
        Money.parse(typed, currency)
    assert (str(refused.value), refused.value.reason) == (message, "too_precise")


@pytest.mark.parametrize("typed", ["", "abc", "1,2,3", "12..5", "1 2.3.4", "0,001"])
def test_what_is_no_amount_is_refused(typed: str) -> None:
    with pytest.raises(MoneyError) as refused:
        Money.parse(typed, "KES")
    assert refused.value.reason is None


def test_provider_figures_round_half_up() -> None:
    assert Money.from_major("12.345", "KES") == Money(1_235, "KES")
    assert Money.from_major("1250.5", "XOF") == Money(1_251, "XOF")
    assert (example("XOF"), example("KES")) == ("1250", "12.50")


def test_the_providers_own_units_agree_with_the_exponents() -> None:
    # Paystack counts every currency in subunits, even those without minor units; Stripe counts those in whole units.
    assert to_subunits(Money(1_250, "XOF")) == 125_000 and from_subunits(125_000, "XOF") == Money(1_250, "XOF")
    assert to_subunits(Money(1_250, "KES")) == 1_250
    assert to_amount(Money(1_250, "XOF")) == 1_250 and from_amount(1_250, "xof") == Money(1_250, "XOF")
    assert to_amount(Money(50_000, "UGX")) == 50_000 and to_amount(Money(1_250, "USD")) == 1_250
