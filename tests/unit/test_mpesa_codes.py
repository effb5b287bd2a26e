"""The M-Pesa code map: every code of the reference has an outcome, a reason, a next step and a wait."""

from __future__ import annotations

from datetime import timedelta

import pytest

from payments.base import Outcome
from payments.mpesa.codes import (
    ERROR_CODES,
    PENDING,
    RESULT_CODES,
    SAME_AMOUNT_WINDOW,
    SUBSCRIBER_LOCK,
    C2BRejectCode,
    ErrorKind,
    NextStep,
    classify_error,
    result_info,
)

# §A.3.3, all of it.
REFERENCE_RESULT_CODES = [
    "0", "1", "2", "3", "4", "8", "17", "26", "1001", "1019", "1025", "1031", "1032", "1037", "2001", "2028",
    "8006", "9999", "SFC_IC0003",
]  # fmt: skip
# §A.1, §A.2.4, §A.5.1.
REFERENCE_ERROR_CODES = [
    "400.008.01", "400.008.02", "400.002.02", "400.002.05", "404.001.03", "404.001.01", "404.001.04",
    "401.003.01", "405.001", "500.001.1001", "500.003.02", "500.003.03", "500.003.1001", "400.003.01",
    "400.003.02", "404.003.01",
]  # fmt: skip


def test_every_reference_result_code_is_mapped() -> None:
    assert set(RESULT_CODES) == set(REFERENCE_RESULT_CODES)
    for code in REFERENCE_RESULT_CODES:
        info = result_info(code)
        assert info.known and info.code == code and info.reason.startswith("mpesa.") and info.description


def test_every_reference_error_code_is_classified() -> None:
    assert set(ERROR_CODES) == set(REFERENCE_ERROR_CODES)


@pytest.mark.parametrize(
    ("code", "outcome", "reason", "step"),
    [
        (0, Outcome.PAID, "mpesa.paid", NextStep.NONE),
        ("0", Outcome.PAID, "mpesa.paid", NextStep.NONE),
        (1, Outcome.FAILED, "mpesa.insufficient_funds", NextStep.RETRY),
        (2, Outcome.FAILED, "mpesa.limit.below_minimum", NextStep.CONTACT_MERCHANT),
        (3, Outcome.FAILED, "mpesa.limit.above_maximum", NextStep.CONTACT_MERCHANT),
        (4, Outcome.FAILED, "mpesa.limit.daily", NextStep.CONTACT_MERCHANT),
        (8, Outcome.FAILED, "mpesa.limit.merchant_balance", NextStep.CONTACT_MERCHANT),
        (17, Outcome.FAILED, "mpesa.rule_limited", NextStep.RETRY),
        (26, Outcome.FAILED, "mpesa.system_busy", NextStep.RETRY),
        (1001, Outcome.FAILED, "mpesa.subscriber_busy", NextStep.RETRY),
        (1019, Outcome.EXPIRED, "mpesa.expired", NextStep.RETRY),
        (1025, Outcome.FAILED, "mpesa.push_error", NextStep.PAYBILL),
        (1031, Outcome.CANCELLED, "mpesa.cancelled", NextStep.RETRY),
        ("1032", Outcome.CANCELLED, "mpesa.cancelled", NextStep.RETRY),
        (1037, Outcome.FAILED, "mpesa.unreachable", NextStep.RETRY),
        (2001, Outcome.FAILED, "mpesa.wrong_pin", NextStep.RETRY),
        (2028, Outcome.FAILED, "mpesa.not_permitted", NextStep.CONTACT_MERCHANT),
        (8006, Outcome.FAILED, "mpesa.credential_locked", NextStep.CALL_SAFARICOM),
        (9999, Outcome.FAILED, "mpesa.push_error", NextStep.PAYBILL),
        ("SFC_IC0003", Outcome.FAILED, "mpesa.not_permitted", NextStep.CONTACT_MERCHANT),
        ("sfc_ic0003", Outcome.FAILED, "mpesa.not_permitted", NextStep.CONTACT_MERCHANT),
    ],
)
def test_result_codes(code: int | str, outcome: Outcome, reason: str, step: NextStep) -> None:
    info = result_info(code)
    assert (info.outcome, info.reason, info.next_step) == (outcome, reason, step)


def test_only_zero_is_paid() -> None:
    paid = [code for code, info in RESULT_CODES.items() if info.outcome is Outcome.PAID]
    assert paid == ["0"]


