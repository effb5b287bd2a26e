"""What a merchant checks a payment against on the provider's statement: the receipt number, the phone that paid,
the amount and the time, and for Paystack the channel.

None of it is kept in a column of its own: it is read back from the provider's payload recorded with the event that
brought the money (``payment_events.raw``), so the merchant sees what the provider said, not what we assumed (the
phone that paid can differ from the phone the customer gave). A payload that does not parse gives what it can.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.clock import utc
from core.db.tables import PaymentEvent
from core.money import Money
from payments.base import InvalidCallback, Outcome
from payments.mpesa.wire import Payer, parse_c2b, parse_stk_callback
from payments.paystack.wire import parse_transaction


@dataclass(frozen=True, slots=True)
class Evidence:
    receipt: str | None = None  # the M-Pesa receipt number, or the provider's transaction id
    phone: str | None = None  # the paying phone, E.164 ("+254708374149") or as masked by Daraja
    payer: str | None = None  # the payer's name, as a Paybill or Till payment carries it ("JOHN DOE")
    amount: Money | None = None
    at: datetime | None = None  # when the provider says the money moved (UTC); else when we heard of it
    channel: str | None = None  # Paystack's word for how the customer paid ("card", "mobile_money")


def money_event(events: list[PaymentEvent]) -> PaymentEvent | None:
    """The event that brought the payment's money: the last "paid" one that moved it or held it for review."""
    paid = [e for e in events if e.outcome == Outcome.PAID and e.result in ("applied", "needs_review")]
    return max(paid, key=lambda e: (utc(e.received_at), e.id)) if paid else None


def of(event: PaymentEvent) -> Evidence:
    amount = Money(event.amount_minor, event.currency) if event.amount_minor is not None and event.currency else None
    told = Evidence(receipt=event.provider_txn_id, amount=amount, at=utc(event.received_at))
    raw = event.raw if isinstance(event.raw, Mapping) else {}
    if event.provider == "mpesa":
        return _mpesa(raw, told)
    if event.provider == "paystack":
        return _paystack(raw, told)
    return told


def _mpesa(raw: Mapping[str, Any], told: Evidence) -> Evidence:
    try:
        if "Body" in raw:  # an STK callback
            callback = parse_stk_callback(raw)
            return _with(told, callback.phone, callback.transaction_date, None)
        if "TransID" in raw:  # a C2B (Paybill, Till) confirmation
            payment = parse_c2b(raw)
            name = " ".join(part for part in (payment.first_name, payment.middle_name, payment.last_name) if part)
            return _with(told, payment.payer, payment.trans_time, name or None)
    except (InvalidCallback, ValueError):
        pass
    return told  # an STK query's answer: it carries no phone


def _with(told: Evidence, payer: Payer | None, at: datetime | None, name: str | None) -> Evidence:
    phone = None
    if payer is not None and payer.kind == "msisdn":
        phone = "+" + payer.value
    elif payer is not None and payer.kind == "masked":
        phone = payer.value  # a hash tells a person nothing; a mask still tells the last digits
    return Evidence(told.receipt, phone, name, told.amount, at or told.at, told.channel)


def _paystack(raw: Mapping[str, Any], told: Evidence) -> Evidence:
    # A webhook confirmed by Verify ({"webhook": body, "verify": transaction}), a webhook's body, or Verify's answer.
    if "webhook" in raw or "verify" in raw:
        raw = raw.get("verify") or raw.get("webhook") or {}
    data = raw.get("data") if "event" in raw else raw
    try:
        transaction = parse_transaction(data)
    except (InvalidCallback, ValueError):
        return told
    return Evidence(told.receipt, None, None, told.amount, transaction.paid_at or told.at, transaction.channel)
