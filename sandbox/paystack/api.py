"""The simulator's Paystack API: initialize, verify, refund create/list/fetch over a ``Ledger``.

Answers use Paystack's envelopes, HTTP codes and messages (reference B.1, B.2, B.4, B.6). Messages the
reference does not give are marked "simulator's wording" below.
"""

from __future__ import annotations

import itertools
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from payments.paystack.limits import MAXIMUM_SUBUNITS, MINIMUM_SUBUNITS
from payments.paystack.reference import ALLOWED as REFERENCE_ALLOWED
from sandbox.paystack.checkout import CHECKOUT_PREFIX
from sandbox.paystack.state import (
    Merchant,
    SimRefund,
    SimRequest,
    SimResponse,
    SimTransaction,
    failure,
    random_code,
    request_body,
    validation_error,
    whole_number,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INVALID_AMOUNT_STEP = (
    "Ensure that you're passing your amount correctly. It should be a number greater than zero, with no decimal places"
)
_DUPLICATE_STEP = "Try and create the Transaction or Charge with a new reference"


@dataclass
class Ledger:
    """Everything the simulated Paystack knows, per merchant (secret key)."""

    merchants: dict[str, Merchant] = field(default_factory=dict)
    transactions: dict[tuple[str, str], SimTransaction] = field(default_factory=dict)  # (key, reference)
    by_access_code: dict[str, SimTransaction] = field(default_factory=dict)
    refunds: dict[int, SimRefund] = field(default_factory=dict)
    integration_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(412829))
    transaction_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(4099260516))
    refund_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(3018284))

    def authenticate(self, request: SimRequest) -> Merchant | None:
        scheme, _, key = request.headers.get("authorization", "").strip().partition(" ")
        return self.merchants.get(key.strip()) if scheme.lower() == "bearer" else None

    def find(self, merchant: Merchant, target: Any) -> SimTransaction | None:
        """A merchant's transaction by reference or by id."""
        if isinstance(target, str) and (merchant.secret_key, target) in self.transactions:
            return self.transactions[(merchant.secret_key, target)]
        ident = whole_number(target)
        mine = (t for t in self.transactions.values() if t.merchant is merchant and t.id == ident)
        return next(mine, None)


def initialize(ledger: Ledger, merchant: Merchant, request: SimRequest, now: datetime) -> SimResponse:
    body = request_body(request)
    if body is None:
        return failure(400, "Invalid request body")  # simulator's wording
    email = body.get("email")
    if not isinstance(email, str) or not email.strip():
        return failure(400, "Email is not allowed to be empty")
    if not _EMAIL.match(email.strip()):
        return failure(400, "Invalid Email Address Passed")
    amount = whole_number(body.get("amount"))
    currency = str(body.get("currency") or merchant.currency).upper()
    if currency not in MINIMUM_SUBUNITS:
        return failure(400, "Currency not supported by merchant")  # simulator's wording
    if amount is None or amount <= 0 or amount < MINIMUM_SUBUNITS[currency]:
        # Paystack's answer to a bad amount, as integrators report it; the reference has no below-minimum text.
        return validation_error("Invalid Amount Sent", "invalid_amount", _INVALID_AMOUNT_STEP)
    if amount > MAXIMUM_SUBUNITS:
        return failure(400, "Transaction amount limit exceeded")
    reference = body.get("reference") or random_code(10)
    if not isinstance(reference, str) or not REFERENCE_ALLOWED.match(reference):
        return failure(400, "Invalid character in transaction reference")
    if (merchant.secret_key, reference) in ledger.transactions:
        return validation_error("Duplicate Transaction Reference", "duplicate_reference", _DUPLICATE_STEP)
    channels = body.get("channels")
    if channels is not None and not (isinstance(channels, list) and all(isinstance(c, str) for c in channels)):
        return failure(400, "Channels must be an array of strings")  # simulator's wording
    callback_url = body.get("callback_url")
    txn = SimTransaction(
        id=next(ledger.transaction_ids),
        merchant=merchant,
        reference=reference,
        access_code=random_code(15),
        amount=amount,
        currency=currency,
        email=email.strip(),
        created_at=now,
        callback_url=callback_url if isinstance(callback_url, str) and callback_url else None,
        metadata=body.get("metadata"),
        channels=channels,
    )
    ledger.transactions[(merchant.secret_key, reference)] = txn
    ledger.by_access_code[txn.access_code] = txn
    data = {
        "authorization_url": f"{request.origin}{CHECKOUT_PREFIX}{txn.access_code}",
        "access_code": txn.access_code,
        "reference": reference,
    }
    return SimResponse.json(200, {"status": True, "message": "Authorization URL created", "data": data})


