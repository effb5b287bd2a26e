"""How the simulator checks requests and words its refusals: Daraja's paths, rules, error codes and HTTP codes.

Each check raises :class:`Refusal`, which :func:`route` turns into ``{requestId, errorCode, errorMessage}`` with
the HTTP status Daraja uses (reference §A.1, §A.2.4, §A.4, §A.5).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from payments.mpesa import status
from payments.mpesa.fields import NAIROBI, TIMESTAMP_FORMAT, has_forbidden_word, password
from sandbox.mpesa.models import C2BUrls, SimResponse, StkTransaction

if TYPE_CHECKING:
    from sandbox.mpesa.simulator import DarajaSimulator

Endpoint = Literal["oauth", "stk_push", "stk_query", "register_urls", "c2b_simulate", "transaction_status"]

OAUTH_PATH = "/oauth/v1/generate"
STK_PUSH_PATH = "/mpesa/stkpush/v1/processrequest"
STK_QUERY_PATH = "/mpesa/stkpushquery/v1/query"
MAX_AMOUNT = 250_000
ROUTES: Mapping[str, tuple[str, Endpoint]] = {
    OAUTH_PATH: ("GET", "oauth"),
    STK_PUSH_PATH: ("POST", "stk_push"),
    STK_QUERY_PATH: ("POST", "stk_query"),
    "/mpesa/c2b/v1/registerurl": ("POST", "register_urls"),
    "/mpesa/c2b/v2/registerurl": ("POST", "register_urls"),
    "/mpesa/c2b/v1/simulate": ("POST", "c2b_simulate"),
    "/mpesa/c2b/v2/simulate": ("POST", "c2b_simulate"),
    status.PATH: ("POST", "transaction_status"),
}
TRANSACTION_TYPES = ("CustomerPayBillOnline", "CustomerBuyGoodsOnline")
SHORTCODE = r"\d{5,7}"
PARTY_B = r"\d{5,8}"
MSISDN = r"254(?:7|1)\d{8}"
ACCEPTED = "Success. Request accepted for processing"
LOCKED = "Unable to lock subscriber, a transaction is already in process for the current subscriber"
NO_PRODUCT = "Invalid Access Token - Invalid API call as no apiproduct match found"


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.request_id = status, code, message, request_id


def _invalid(name: str, code: str = "400.002.02") -> Refusal:
    return Refusal(400, code, f"Bad Request - Invalid {name}")


def route(
    sim: DarajaSimulator, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
) -> SimResponse:
    """Dispatch one request (``headers`` with lower-case names)."""
    entry = ROUTES.get(path)
    try:
        if entry is None:
            raise Refusal(404, "404.001.01", "Resource not found")
        expected, endpoint = entry
        if method != expected:
            raise Refusal(405, "405.001", "Method Not Allowed")
        injected = sim.injected.get(endpoint)
        if injected:
            return injected.pop(0)
        if endpoint == "oauth":
            return _oauth(sim, query, headers)
        if endpoint in ("register_urls", "c2b_simulate"):
            version = path.split("/")[3]
            _authorise(sim, headers, f"c2b_{version}", c2b=True)
            data = _json_body(headers, body, "ShortCode", c2b=True)
            return _register(sim, data, version) if endpoint == "register_urls" else _simulate(sim, data)
        if endpoint == "transaction_status":
            from sandbox.mpesa import status as sim_status  # imported here: it builds on this module's Refusal

            _authorise(sim, headers, "transaction_status", c2b=False)
            return sim_status.accept(sim, _json_body(headers, body, "Initiator", c2b=False))
        _authorise(sim, headers, "stk", c2b=False)
        data = _json_body(headers, body, "BusinessShortCode", c2b=False)
        return _stk_push(sim, data) if endpoint == "stk_push" else _stk_query(sim, data)
    except Refusal as refusal:
        request_id = refusal.request_id or sim.ids.hex_id()
        body_out = {"requestId": request_id, "errorCode": refusal.code, "errorMessage": refusal.message}
        return SimResponse(refusal.status, body_out)


# --- OAuth and bearer tokens ---


def _oauth(sim: DarajaSimulator, query: Mapping[str, str], headers: Mapping[str, str]) -> SimResponse:
    if query.get("grant_type") != "client_credentials":
        raise Refusal(400, "400.008.02", "Invalid grant type passed")
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not credentials.strip():
        raise Refusal(400, "400.008.01", "Invalid authentication type")
    try:
        key, _, secret = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Refusal(400, "400.008.01", "Invalid authentication type") from None
    app = sim.apps.get(key)
    if app is None or not hmac.compare_digest(app.consumer_secret.encode(), secret.encode()):
        raise Refusal(400, "400.008.01", "Invalid Authentication passed")
    token = sim.ids.token()
    sim.tokens[token] = (key, sim.clock.now() + timedelta(seconds=sim.token_ttl))
    expires: str | int = str(sim.token_ttl) if sim.expires_in_as_string else sim.token_ttl
    return SimResponse(200, {"access_token": token, "expires_in": expires})


def _authorise(sim: DarajaSimulator, headers: Mapping[str, str], product: str, *, c2b: bool) -> None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Refusal(404, "404.001.04", "Invalid Authenticator Header")
    entry = sim.tokens.get(token)
    if entry is None or sim.clock.now() >= entry[1]:
        raise (
            Refusal(400, "400.003.01", "Invalid Access Token")
            if c2b
            else Refusal(404, "404.001.03", "Invalid Access Token")
        )
    app = sim.apps.get(entry[0])
    if app is None or product not in app.products:
        raise Refusal(401, "401.003.01", NO_PRODUCT)


def _json_body(headers: Mapping[str, str], body: bytes, first_field: str, *, c2b: bool) -> dict[str, Any]:
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":  # Daraja blames a field, not the header (§A.0)
        raise _invalid(first_field, "400.003.02" if c2b else "400.002.02")
    try:
        data = json.loads(body or b"null", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise (
            Refusal(400, "400.003.02", "Bad Request") if c2b else Refusal(400, "400.002.05", "Invalid Request Payload")
        )
    return data


# --- field rules ---


def _digits(data: Mapping[str, Any], name: str, pattern: str, code: str = "400.002.02") -> str:
    """A numeric field, sent as a JSON integer or a digit string (both work on Daraja)."""
    value = data.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        text: str | None = str(value)
    else:
        text = value.strip() if isinstance(value, str) else None
    if text is None or not re.fullmatch(pattern, text):
        raise _invalid(name, code)
    return text


def _amount(data: Mapping[str, Any]) -> int:
    """Whole shillings: ``100`` or ``"100"``; ``100.5``, ``"100.50"`` and even ``1.0`` are refused."""
    text = _digits(data, "Amount", r"\d{1,9}")
    if int(text) < 1:
        raise _invalid("Amount")
    return int(text)


def _string(data: Mapping[str, Any], name: str, max_length: int, *, required: bool = True) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or len(value) > max_length or (required and not value.strip()):
        raise _invalid(name)
    return value


def _url(data: Mapping[str, Any], name: str, code: str = "400.002.02") -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise _invalid(name, code)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or has_forbidden_word(value):
        raise _invalid(name, code)
    return value


def _timestamp(sim: DarajaSimulator, data: Mapping[str, Any]) -> str:
    stamp = _digits(data, "Timestamp", r"\d{14}")
    try:
        local = datetime.strptime(stamp, TIMESTAMP_FORMAT).replace(tzinfo=NAIROBI)
    except ValueError:
        raise _invalid("Timestamp") from None
    if sim.timestamp_tolerance is not None and abs(local - sim.clock.now()) > sim.timestamp_tolerance:
        raise _invalid("Timestamp")
    return stamp


def _check_password(sim: DarajaSimulator, shortcode: str, data: Mapping[str, Any], stamp: str) -> None:
    given = data.get("Password")
    code = sim.shortcodes.get(shortcode)
    if code is None or code.passkey is None:
        raise Refusal(500, "500.001.1001", "Merchant does not exist")
    expected = password(shortcode, code.passkey, stamp)
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Refusal(500, "500.001.1001", "Wrong credentials")


# --- endpoints ---


def _stk_push(sim: DarajaSimulator, data: Mapping[str, Any]) -> SimResponse:
    shortcode = _digits(data, "BusinessShortCode", SHORTCODE)
    _string(data, "Password", 512)
    stamp = _timestamp(sim, data)
    transaction_type = data.get("TransactionType")
    if transaction_type not in TRANSACTION_TYPES:
        raise _invalid("TransactionType")
    amount = _amount(data)
    _digits(data, "PartyA", MSISDN)
    party_b = _digits(data, "PartyB", PARTY_B)
    phone = _digits(data, "PhoneNumber", MSISDN)
    callback_url = _url(data, "CallBackURL")
    reference = _string(data, "AccountReference", 12)
    _string(data, "TransactionDesc", 13, required=False)
    _check_password(sim, shortcode, data, stamp)
    if sim.locked(phone):
        raise Refusal(500, "500.001.1001", LOCKED)
    checkout = sim.ids.checkout_id(sim.nairobi_now())
    while checkout in sim.transactions:
        checkout = sim.ids.checkout_id(sim.nairobi_now())
    txn = StkTransaction(
        checkout_request_id=checkout,
        merchant_request_id=sim.ids.hex_id(),
        shortcode=shortcode,
        transaction_type=str(transaction_type),
        party_b=party_b,
        phone=phone,
        amount=amount,
        callback_url=callback_url,
        account_reference=reference,
        created_at=sim.clock.now(),
    )
    sim.admit(txn)
    return SimResponse(
        200,
        {
            "MerchantRequestID": txn.merchant_request_id,
            "CheckoutRequestID": txn.checkout_request_id,
            "ResponseCode": "0",
            "ResponseDescription": ACCEPTED,
            "CustomerMessage": ACCEPTED,
        },
    )


def _stk_query(sim: DarajaSimulator, data: Mapping[str, Any]) -> SimResponse:
    shortcode = _digits(data, "BusinessShortCode", SHORTCODE)
    _string(data, "Password", 512)
    stamp = _timestamp(sim, data)
    checkout = _string(data, "CheckoutRequestID", 64)
    _check_password(sim, shortcode, data, stamp)
    txn = sim.transactions.get(checkout)
    if txn is None or txn.shortcode != shortcode:
        raise _invalid("CheckoutRequestID")
    if txn.outcome is None:
        raise Refusal(500, "500.001.1001", "The transaction is being processed", request_id=checkout)
    return SimResponse(
        200,
        {
            "ResponseCode": "0",
            "ResponseDescription": "The service request has been accepted successfully",
            "MerchantRequestID": txn.merchant_request_id,
            "CheckoutRequestID": txn.checkout_request_id,
            "ResultCode": txn.outcome.code,
            "ResultDesc": txn.outcome.desc,
        },
    )


def _register(sim: DarajaSimulator, data: Mapping[str, Any], version: str) -> SimResponse:
    shortcode = _digits(data, "ShortCode", PARTY_B, "400.003.02")
    code = sim.shortcodes.get(shortcode)
    if code is None:
        raise _invalid("ShortCode", "400.003.02")
    response_type = data.get("ResponseType")
    if response_type not in ("Completed", "Cancelled"):
        raise _invalid("ResponseType", "400.003.02")
    confirmation = _url(data, "ConfirmationURL", "400.003.02")
    validation = _url(data, "ValidationURL", "400.003.02")
    if code.urls is not None and not sim.allow_url_overwrite:
        raise Refusal(500, "500.003.1001", "Urls are already registered")
    code.urls = C2BUrls(confirmation, validation, str(response_type), version)
    return SimResponse(
        200, {"OriginatorCoversationID": sim.ids.hex_id(), "ResponseCode": "0", "ResponseDescription": "Success"}
    )


def _simulate(sim: DarajaSimulator, data: Mapping[str, Any]) -> SimResponse:
    shortcode = _digits(data, "ShortCode", PARTY_B)
    if shortcode not in sim.shortcodes:
        raise _invalid("ShortCode")
    if data.get("CommandID") not in TRANSACTION_TYPES:
        raise _invalid("CommandID")
    amount = _amount(data)
    msisdn = _digits(data, "Msisdn", MSISDN)
    bill_ref = data.get("BillRefNumber") or ""
    if not isinstance(bill_ref, str) or len(bill_ref) > 20:
        raise _invalid("BillRefNumber")
    sim.spawn(sim.c2b_pay(shortcode, bill_ref, amount, msisdn))
    return SimResponse(
        200,
        {
            "OriginatorCoversationID": sim.ids.hex_id(),
            "ResponseCode": "0",
            "ResponseDescription": "Accept the service request successfully.",
        },
    )
