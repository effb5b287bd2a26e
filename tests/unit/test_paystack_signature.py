"""x-paystack-signature: HMAC-SHA512 of the raw body with the secret key (reference B.3.1)."""

from __future__ import annotations

import pytest

from payments.base import InvalidCallback
from payments.paystack.signature import SIGNATURE_HEADER, header_value, is_valid, require_valid, sign

# Reference B.3.1 test vector [OBS].
KEY = "sk_test_xxx"
BODY = (
    b'{"event":"charge.success","data":{"reference":"order_123","amount":150000,"currency":"KES","status":"success"}}'
)
EXPECTED = (
    "237b9c22bda4b708b55a66dbcaa65f3c9a69333a86e7baf252e017cd3c354d22"
    "8af91084895f122d0860a3e54e1f5430d3dc4d30886483e8e7632a1a49b11fc3"
)


def test_sign_matches_the_reference_test_vector() -> None:
    assert sign(BODY, KEY) == EXPECTED


def test_is_valid_accepts_the_vector_and_tolerates_case_and_whitespace() -> None:
    assert is_valid(BODY, EXPECTED, KEY)
    assert is_valid(BODY, f"  {EXPECTED.upper()}\n", KEY)


@pytest.mark.parametrize(
    ("body", "signature", "key"),
    [
        (BODY, EXPECTED, "sk_test_yyy"),  # another merchant's key
        (BODY + b" ", EXPECTED, KEY),  # one byte more: re-serialised JSON does not match
        (BODY.replace(b"150000", b"150001"), EXPECTED, KEY),  # tampered amount
        (BODY, EXPECTED[:-1], KEY),  # truncated
        (BODY, "", KEY),
        (BODY, None, KEY),
        (BODY, "é" * 128, KEY),  # non-ASCII header
        (BODY, EXPECTED, ""),
    ],
)
def test_is_valid_refuses_anything_else(body: bytes, signature: str | None, key: str) -> None:
    assert not is_valid(body, signature, key)


def test_header_lookup_ignores_case() -> None:
    assert header_value({"X-Paystack-Signature": "abc"}) == "abc"
    assert header_value({SIGNATURE_HEADER: "def"}) == "def"
    assert header_value({"content-type": "application/json"}) is None


def test_require_valid_raises_401_with_a_reason() -> None:
    require_valid(BODY, {"X-Paystack-Signature": EXPECTED}, KEY)
    with pytest.raises(InvalidCallback) as missing:
        require_valid(BODY, {}, KEY)
    assert missing.value.status == 401 and "missing" in missing.value.reason
    with pytest.raises(InvalidCallback) as bad:
        require_valid(BODY, {SIGNATURE_HEADER: "0" * 128}, KEY)
    assert bad.value.status == 401 and "bad" in bad.value.reason
    assert KEY not in bad.value.reason


def test_sign_needs_a_key() -> None:
    with pytest.raises(ValueError):
        sign(BODY, "")