def test_waits_before_a_new_push() -> None:
    assert result_info(0).wait == timedelta(0)
    assert result_info(1032).wait == SUBSCRIBER_LOCK
    assert result_info(17).wait == SAME_AMOUNT_WINDOW
    assert result_info(1001).wait >= SUBSCRIBER_LOCK
    assert result_info(26).wait == timedelta(seconds=30)


def test_paybill_is_offered_when_the_push_channel_fails() -> None:
    assert {code for code, info in RESULT_CODES.items() if info.offer_paybill} == {"1001", "1025", "1037", "9999"}


@pytest.mark.parametrize("code", [None, "", "12345", "XYZ", 77])
def test_unknown_result_codes_are_a_safe_default(code: int | str | None) -> None:
    info = result_info(code)
    assert (info.outcome, info.reason, info.next_step, info.known) == (
        Outcome.FAILED,
        "mpesa.unknown",
        NextStep.RETRY,
        False,
    )


def test_pending() -> None:
    assert PENDING.outcome is Outcome.PENDING and not PENDING.final and PENDING.next_step is NextStep.NONE


@pytest.mark.parametrize(
    ("code", "message", "call", "kind", "reason"),
    [
        ("500.003.02", "Error Occurred: Spike Arrest Violation", "stk_push", ErrorKind.RETRYABLE, "mpesa.spike_arrest"),
        ("500.003.02", "System is busy", "stk_push", ErrorKind.RETRYABLE, "mpesa.system_busy"),
        ("500.003.03", "Quota Violation", "stk_push", ErrorKind.RETRYABLE, "mpesa.quota"),
        ("500.003.1001", "Internal Server Error", "stk_push", ErrorKind.RETRYABLE, "mpesa.internal_error"),
        (
            "500.001.1001",
            "Unable to lock subscriber, a transaction is already in process for the current subscriber",
            "stk_push",
            ErrorKind.RETRYABLE,
            "mpesa.subscriber_locked",
        ),
        ("500.001.1001", "The transaction is being processed", "stk_query", ErrorKind.PENDING, "mpesa.pending"),
        ("500.001.1001", "Wrong credentials", "stk_push", ErrorKind.PERMANENT, "mpesa.wrong_credentials"),
        ("500.001.1001", "Merchant does not exist", "stk_query", ErrorKind.PERMANENT, "mpesa.unknown_merchant"),
        ("500.001.1001", "something new", "stk_query", ErrorKind.PENDING, "mpesa.pending"),
        ("500.001.1001", "something new", "stk_push", ErrorKind.RETRYABLE, "mpesa.rejected"),
        ("404.001.03", "Invalid Access Token", "stk_push", ErrorKind.TOKEN_EXPIRED, "mpesa.token_expired"),
        ("400.003.01", "Invalid Access Token", "register_urls", ErrorKind.TOKEN_EXPIRED, "mpesa.token_expired"),
        ("400.002.02", "Bad Request - Invalid Amount", "stk_push", ErrorKind.PERMANENT, "mpesa.invalid_request"),
        ("400.008.01", "Invalid authentication type", "oauth", ErrorKind.PERMANENT, "mpesa.bad_credentials"),
        ("401.003.01", "no apiproduct match found", "register_urls", ErrorKind.PERMANENT, "mpesa.no_api_product"),
        ("500.003.1001", "Urls are already registered", "register_urls", ErrorKind.PERMANENT, "mpesa.urls_registered"),
    ],
)
def test_sync_errors(code: str, message: str, call: str, kind: ErrorKind, reason: str) -> None:
    info = classify_error(code, message, http_status=500, call=call)  # type: ignore[arg-type]
    assert (info.kind, info.reason) == (kind, reason)
    assert info.retryable is (kind is not ErrorKind.PERMANENT)


def test_unknown_sync_errors_follow_the_http_status() -> None:
    assert classify_error("999.9", "?", http_status=503).kind is ErrorKind.RETRYABLE
    assert classify_error(None, None, http_status=429).kind is ErrorKind.RETRYABLE
    assert classify_error("999.9", "?", http_status=400).kind is ErrorKind.PERMANENT
    assert classify_error(None, None, http_status=502).code == "http.502"
    assert classify_error("keymanagement.service.invalid_access_token", "").kind is ErrorKind.TOKEN_EXPIRED


def test_c2b_reject_codes() -> None:
    assert [c.value for c in C2BRejectCode] == [f"C2B0001{i}" for i in range(1, 7)]
