"""The M-Pesa checkout's pure rules: which phones can pay, how a typed account number is read, what each ending
tells the customer to do next."""

from __future__ import annotations

import pytest

from payments.mpesa.c2b import _one_edit_apart, account_code, c2b_urls, new_c2b_secret, token_matches
from payments.mpesa.codes import RESULT_CODES, NextStep
from payments.mpesa.messages import next_step, why
from payments.mpesa.phones import MpesaPhoneError, mpesa_phone


@pytest.mark.parametrize(
    ("typed", "msisdn", "local"),
    [
        ("0712 345 678", "254712345678", "0712 345 678"),
        ("+254712345678", "254712345678", "0712 345 678"),
        ("254712345678", "254712345678", "0712 345 678"),
        ("0110 123 456", "254110123456", "0110 123 456"),
        ("0708374149", "254708374149", "0708 374 149"),
    ],
)
def test_safaricom_numbers_are_normalised(typed: str, msisdn: str, local: str) -> None:
    phone = mpesa_phone(typed)
    assert (phone.msisdn, phone.local) == (msisdn, local)


@pytest.mark.parametrize(
    ("typed", "key", "carrier"),
    [
        ("0733 123 456", "mpesa.phone_not_safaricom", "Airtel"),
        ("0770 123 456", "mpesa.phone_not_safaricom", "Telkom"),
        ("0100 123 456", "mpesa.phone_not_safaricom", "Airtel"),
        ("12345", "mpesa.phone_invalid", ""),
        ("0201 234 567", "mpesa.phone_invalid", ""),  # a Nairobi landline
        ("+255 712 345 678", "mpesa.phone_not_kenyan", ""),
    ],
)
def test_numbers_m_pesa_cannot_reach(typed: str, key: str, carrier: str) -> None:
    with pytest.raises(MpesaPhoneError) as refused:
        mpesa_phone(typed)
    assert (refused.value.key, refused.value.carrier) == (key, carrier)


def test_account_numbers_as_customers_type_them() -> None:
    assert account_code(" k7q-2xa ") == "K7Q2XA"
    assert account_code("#K7Q 2XA.") == "K7Q2XA"
    assert _one_edit_apart("K7Q2XB", "K7Q2XA")  # one wrong
    assert _one_edit_apart("7KQ2XA", "K7Q2XA")  # two swapped
    assert _one_edit_apart("K7Q2X", "K7Q2XA") and _one_edit_apart("K7Q2XAA", "K7Q2XA")
    assert not _one_edit_apart("K7Q2XA", "K7Q2XA") and not _one_edit_apart("ABCDEF", "K7Q2XA")


def test_the_c2b_urls_carry_the_shops_own_random_secret() -> None:
    secret = new_c2b_secret()
    confirm, validate = c2b_urls("https://shop.example/", "mama", secret)
    assert confirm == f"https://shop.example/pay/c2b/mama/{secret}/confirm"
    assert validate == f"https://shop.example/pay/c2b/mama/{secret}/validate"
    assert len(secret) == 40 and int(secret, 16) >= 0 and secret != new_c2b_secret()  # 160 random bits
    assert token_matches(secret, secret) and not token_matches(secret.upper(), secret)
    assert not token_matches("", "") and not token_matches(secret, "")  # a shop without a secret has no URL
    for word in ("mpesa", "safaricom", "query", "sql", "exe", "cmd"):
        assert word not in confirm


def test_every_ending_has_words_and_a_next_step() -> None:
    for code, info in RESULT_CODES.items():
        assert why(code) and not why(code).startswith("mpesa."), code
        step, _ = next_step(code)
        assert step is info.next_step
    assert why("SOMETHING_NEW") == "M-Pesa did not accept the payment"
    assert next_step("SOMETHING_NEW")[0] is NextStep.RETRY
    assert why("mpesa.subscriber_locked") == "another M-Pesa request was already open on your phone"
    assert next_step("mpesa.invalid_amount")[0] is NextStep.CONTACT_MERCHANT
