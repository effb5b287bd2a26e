"""The simulator's Transaction Status (see :mod:`payments.mpesa.status` for the wire format and its sources).

A request is checked like Daraja's others (bearer token of an app with the ``transaction_status`` product, JSON,
field rules); it is accepted at once with ``{OriginatorConversationID, ConversationID, ResponseCode: "0", ...}`` and
its result is POSTed to ``ResultURL`` afterwards: ``Completed`` with ``ReceiptNo``, ``Amount`` and the parties when
the receipt is money this shortcode received (an STK or a C2B payment of the simulator), ResultCode 2001 when the
initiator name or credential is wrong, and otherwise a failure (the code Daraja uses for an unknown receipt is not
documented; the simulator says ``2032``, "The transaction does not exist" [UNCONFIRMED]).

``sim.hold_status_results = True`` keeps results until ``await sim.answer_status(conversation_id)`` (or
``sim.status_timeout(conversation_id)`` posts to ``QueueTimeOutURL`` instead).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from payments.mpesa.fields import has_forbidden_word, mask_msisdn, timestamp
from payments.mpesa.status import COMMAND_ID, REMARKS_MAX, SHORTCODE_IDENTIFIER
from sandbox.mpesa.models import SimResponse, StatusRequest
from sandbox.mpesa.rules import Refusal

if TYPE_CHECKING:
    from sandbox.mpesa.simulator import DarajaSimulator

ACCEPTED = "Accept the service request successfully."
PROCESSED = "The service request is processed successfully."
INVALID_INITIATOR = (2001, "The initiator information is invalid.")
NO_SUCH_TRANSACTION = (2032, "The transaction does not exist.")  # [UNCONFIRMED]: not documented by Safaricom
TIMED_OUT = ("SVC0001", "The request timed out in the queue.")  # [UNCONFIRMED]


def _invalid(name: str) -> Refusal:
    return Refusal(400, "400.002.02", f"Bad Request - Invalid {name}")


def _field(data: Mapping[str, Any], name: str, pattern: str) -> str:
    value = data.get(name)
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not re.fullmatch(pattern, text.strip()):
        raise _invalid(name)
    return text.strip()


def _url(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.startswith(("http://", "https://")) or has_forbidden_word(value):
        raise _invalid(name)
    return value


def accept(sim: DarajaSimulator, data: Mapping[str, Any]) -> SimResponse:
    """``POST /mpesa/transactionstatus/v1/query``: validate, accept, and schedule the result."""
    initiator = _field(data, "Initiator", r"[A-Za-z0-9._-]{1,64}")
    credential = data.get("SecurityCredential")
    if not isinstance(credential, str) or not credential.strip():
        raise _invalid("SecurityCredential")
    if data.get("CommandID") != COMMAND_ID:
        raise _invalid("CommandID")
    receipt = _field(data, "TransactionID", r"[A-Za-z0-9]{6,20}").upper()
    shortcode = _field(data, "PartyA", r"\d{5,9}")
    if _field(data, "IdentifierType", r"\d{1,2}") != SHORTCODE_IDENTIFIER:
        raise _invalid("IdentifierType")
    result_url, timeout_url = _url(data, "ResultURL"), _url(data, "QueueTimeOutURL")
    remarks = data.get("Remarks")
    if not isinstance(remarks, str) or not remarks.strip() or len(remarks) > REMARKS_MAX:
        raise _invalid("Remarks")
    occasion = data.get("Occasion") or ""
    if not isinstance(occasion, str) or len(occasion) > REMARKS_MAX:
        raise _invalid("Occasion")
    code = sim.shortcodes.get(shortcode)
    if code is None:
        raise _invalid("PartyA")
    request = StatusRequest(
        originator_conversation_id=sim.ids.hex_id(),
        conversation_id=f"AG_{sim.nairobi_now():%Y%m%d}_{sim.ids.hex_id().replace('-', '')[:20]}",
        receipt=receipt,
        shortcode=shortcode,
        initiator_valid=code.initiators.get(initiator) == credential,
        result_url=result_url,
        timeout_url=timeout_url,
        occasion=occasion,
    )
    sim.status_requests[request.conversation_id] = request
    if not sim.hold_status_results:
        sim.spawn(sim.answer_status(request.conversation_id))
    return SimResponse(
        200,
        {
            "OriginatorConversationID": request.originator_conversation_id,
            "ConversationID": request.conversation_id,
            "ResponseCode": "0",
            "ResponseDescription": ACCEPTED,
        },
    )


def result_body(sim: DarajaSimulator, request: StatusRequest, *, timed_out: bool = False) -> dict[str, Any]:
    """The body Daraja posts for ``request`` (tests replay or forge it)."""
    entry = sim.ledger.get(request.receipt)
    known = entry is not None and entry.shortcode == request.shortcode
    code: int | str
    if timed_out:
        code, desc = TIMED_OUT
    elif not request.initiator_valid:
        code, desc = INVALID_INITIATOR
    elif not known:
        code, desc = NO_SUCH_TRANSACTION
    else:
        code, desc = 0, PROCESSED
    reference: dict[str, Any] = {"Key": "Occasion"}
    if request.occasion:
        reference["Value"] = request.occasion
    result: dict[str, Any] = {
        "ConversationID": request.conversation_id,
        "OriginatorConversationID": request.originator_conversation_id,
        "ReferenceData": {"ReferenceItem": reference},
        "ResultCode": code,
        "ResultDesc": desc,
        "ResultType": 0,
        "TransactionID": sim.ids.receipt(),
    }
    if code == 0 and entry is not None:
        at = timestamp(entry.at)
        result["ResultParameters"] = {
            "ResultParameter": [
                {"Key": "DebitPartyName", "Value": f"{mask_msisdn(entry.msisdn)} - {entry.first_name}"},
                {"Key": "CreditPartyName", "Value": f"{entry.shortcode} - Simulated Shop"},
                {"Key": "OriginatorConversationID", "Value": request.originator_conversation_id},
                {"Key": "InitiatedTime", "Value": at},
                {"Key": "DebitAccountType", "Value": "MMF Account For Customer"},
                {"Key": "DebitPartyCharges"},
                {"Key": "TransactionReason"},
                {"Key": "ReasonType", "Value": "Pay Bill Online" if entry.kind == "c2b" else "Lipa na M-Pesa Online"},
                {"Key": "TransactionStatus", "Value": "Completed"},
                {"Key": "FinalisedTime", "Value": at},
                {"Key": "Amount", "Value": f"{entry.amount:.2f}"},
                {"Key": "ConversationID", "Value": request.conversation_id},
                {"Key": "ReceiptNo", "Value": entry.receipt},
            ]
        }
    return {"Result": result}