def verify(ledger: Ledger, merchant: Merchant, reference: str, *, not_found_status: int) -> SimResponse:
    txn = ledger.transactions.get((merchant.secret_key, reference))
    if txn is None:
        return failure(not_found_status, "Transaction reference not found")
    return SimResponse.json(200, {"status": True, "message": "Verification successful", "data": txn.data()})


def create_refund(
    ledger: Ledger, merchant: Merchant, request: SimRequest, now: datetime
) -> tuple[SimResponse, SimRefund | None]:
    """A new pending refund (and the answer), or a refusal. Wording of refusals is the simulator's own."""
    body = request_body(request)
    if body is None:
        return failure(400, "Invalid request body"), None
    txn = ledger.find(merchant, body.get("transaction"))
    if txn is None:
        return failure(404, "Transaction not found"), None
    if txn.status == "reversed":
        return failure(400, "Transaction has been fully reversed"), None
    if txn.status != "success":
        return failure(400, "Cannot refund a transaction that has not been completed"), None
    open_refunds = (r for r in ledger.refunds.values() if r.transaction is txn)
    in_flight = sum(r.amount for r in open_refunds if r.status not in {"processed", "failed"})
    remaining = txn.amount - txn.refunded - in_flight
    amount = remaining if body.get("amount") in (None, "") else whole_number(body.get("amount"))
    if amount is None or amount <= 0:
        return validation_error("Invalid Amount Sent", "invalid_amount", _INVALID_AMOUNT_STEP), None
    if amount > remaining:
        return failure(400, "Refund amount cannot be more than the unrefunded amount of the transaction"), None
    currency = body.get("currency")
    if currency not in (None, "") and str(currency).upper() != txn.currency:
        return failure(400, "Currency does not match the transaction's currency"), None
    notes = {k: v for k in ("customer_note", "merchant_note") if isinstance(v := body.get(k), str) and v}
    refund = SimRefund(
        id=next(ledger.refund_ids),
        transaction=txn,
        amount=amount,
        currency=txn.currency,
        status="pending",
        created_at=now,
        updated_at=now,
        refund_reference="".join(secrets.choice("0123456789") for _ in range(12)),
        **notes,
    )
    ledger.refunds[refund.id] = refund
    message = "Refund has been queued for processing"
    return SimResponse.json(200, {"status": True, "message": message, "data": refund.data()}), refund


def list_refunds(ledger: Ledger, merchant: Merchant, request: SimRequest) -> SimResponse:
    mine = [r for r in ledger.refunds.values() if r.transaction.merchant is merchant]
    per_page = max(1, whole_number(request.query.get("perPage")) or 50)
    page = max(1, whole_number(request.query.get("page")) or 1)
    rows = [r.data() for r in mine[(page - 1) * per_page : page * per_page]]
    meta = {
        "total": len(mine),
        "skipped": (page - 1) * per_page,
        "perPage": per_page,
        "page": page,
        "pageCount": max(1, -(-len(mine) // per_page)),
    }
    return SimResponse.json(200, {"status": True, "message": "Refunds retrieved", "data": rows, "meta": meta})


def fetch_refund(ledger: Ledger, merchant: Merchant, ident: str) -> SimResponse:
    refund = ledger.refunds.get(int(ident)) if ident.isdigit() else None
    if refund is None or refund.transaction.merchant is not merchant:
        return failure(404, "Refund not found")
    return SimResponse.json(200, {"status": True, "message": "Refund retrieved", "data": refund.data()})
