"""M-Pesa's evidence (:mod:`payments.evidence`): the phone that paid and the time, from an STK callback or a C2B
confirmation; the payer's name from a Paybill or Till payment. An STK Query's answer carries no phone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from payments.base import InvalidCallback
from payments.evidence import Evidence
from payments.mpesa.wire import Payer, parse_c2b, parse_stk_callback


def read(raw: Mapping[str, Any], told: Evidence) -> Evidence:
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
