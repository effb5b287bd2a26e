"""Daraja's messages: tolerant parsers for what Daraja sends us, and the answers we send back.

Pure (no I/O); shared by the client, the callback routes and the simulator. Parsers accept what is seen
in the wild (reference Part A): integer or string codes, ``CallbackMetadata`` items in any order and
without ``Value``, integer ``TransactionDate`` in Nairobi time, plain/masked/hashed phones, decimal
amounts as numbers or strings. A body that cannot be understood raises
:class:`~payments.base.InvalidCallback` with the reason.

This module holds OAuth, the synchronous errors and the STK messages; the C2B messages live in
:mod:`payments.mpesa.wire_c2b` and are re-exported here, so every Daraja message is importable from this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.money import Money
from payments.base import InvalidCallback
from payments.mpesa.codes import (
    PENDING,
    RESULT_CODES,
    ErrorKind,
    ResultInfo,
    classify_error,
    result_info,
)
from payments.mpesa.fields import (
    NAIROBI,
    Body,
    Payer,
    callback_token,
    code_field,
    get,
    has_forbidden_word,
    hash_msisdn,
    integral_text,
    is_msisdn,
    load_json,
    optional_amount,
    parse_time,
    password,
    text_field,
    timestamp,
)
from payments.mpesa.wire_c2b import (
    C2BPayment,
    C2BValidationAnswer,
    RegisterUrlResponse,
    c2b_accept,
    c2b_confirmation_ack,
    c2b_reject,
    normalise_bill_ref,
    parse_c2b,
    parse_c2b_validation_answer,
    parse_register_url_response,
)

__all__ = [
    "NAIROBI",
    "AccessToken",
    "C2BPayment",
    "C2BValidationAnswer",
    "DarajaErrorBody",
    "Payer",
    "RegisterUrlResponse",
    "StkCallback",
    "StkPushAccepted",
    "StkQueryResult",
    "c2b_accept",
    "c2b_confirmation_ack",
    "c2b_reject",
    "callback_token",
    "has_forbidden_word",
    "hash_msisdn",
    "is_msisdn",
    "normalise_bill_ref",
    "parse_c2b",
    "parse_c2b_validation_answer",
    "parse_error",
    "parse_register_url_response",
    "parse_stk_callback",
    "parse_stk_push_response",
    "parse_stk_query",
    "parse_time",
    "parse_token",
    "password",
    "stk_callback_ack",
    "timestamp",
]

_NUMERIC_CODE = re.compile(r"[0-9]{1,10}")


def result_code(data: Mapping[str, Any], what: str) -> str:
    """A ``ResultCode``: an integer (a JSON number or a digit string, both seen, §A.0) or one of the few documented
    alphanumeric codes (``SFC_IC0003``). Anything else (``"0 OR 1"``) is a malformed body, never a failure."""
    code = code_field(data, "ResultCode", what)
    if _NUMERIC_CODE.fullmatch(code):
        return str(int(code))
    if not code.isdigit() and code.upper() in RESULT_CODES:
        return code.upper()
    raise InvalidCallback(f"{what}: ResultCode is not a result code")


def _kes(amount: Decimal) -> Money:
    return Money.from_major(amount, "KES")


# --- OAuth ---


@dataclass(frozen=True, slots=True)
class AccessToken:
    access_token: str = field(repr=False)
    expires_in: int


def parse_token(body: Body) -> AccessToken:
    """``{"access_token": "...", "expires_in": "3599"}``; expires_in as string or number, 3599 if absent."""
    data = load_json(body, "oauth")
    token = get(data, "access_token")
    if not isinstance(token, str) or not token.strip():  # seen in the wild: "access_token": "" with HTTP 200
        raise InvalidCallback("oauth: no access_token in the response")
    raw_expiry = get(data, "expires_in")
    expiry = "3599" if raw_expiry is None else integral_text(raw_expiry)
    if expiry is None or int(expiry) <= 0:
        raise InvalidCallback(f"oauth: expires_in is not a positive number: {raw_expiry!r}")
    return AccessToken(token.strip(), int(expiry))


# --- synchronous errors ---


@dataclass(frozen=True, slots=True)
class DarajaErrorBody:
    """``{requestId, errorCode, errorMessage}``; also read from ``resultCode/resultDesc`` and from Apigee's
    ``{"fault": {"faultstring", "detail": {"errorcode"}}}``, which the gateway in front of Daraja may send."""

    error_code: str
    error_message: str
    request_id: str | None = None


def parse_error(body: Body) -> DarajaErrorBody | None:
    """The error in a response body, or None when the body is not an error shape."""
    try:
        data = load_json(body, "error")
    except InvalidCallback:
        return None
    code, message = get(data, "errorCode"), get(data, "errorMessage")
    if code is None and get(data, "ResponseCode") is None:
        code, message = get(data, "resultCode"), get(data, "resultDesc")
    fault = get(data, "fault")
    if code is None and isinstance(fault, Mapping):
        detail = get(fault, "detail")
        code = get(detail, "errorcode") if isinstance(detail, Mapping) else None
        message = get(fault, "faultstring")
    if code is None or isinstance(code, dict | list):
        return None
    request_id = get(data, "requestId")
    return DarajaErrorBody(
        str(code).strip(),
        "" if message is None else str(message).strip(),
        None if request_id is None else str(request_id),
    )


# --- STK push: the synchronous answer ---


@dataclass(frozen=True, slots=True)
class StkPushAccepted:
    """Daraja accepted the push for processing (this does not mean the customer paid)."""

    merchant_request_id: str
    checkout_request_id: str
    response_code: str
    response_description: str
    customer_message: str


def parse_stk_push_response(body: Body) -> StkPushAccepted:
    what = "stk push response"
    data = load_json(body, what)
    return StkPushAccepted(
        merchant_request_id=text_field(data, "MerchantRequestID", what, required=False),
        checkout_request_id=text_field(data, "CheckoutRequestID", what),
        response_code=code_field(data, "ResponseCode", what),
        response_description=text_field(data, "ResponseDescription", what, required=False),
        customer_message=text_field(data, "CustomerMessage", what, required=False),
    )


# --- STK callback ---


@dataclass(frozen=True, slots=True)
class StkCallback:
    """One STK result notification (§A.3). Success carries amount, receipt, date and phone."""

    merchant_request_id: str
    checkout_request_id: str
    result_code: str
    result_desc: str
    amount: Decimal | None = None
    receipt_number: str | None = None
    transaction_date: datetime | None = None
    phone: Payer | None = None
    balance: Decimal | None = None
    items: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def succeeded(self) -> bool:
        return self.result_code == "0"

    @property
    def result(self) -> ResultInfo:
        return result_info(self.result_code)

    def amount_money(self) -> Money | None:
        return None if self.amount is None else _kes(self.amount)


def _metadata_items(callback: Mapping[str, Any], what: str) -> dict[str, Any]:
    metadata = get(callback, "CallbackMetadata")
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidCallback(f"{what}: CallbackMetadata is not an object")
    items = get(metadata, "Item")
    if items is None:
        return {}
    if isinstance(items, Mapping):  # one item, as some JSON converters render a one-element list
        items = [items]
    if not isinstance(items, list):
        raise InvalidCallback(f"{what}: CallbackMetadata.Item is not a list")
    out: dict[str, Any] = {}
    for item in items:
        name = get(item, "Name") if isinstance(item, Mapping) else None
        if not isinstance(name, str):
            raise InvalidCallback(f"{what}: CallbackMetadata item without a Name: {item!r:.60}")
        out[name] = get(item, "Value")
    return out


def parse_stk_callback(body: Body) -> StkCallback:
    """``{"Body": {"stkCallback": {...}}}``. A success (ResultCode 0) must carry Amount and the receipt."""
    what = "stk callback"
    data = load_json(body, what)
    envelope = get(data, "Body")
    callback = get(envelope, "stkCallback") if isinstance(envelope, Mapping) else None
    if not isinstance(callback, Mapping):
        raise InvalidCallback(f"{what}: no Body.stkCallback object")
    code = result_code(callback, what)
    items = _metadata_items(callback, what)
    amount = optional_amount(items.get("Amount"), f"{what}: Amount")
    receipt = items.get("MpesaReceiptNumber")
    receipt_text = str(receipt).strip() if receipt is not None else ""
    if code == "0" and amount is None:
        raise InvalidCallback(f"{what}: success without Amount")
    if code == "0" and not receipt_text:
        raise InvalidCallback(f"{what}: success without MpesaReceiptNumber")
    date = items.get("TransactionDate")
    return StkCallback(
        merchant_request_id=text_field(callback, "MerchantRequestID", what, required=False),
        checkout_request_id=text_field(callback, "CheckoutRequestID", what),
        result_code=code,
        result_desc=text_field(callback, "ResultDesc", what, required=False),
        amount=amount,
        receipt_number=receipt_text or None,
        transaction_date=None if date in (None, "") else parse_time(date, f"{what}: TransactionDate"),
        phone=Payer.parse(items.get("PhoneNumber")),
        balance=optional_amount(items.get("Balance"), f"{what}: Balance"),
        items=items,
        raw=data,
    )


def stk_callback_ack() -> dict[str, Any]:
    """What our STK callback route answers (common practice; Safaricom specifies nothing)."""
    return {"ResultCode": 0, "ResultDesc": "Accepted"}


# --- STK query ---


@dataclass(frozen=True, slots=True)
class StkQueryResult:
    """The STK query answer: ``pending`` (the customer has not answered) or final with a string code."""

    checkout_request_id: str
    pending: bool
    result_code: str | None = None
    result_desc: str | None = None
    merchant_request_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def result(self) -> ResultInfo:
        return PENDING if self.pending or self.result_code is None else result_info(self.result_code)


def parse_stk_query(
    body: Body, *, checkout_request_id: str | None = None, http_status: int = 200
) -> StkQueryResult | DarajaErrorBody:
    """A final result; the pending answer (``500.001.1001`` "being processed") as ``pending=True``;
    or any other error body, returned for the caller to raise."""
    what = "stk query response"
    data = load_json(body, what)
    if get(data, "ResultCode") is not None:
        return StkQueryResult(
            checkout_request_id=text_field(data, "CheckoutRequestID", what, required=False)
            or (checkout_request_id or ""),
            pending=False,
            result_code=result_code(data, what),
            result_desc=text_field(data, "ResultDesc", what, required=False),
            merchant_request_id=text_field(data, "MerchantRequestID", what, required=False) or None,
            raw=data,
        )
    error = parse_error(data)
    if error is None:
        raise InvalidCallback(f"{what}: neither a ResultCode nor an error (HTTP {http_status})")
    info = classify_error(error.error_code, error.error_message, http_status=http_status, call="stk_query")
    if info.kind is ErrorKind.PENDING:
        return StkQueryResult(checkout_request_id or error.request_id or "", pending=True, raw=data)
    return error
