"""Daraja's C2B messages (Paybill and Till payments the customer starts): the validation and confirmation
notifications, the answers we send back to them, and the Register URL answer.

Pure (no I/O), tolerant as the rest of :mod:`payments.mpesa.wire`, which re-exports every name here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.money import Money
from payments.mpesa.codes import C2B_ACCEPT, C2BRejectCode
from payments.mpesa.fields import (
    Body,
    Payer,
    code_field,
    get,
    load_json,
    optional_amount,
    parse_amount,
    parse_time,
    text_field,
)


def normalise_bill_ref(text: str) -> str:
    """How typed account numbers are compared: upper case, without spaces, dashes and underscores."""
    return re.sub(r"[\s\-_]", "", text).upper()


@dataclass(frozen=True, slots=True)
class C2BPayment:
    """A C2B validation or confirmation body (§A.5.3): string amounts, an MSISDN that is usually not plain."""

    transaction_type: str
    trans_id: str
    trans_time: datetime | None
    amount: Decimal
    business_shortcode: str
    bill_ref_number: str
    invoice_number: str
    org_account_balance: Decimal | None
    third_party_trans_id: str
    payer: Payer | None
    first_name: str
    middle_name: str
    last_name: str
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def account(self) -> str:
        return normalise_bill_ref(self.bill_ref_number)

    def amount_money(self) -> Money:
        return Money.from_major(self.amount, "KES")


def parse_c2b(body: Body) -> C2BPayment:
    what = "c2b notification"
    data = load_json(body, what)
    trans_time = get(data, "TransTime")

    def text(name: str) -> str:
        return text_field(data, name, what, required=False)

    return C2BPayment(
        transaction_type=text("TransactionType"),
        trans_id=text_field(data, "TransID", what),
        trans_time=None if trans_time in (None, "") else parse_time(trans_time, f"{what}: TransTime"),
        amount=parse_amount(get(data, "TransAmount"), f"{what}: TransAmount"),
        business_shortcode=text_field(data, "BusinessShortCode", what),
        bill_ref_number=text("BillRefNumber"),
        invoice_number=text("InvoiceNumber"),
        org_account_balance=optional_amount(get(data, "OrgAccountBalance"), f"{what}: OrgAccountBalance"),
        third_party_trans_id=text("ThirdPartyTransID"),
        payer=Payer.parse(get(data, "MSISDN")),
        first_name=text("FirstName"),
        middle_name=text("MiddleName"),
        last_name=text("LastName"),
        raw=data,
    )


def c2b_accept(third_party_trans_id: str | None = None) -> dict[str, str]:
    """Validation answer that lets the payment through; ThirdPartyTransID comes back in the confirmation."""
    answer = {"ResultCode": C2B_ACCEPT, "ResultDesc": "Accepted"}
    if third_party_trans_id:
        answer["ThirdPartyTransID"] = third_party_trans_id
    return answer


def c2b_reject(code: C2BRejectCode | str = C2BRejectCode.OTHER) -> dict[str, str]:
    """Validation answer that refuses the payment (``C2B00011`` .. ``C2B00016``)."""
    return {"ResultCode": C2BRejectCode(code).value, "ResultDesc": "Rejected"}


def c2b_confirmation_ack() -> dict[str, Any]:
    """Confirmation acknowledgement; ResultCode is always 0."""
    return {"ResultCode": 0, "ResultDesc": "Success"}


@dataclass(frozen=True, slots=True)
class C2BValidationAnswer:
    accepted: bool
    result_code: str
    third_party_trans_id: str = ""


def parse_c2b_validation_answer(body: Body) -> C2BValidationAnswer:
    """What a validation URL answered: ResultCode ``"0"`` or ``0`` accepts, anything else rejects."""
    what = "c2b validation answer"
    data = load_json(body, what)
    code = code_field(data, "ResultCode", what)
    accepted = code.isdecimal() and int(code) == 0
    return C2BValidationAnswer(accepted, code, text_field(data, "ThirdPartyTransID", what, required=False))


@dataclass(frozen=True, slots=True)
class RegisterUrlResponse:
    originator_conversation_id: str
    response_code: str
    response_description: str


def parse_register_url_response(body: Body) -> RegisterUrlResponse:
    """The Register URL answer; Daraja spells the key ``OriginatorCoversationID`` (both spellings read)."""
    what = "register url response"
    data = load_json(body, what)
    conversation = get(data, "OriginatorCoversationID") or get(data, "OriginatorConversationID") or ""
    return RegisterUrlResponse(
        str(conversation),
        code_field(data, "ResponseCode", what),
        text_field(data, "ResponseDescription", what, required=False),
    )
