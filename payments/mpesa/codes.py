"""Every Daraja result code and error code we know of, and what each one means for a customer and for a retry.

* Result codes (``ResultCode`` of an STK callback or query) end one payment attempt. Each maps to a
  normalised Outcome, a stable reason key (for the text catalog), the customer's next step, and how
  long to wait after the previous push before pushing again to the same subscriber.
* Error codes (``errorCode`` of Daraja's synchronous error ``{requestId, errorCode, errorMessage}``)
  mean a call did not go through: retryable, token-expired (refresh the token and retry once),
  permanent, or pending (the STK query's "The transaction is being processed").

Unknown codes never raise: a result code becomes ``failed / mpesa.unknown / retry``; an error code is
classified by its HTTP status (5xx and 429 retryable, anything else permanent).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import Literal

from payments.base import Outcome

# Daraja refuses a second push to a subscriber within about a minute ("Unable to lock subscriber"),
# and answers "Rule limited" (17) to the same amount from the same customer within about two minutes.
SUBSCRIBER_LOCK = timedelta(seconds=60)
SAME_AMOUNT_WINDOW = timedelta(seconds=120)


class NextStep(enum.StrEnum):
    """What the customer is invited to do after an attempt ends."""

    NONE = "none"  # paid, or still pending: nothing to do
    RETRY = "retry"  # offer a new STK push (after ``ResultInfo.wait``)
    PAYBILL = "paybill"  # the push channel is failing: show Paybill + account number instructions (§A.5.5)
    CONTACT_MERCHANT = "contact_merchant"  # the merchant's setup or the amount is wrong; the customer cannot fix it
    CALL_SAFARICOM = "call_safaricom"  # the customer's M-Pesa credential is locked (8006): only Safaricom can help


@dataclass(frozen=True, slots=True)
class ResultInfo:
    """The meaning of one STK result code.

    ``wait``: minimum time between the previous push and a new push to the same subscriber.
    ``offer_paybill``: whether the Paybill fallback (§A.5.5) is worth showing next to ``next_step``.
    ``description``: Daraja's ResultDesc for the code (the simulator sends it).
    """

    code: str
    outcome: Outcome
    reason: str
    next_step: NextStep
    wait: timedelta
    description: str
    offer_paybill: bool = False
    known: bool = True

    @property
    def final(self) -> bool:
        return self.outcome is not Outcome.PENDING


# Reference §A.3.3, ResultDesc as Daraja sends it where the reference quotes it.
RESULT_DESCRIPTIONS: Mapping[str, str] = MappingProxyType(
    {
        "0": "The service request is processed successfully.",
        "1": "The balance is insufficient for the transaction.",
        "2": "Declined due to limit rule: less than the minimum transaction amount.",
        "3": "Declined due to limit rule: greater than the maximum transaction amount.",
        "4": "Declined due to limit rule: would exceed daily transfer limit.",
        "8": "Declined due to limit rule: would exceed the maximum balance.",
        "17": "Rule limited.",
        "26": "System busy.",
        "1001": "Unable to lock subscriber, a transaction is already in process for the current subscriber",
        "1019": "Transaction has expired.",
        "1025": "An error occurred while sending a push request.",
        "1031": "Request cancelled by user",
        "1032": "Request cancelled by user",
        "1037": "DS timeout user cannot be reached",
        "2001": "The initiator information is invalid.",
        "2028": "The request is not permitted according to product assignment.",
        "8006": "The security credential is locked.",
        "9999": "Error while sending push request",
        "SFC_IC0003": "The operator does not exist.",
    }
)

_F, _C, _E = Outcome.FAILED, Outcome.CANCELLED, Outcome.EXPIRED
_RETRY, _PAYBILL, _MERCHANT = NextStep.RETRY, NextStep.PAYBILL, NextStep.CONTACT_MERCHANT


def _r(
    code: str,
    outcome: Outcome,
    reason: str,
    step: NextStep,
    *,
    wait: timedelta = SUBSCRIBER_LOCK,
    paybill: bool = False,
) -> tuple[str, ResultInfo]:
    return code, ResultInfo(code, outcome, reason, step, wait, RESULT_DESCRIPTIONS[code], paybill)


RESULT_CODES: Mapping[str, ResultInfo] = MappingProxyType(
    dict(
        [
            _r("0", Outcome.PAID, "mpesa.paid", NextStep.NONE, wait=timedelta(0)),
            _r("1", _F, "mpesa.insufficient_funds", _RETRY),
            _r("2", _F, "mpesa.limit.below_minimum", _MERCHANT),
            _r("3", _F, "mpesa.limit.above_maximum", _MERCHANT),
            _r("4", _F, "mpesa.limit.daily", _MERCHANT),
            _r("8", _F, "mpesa.limit.merchant_balance", _MERCHANT),
            _r("17", _F, "mpesa.rule_limited", _RETRY, wait=SAME_AMOUNT_WINDOW),
            _r("26", _F, "mpesa.system_busy", _RETRY, wait=timedelta(seconds=30)),
            _r("1001", _F, "mpesa.subscriber_busy", _RETRY, wait=timedelta(seconds=120), paybill=True),
            _r("1019", _E, "mpesa.expired", _RETRY),
            _r("1025", _F, "mpesa.push_error", _PAYBILL, paybill=True),
            _r("1031", _C, "mpesa.cancelled", _RETRY),
            _r("1032", _C, "mpesa.cancelled", _RETRY),
            _r("1037", _F, "mpesa.unreachable", _RETRY, paybill=True),
            _r("2001", _F, "mpesa.wrong_pin", _RETRY),
            _r("2028", _F, "mpesa.not_permitted", _MERCHANT),
            _r("8006", _F, "mpesa.credential_locked", NextStep.CALL_SAFARICOM),
            _r("9999", _F, "mpesa.push_error", _PAYBILL, paybill=True),
            _r("SFC_IC0003", _F, "mpesa.not_permitted", _MERCHANT),
        ]
    )
)

# The STK query's "still waiting for the customer" answer, expressed as a result.
PENDING = ResultInfo(
    "500.001.1001",
    Outcome.PENDING,
    "mpesa.pending",
    NextStep.NONE,
    SUBSCRIBER_LOCK,
    "The transaction is being processed",
)


def normalise_code(code: int | str | None) -> str:
    """``0``, ``"0"`` and ``" 0 "`` are the same code; ``None`` becomes ``""``."""
    return "" if code is None else str(code).strip()


def result_info(code: int | str | None) -> ResultInfo:
    """The meaning of a callback or query ``ResultCode``; unknown codes are a retryable failure."""
    key = normalise_code(code)
    known = RESULT_CODES.get(key) or RESULT_CODES.get(key.upper())
    if known is not None:
        return known
    return ResultInfo(
        key,
        _F,
        "mpesa.unknown",
        _RETRY,
        SUBSCRIBER_LOCK,
        "Unknown result code",
        offer_paybill=False,
        known=False,
    )


# --- C2B validation answers (reference §A.5.4) ---

C2B_ACCEPT = "0"


class C2BRejectCode(enum.StrEnum):
    """What our C2B validation URL may answer to refuse a Paybill/Till payment before it happens."""

    INVALID_MSISDN = "C2B00011"
    INVALID_ACCOUNT = "C2B00012"
    INVALID_AMOUNT = "C2B00013"
    INVALID_KYC = "C2B00014"
    INVALID_SHORTCODE = "C2B00015"
    OTHER = "C2B00016"


# --- synchronous error codes (reference §A.1, §A.2.4, §A.5.1) ---


class ErrorKind(enum.StrEnum):
    RETRYABLE = "retryable"  # try again later, with back-off; nothing was done
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 - a kind, not a secret: refresh the OAuth token and retry once
    PERMANENT = "permanent"  # our request or credentials are wrong; the same call will fail again
    PENDING = "pending"  # STK query only: the customer has not answered yet


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    code: str
    kind: ErrorKind
    reason: str
    description: str
    retry_after: timedelta | None = None

    @property
    def retryable(self) -> bool:
        return self.kind is not ErrorKind.PERMANENT


_RT, _TOK, _PERM = ErrorKind.RETRYABLE, ErrorKind.TOKEN_EXPIRED, ErrorKind.PERMANENT


def _e(code: str, kind: ErrorKind, reason: str, text: str, after: float | None = None) -> tuple[str, ErrorInfo]:
    return code, ErrorInfo(code, kind, reason, text, None if after is None else timedelta(seconds=after))


ERROR_CODES: Mapping[str, ErrorInfo] = MappingProxyType(
    dict(
        [
            _e("400.008.01", _PERM, "mpesa.bad_credentials", "Invalid authentication type or credentials"),
            _e("400.008.02", _PERM, "mpesa.bad_grant_type", "Invalid grant type passed"),
            _e("400.002.02", _PERM, "mpesa.invalid_request", "Bad Request - Invalid field"),
            _e("400.002.05", _PERM, "mpesa.invalid_request", "Invalid Request Payload"),
            _e("404.001.01", _PERM, "mpesa.not_found", "Resource not found"),
            _e("404.001.03", _TOK, "mpesa.token_expired", "Invalid Access Token"),
            _e("404.001.04", _PERM, "mpesa.bad_auth_header", "Invalid Authenticator Header"),
            _e("401.003.01", _PERM, "mpesa.no_api_product", "Invalid API call as no apiproduct match found"),
            _e("405.001", _PERM, "mpesa.method_not_allowed", "Method Not Allowed"),
            # Several meanings, told apart by the message in classify_error(); this entry is the fallback.
            _e("500.001.1001", _RT, "mpesa.rejected", "Request rejected", 60),
            _e("500.003.02", _RT, "mpesa.spike_arrest", "System is busy / Spike Arrest Violation", 2),
            _e("500.003.03", _RT, "mpesa.quota", "Quota Violation", 60),
            _e("500.003.1001", _RT, "mpesa.internal_error", "Internal Server Error", 5),
            # C2B Register URL (§A.5.1)
            _e("400.003.01", _TOK, "mpesa.token_expired", "Invalid Access Token"),
            _e("400.003.02", _PERM, "mpesa.invalid_request", "Bad Request"),
            _e("404.003.01", _PERM, "mpesa.not_found", "Resource not found"),
        ]
    )
)

# Errors that mean the shop's own Daraja settings are wrong: the merchant (or operator) must fix them.
MISCONFIGURED: frozenset[str] = frozenset(
    {"mpesa.bad_credentials", "mpesa.no_api_product", "mpesa.wrong_credentials", "mpesa.unknown_merchant"}
)

Call = Literal["oauth", "stk_push", "stk_query", "register_urls", "c2b_simulate", "transaction_status"]

# 500.001.1001, 500.003.02 and 500.003.1001 have several meanings, told apart by the message.
_MESSAGE_RULES: tuple[tuple[str, str, ErrorInfo], ...] = tuple(
    (code, needle, ErrorInfo(code, kind, reason, text, None if after is None else timedelta(seconds=after)))
    for code, needle, kind, reason, text, after in (
        ("500.001.1001", "being processed", ErrorKind.PENDING, "mpesa.pending", "Being processed", 5),
        ("500.001.1001", "lock subscriber", _RT, "mpesa.subscriber_locked", "Unable to lock subscriber", 60),
        ("500.001.1001", "wrong credentials", _PERM, "mpesa.wrong_credentials", "Wrong credentials", None),
        (
            "500.001.1001",
            "merchant does not exist",
            _PERM,
            "mpesa.unknown_merchant",
            "No such merchant",
            None,
        ),
        ("500.003.02", "spike arrest", _RT, "mpesa.spike_arrest", "Spike Arrest Violation", 2),
        ("500.003.02", "busy", _RT, "mpesa.system_busy", "System is busy", 5),
        (
            "500.003.1001",
            "already registered",
            _PERM,
            "mpesa.urls_registered",
            "Urls are already registered",
            None,
        ),
        (
            "500.003.1001",
            "duplicate notification",
            _PERM,
            "mpesa.urls_registered",
            "Duplicate notification",
            None,
        ),
    )
)


def classify_error(
    code: str | None, message: str | None = None, *, http_status: int | None = None, call: Call | None = None
) -> ErrorInfo:
    """Classify a synchronous Daraja error; never raises.

    With ``call="stk_query"`` an unrecognised ``500.001.1001`` is PENDING (the query's usual meaning
    of that code); on other calls it stays retryable.
    """
    key = normalise_code(code)
    text = (message or "").lower()
    for rule_code, needle, info in _MESSAGE_RULES:
        if key == rule_code and needle in text:
            return info
    if key == "500.001.1001" and call == "stk_query":
        return _MESSAGE_RULES[0][2]
    known = ERROR_CODES.get(key)
    if known is not None:
        return known
    if "invalid_access_token" in key.lower():  # Apigee's fault code for an unknown or expired token
        return ERROR_CODES["404.001.03"]
    fallback = key or f"http.{http_status}"
    if http_status is not None and (http_status >= 500 or http_status == 429):
        return ErrorInfo(fallback, _RT, "mpesa.unavailable", message or "Server error", timedelta(seconds=5))
    return ErrorInfo(fallback, _PERM, "mpesa.error", message or "Request refused")
