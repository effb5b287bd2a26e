"""Paystack amount limits and the Money <-> subunit edge (reference B.0), and transaction references."""

from __future__ import annotations

import re

import pytest

from core.money import Money
from payments.base import ProviderError
from payments.paystack.limits import (
    AMOUNT_ABOVE_MAXIMUM,
    AMOUNT_BELOW_MINIMUM,
    AMOUNT_NOT_POSITIVE,
    CURRENCY_NOT_SUPPORTED,
    MAXIMUM_SUBUNITS,
    AmountNotAllowed,
    check_amount,
    from_subunits,
    maximum,
    minimum,
    to_subunits,
)
from payments.paystack.reference import (
    InvalidReference,
    is_valid_reference,
    new_reference,
    validate_reference,
)

# Reference B.0: minimum in API units (subunits).
MINIMUMS = {"NGN": 5000, "USD": 200, "GHS": 10, "ZAR": 100, "KES": 300, "XOF": 100}


@pytest.mark.parametrize(("currency", "subunits"), MINIMUMS.items())
def test_the_minimum_passes_and_one_subunit_less_does_not(currency: str, subunits: int) -> None:
    lowest = from_subunits(subunits, currency)
    assert minimum(currency) == lowest
    assert check_amount(lowest) == subunits
    below = Money(lowest.minor - 1, currency)  # XOF has no subunit: one whole franc less, i.e. zero
    with pytest.raises(AmountNotAllowed) as caught:
        check_amount(below)
    assert caught.value.code == (AMOUNT_NOT_POSITIVE if currency == "XOF" else AMOUNT_BELOW_MINIMUM)
    if currency == "XOF":
        return
    assert caught.value.limit == lowest
    assert not caught.value.retryable
    assert str(lowest) in str(caught.value)


def test_kes_minimum_is_three_shillings() -> None:
    assert minimum("KES") == Money(300, "KES")
    assert check_amount(Money.parse("3", "KES")) == 300
    assert check_amount(Money.parse("1500", "KES")) == 150000


def test_subunits_are_minor_for_two_decimal_currencies_and_times_100_for_xof() -> None:
    assert to_subunits(Money(150000, "KES")) == 150000
    assert to_subunits(Money(1500, "XOF")) == 150000
    assert from_subunits(150000, "XOF") == Money(1500, "XOF")
    assert from_subunits(150099, "XOF") == Money(1500, "XOF")  # the fraction is ignored, as Paystack does


def test_the_maximum() -> None:
    top = Money(MAXIMUM_SUBUNITS, "NGN")
    assert maximum("NGN") == top == Money.parse("10000000", "NGN")
    assert check_amount(top) == MAXIMUM_SUBUNITS
    with pytest.raises(AmountNotAllowed) as caught:
        check_amount(top + Money(1, "NGN"))
    assert caught.value.code == AMOUNT_ABOVE_MAXIMUM and caught.value.limit == top


@pytest.mark.parametrize("minor", [0, -100])
def test_zero_and_negative_amounts(minor: int) -> None:
    with pytest.raises(AmountNotAllowed) as caught:
        check_amount(Money(minor, "KES"))
    assert caught.value.code == AMOUNT_NOT_POSITIVE


@pytest.mark.parametrize("currency", ["UGX", "TZS", "RWF"])
def test_currencies_paystack_does_not_take(currency: str) -> None:
    with pytest.raises(AmountNotAllowed) as caught:
        check_amount(Money(100000, currency))
    assert caught.value.code == CURRENCY_NOT_SUPPORTED
    assert isinstance(caught.value, ProviderError)
    with pytest.raises(AmountNotAllowed):
        minimum(currency)


def test_unknown_currency_from_the_wire() -> None:
    with pytest.raises(AmountNotAllowed) as caught:
        from_subunits(100, "EGP")
    assert caught.value.code == CURRENCY_NOT_SUPPORTED


# --- references ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("reference", ["ORD-12345-1", "re4lyvq3s3", "a.b=c-d", "T685312322670591", "x" * 100])
def test_allowed_references(reference: str) -> None:
    assert validate_reference(reference) == reference
    assert is_valid_reference(reference)


@pytest.mark.parametrize(
    ("reference", "why"),
    [
        ("", "empty"),
        ("ORD 1", "' '"),
        ("ORD_1", "'_'"),
        ("ORD/1?x", "'/?'"),
        ("ORD#1", "'#'"),
        ("ünï", "'ïü'"),
        ("x" * 101, "at most"),
    ],
)
def test_refused_references_say_why(reference: str, why: str) -> None:
    assert not is_valid_reference(reference)
    with pytest.raises(InvalidReference, match=re.escape(why)):
        validate_reference(reference)


def test_new_references_are_fresh_and_allowed() -> None:
    refs = {new_reference("ORD 12/3") for _ in range(50)}
    assert len(refs) == 50
    for ref in refs:
        assert is_valid_reference(ref)
        assert ref.startswith("ORD-12-3-")
    assert is_valid_reference(new_reference(""))
    assert len(new_reference("p" * 200)) <= 100
    with pytest.raises(ValueError):
        new_reference(random_chars=4)
