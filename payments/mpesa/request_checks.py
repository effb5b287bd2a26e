"""What Daraja would refuse in a request we send (amount, currency, phone, shortcode and till digits, lengths,
callback URLs), caught here before any HTTP call as a :class:`~payments.mpesa.errors.DarajaRequestError`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from core.money import Money
from payments.mpesa.errors import DarajaRequestError
from payments.mpesa.fields import has_forbidden_word, is_msisdn

MIN_AMOUNT = 1  # KES, per transaction (§A.6)
MAX_AMOUNT = 250_000
ACCOUNT_REFERENCE_MAX = 12
TRANSACTION_DESC_MAX = 13
SHORTCODE = re.compile(r"^\d{5,7}$")
TILL = re.compile(r"^\d{5,8}$")  # not documented; tills seen in the wild have 5 to 8 digits


def whole_shillings(amount: Money) -> int:
    if amount.currency != "KES":
        raise DarajaRequestError(f"M-Pesa takes KES, not {amount.currency}", "mpesa.invalid_currency")
    if not amount.is_whole_major():
        raise DarajaRequestError(f"M-Pesa takes whole shillings, not {amount}", "mpesa.invalid_amount")
    shillings = int(amount.major())
    if not MIN_AMOUNT <= shillings <= MAX_AMOUNT:
        raise DarajaRequestError(
            f"M-Pesa amounts run from KES {MIN_AMOUNT} to KES {MAX_AMOUNT:,}, not {amount}", "mpesa.invalid_amount"
        )
    return shillings


def digits(value: str, pattern: re.Pattern[str], field: str) -> int:
    if not pattern.match(value):
        raise DarajaRequestError(f"{field} must be {pattern.pattern}, got {value!r}", f"mpesa.invalid_{field}")
    return int(value)


def msisdn(value: str, field: str) -> int:
    if not is_msisdn(value):
        raise DarajaRequestError(
            f"{field} must be a normalised 2547XXXXXXXX or 2541XXXXXXXX number", f"mpesa.invalid_{field}"
        )
    return int(value)


def check_url(url: str, field: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DarajaRequestError(f"{field} must be an absolute http(s) URL", f"mpesa.invalid_{field}")
    word = has_forbidden_word(url)
    if word:
        raise DarajaRequestError(f"{field} contains {word!r}, which Daraja refuses", f"mpesa.invalid_{field}")
    return url


def account_reference(value: str) -> str:
    """The STK ``AccountReference`` (1-12 printable characters), refused when too long rather than cut: it is the
    account number the customer sees and types for Paybill, so cutting it would break matching."""
    reference = value.strip()
    if not reference or len(reference) > ACCOUNT_REFERENCE_MAX or not reference.isprintable():
        raise DarajaRequestError(
            f"account_reference must be 1-{ACCOUNT_REFERENCE_MAX} printable characters, got {reference!r}",
            "mpesa.invalid_account_reference",
        )
    return reference
