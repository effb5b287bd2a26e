"""The simulator's C2B payments: a customer pays a Paybill or Till from the phone (``sim.c2b_pay``), and the
simulator calls the shortcode's registered URLs as Daraja does: validation first when the shortcode has external
validation (its answer, or ``ResponseType`` when there is none, decides), then the confirmation.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core.money import Money
from payments.base import InvalidCallback
from payments.mpesa.fields import hash_msisdn, mask_msisdn, timestamp
from payments.mpesa.wire import parse_c2b_validation_answer
from sandbox.mpesa.models import C2BResult, CallbackRecord, LedgerEntry, PhoneFormat

if TYPE_CHECKING:
    from sandbox.mpesa.simulator import DarajaSimulator


async def pay(
    sim: DarajaSimulator,
    shortcode: str,
    bill_ref: str,
    amount: int | Decimal | Money,
    msisdn: str,
    *,
    msisdn_format: PhoneFormat = "hashed",
    first_name: str = "JOHN",
    middle_name: str = "",
    last_name: str = "",
) -> C2BResult:
    """A customer pays ``shortcode`` from the phone: validation (if registered and enabled), then
    confirmation, with the reference's body shape. Without registered URLs the payment completes silently."""
    code = sim.shortcodes.get(shortcode)
    if code is None:
        raise ValueError(f"unknown shortcode {shortcode}")
    value = amount.major() if isinstance(amount, Money) else Decimal(amount)
    trans_id = sim.ids.receipt()
    payer = {"plain": msisdn, "string": msisdn, "masked": mask_msisdn(msisdn), "hashed": hash_msisdn(msisdn)}
    body: dict[str, Any] = {
        "TransactionType": "Pay Bill" if bill_ref else "Buy Goods",
        "TransID": trans_id,
        "TransTime": timestamp(sim.clock.now()),
        "TransAmount": f"{value:.2f}",
        "BusinessShortCode": shortcode,
        "BillRefNumber": bill_ref,
        "InvoiceNumber": "",
        "OrgAccountBalance": "",
        "ThirdPartyTransID": "",
        "MSISDN": payer[msisdn_format],
        "FirstName": first_name,
        "MiddleName": middle_name,
        "LastName": last_name,
    }
    result = C2BResult(trans_id, accepted=True)
    sim.c2b_results.append(result)
    urls = code.urls
    if urls is not None and code.external_validation and urls.validation_url:
        result.validation = await sim.deliver(
            "c2b_validation", urls.validation_url, dict(body), trans_id, sim.validation_timeout
        )
        result.accepted, result.result_code = _validation_verdict(result.validation, urls.response_type)
        if not result.accepted:
            return result
        if result.validation.delivered:
            answer = parse_c2b_validation_answer(result.validation.response)
            body["ThirdPartyTransID"] = answer.third_party_trans_id
    code.balance += value
    body["OrgAccountBalance"] = f"{code.balance:.2f}"
    sim.ledger[trans_id] = LedgerEntry(trans_id, shortcode, value, msisdn, first_name, "c2b", sim.clock.now())
    if urls is not None:
        result.confirmation = await sim.deliver("c2b_confirmation", urls.confirmation_url, body, trans_id)
    return result


def _validation_verdict(record: CallbackRecord, response_type: str) -> tuple[bool, str]:
    if record.delivered:
        try:
            answer = parse_c2b_validation_answer(record.response)
            return answer.accepted, answer.result_code
        except InvalidCallback:  # an unreadable answer counts as no answer
            pass
    # The validation URL could not be reached or answered nonsense: ResponseType decides (§A.5.1).
    return response_type == "Completed", "0" if response_type == "Completed" else "C2B00016"
