"""Daraja's Transaction Status API: the request, its synchronous acceptance and its asynchronous result.

providers.md has no section on it; this follows Safaricom's Transaction Status page
(``developer.safaricom.co.ke/apis/TransactionStatus``, read through the same scraped copy providers.md §0 names):

* ``POST /mpesa/transactionstatus/v1/query`` with ``Initiator``, ``SecurityCredential`` (the initiator's password
  encrypted with Safaricom's certificate), ``CommandID: "TransactionStatusQuery"``, ``TransactionID`` (the M-Pesa
  receipt), ``PartyA`` (the shortcode), ``IdentifierType: "4"`` (organisation shortcode), ``ResultURL``,
  ``QueueTimeOutURL``, ``Remarks`` (up to 100 characters) and ``Occasion`` (optional). [DOC]
  (The page's sample spells two keys ``"Command ID"`` and ``"Transaction ID"``; its parameter table and the official
  Postman collection say ``CommandID`` and ``TransactionID``, which is what we send.)
* The synchronous answer only accepts the request: ``{OriginatorConversationID, ConversationID, ResponseCode: "0",
  ResponseDescription}``. [DOC]
* The result is POSTed to ``ResultURL``: ``{"Result": {ResultType, ResultCode, ResultDesc, OriginatorConversationID,
  ConversationID, TransactionID, ResultParameters: {ResultParameter: [{Key, Value}, ...]}, ReferenceData}}``, the
  parameters holding ``ReceiptNo``, ``Amount``, ``TransactionStatus`` (``Completed``), ``DebitPartyName``,
  ``CreditPartyName``, ``InitiatedTime``, ``FinalisedTime``... [DOC] ``ResultCode`` is documented as a string and shown
  as the number ``0``: both are read. A key may come without ``Value``, and a one-item list as a bare object, as in
  the STK callback. [DOC] + [COMM]. What Daraja answers for a receipt that does not exist (or is another shortcode's)
  is not documented: any ``ResultCode`` but 0 means "not confirmed". [UNCONFIRMED]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from payments.base import InvalidCallback
from payments.mpesa.fields import code_field, get, load_json, optional_amount, text_field

PATH = "/mpesa/transactionstatus/v1/query"
COMMAND_ID = "TransactionStatusQuery"
SHORTCODE_IDENTIFIER = "4"
COMPLETED = "completed"
REMARKS_MAX = 100
_CODE = re.compile(r"[A-Za-z0-9_.]{1,20}")

Body = bytes | str | Mapping[str, Any]


def request_body(
    *, initiator: str, security_credential: str, receipt: str, shortcode: str, result_url: str, timeout_url: str
) -> dict[str, Any]:
    return {
        "Initiator": initiator,
        "SecurityCredential": security_credential,
        "CommandID": COMMAND_ID,
        "TransactionID": receipt,
        "PartyA": shortcode,
        "IdentifierType": SHORTCODE_IDENTIFIER,
        "ResultURL": result_url,
        "QueueTimeOutURL": timeout_url,
        "Remarks": "Receipt check",
        "Occasion": "",
    }


@dataclass(frozen=True, slots=True)
class StatusAccepted:
    originator_conversation_id: str
    conversation_id: str
    response_code: str
    response_description: str


def parse_accepted(body: Body) -> StatusAccepted:
    what = "transaction status response"
    data = load_json(body, what)
    return StatusAccepted(
        text_field(data, "OriginatorConversationID", what, required=False),
        text_field(data, "ConversationID", what, required=False),
        code_field(data, "ResponseCode", what),
        text_field(data, "ResponseDescription", what, required=False),
    )


@dataclass(frozen=True, slots=True)
class StatusResult:
    """What Daraja says about one receipt."""

    result_code: str
    result_desc: str
    transaction_id: str
    originator_conversation_id: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def receipt(self) -> str:
        value = self.parameters.get("ReceiptNo")
        return str(value).strip().upper() if value not in (None, "") else ""

    @property
    def amount(self) -> Decimal | None:
        try:
            return optional_amount(self.parameters.get("Amount"), "transaction status: Amount")
        except InvalidCallback:
            return None

    @property
    def status(self) -> str:
        return str(self.parameters.get("TransactionStatus") or "").strip()

    @property
    def credit_party(self) -> str:
        return str(self.parameters.get("CreditPartyName") or "").strip()


def _parameters(result: Mapping[str, Any], what: str) -> dict[str, Any]:
    holder = get(result, "ResultParameters")
    if holder in (None, ""):
        return {}
    if not isinstance(holder, Mapping):
        raise InvalidCallback(f"{what}: ResultParameters is not an object")
    items = get(holder, "ResultParameter")
    if items is None:
        return {}
    if isinstance(items, Mapping):
        items = [items]
    if not isinstance(items, list):
        raise InvalidCallback(f"{what}: ResultParameter is not a list")
    found: dict[str, Any] = {}
    for item in items:
        key = get(item, "Key") if isinstance(item, Mapping) else None
        if not isinstance(key, str):
            raise InvalidCallback(f"{what}: a ResultParameter without a Key")
        found.setdefault(key, get(item, "Value"))  # the page's own sample repeats DebitPartyName: the first counts
    return found


def parse_result(body: Body) -> StatusResult:
    """``{"Result": {...}}``; a body without a Result object or with a ResultCode that is no code is malformed."""
    what = "transaction status result"
    data = load_json(body, what)
    result = get(data, "Result")
    if not isinstance(result, Mapping):
        raise InvalidCallback(f"{what}: no Result object")
    code = code_field(result, "ResultCode", what)
    if not _CODE.fullmatch(code):
        raise InvalidCallback(f"{what}: ResultCode is not a result code")
    return StatusResult(
        result_code=str(int(code)) if code.isascii() and code.isdigit() else code,
        result_desc=text_field(result, "ResultDesc", what, required=False),
        transaction_id=text_field(result, "TransactionID", what, required=False),
        originator_conversation_id=text_field(result, "OriginatorConversationID", what, required=False),
        parameters=_parameters(result, what),
        raw=data,
    )
