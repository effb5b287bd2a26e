"""Paystack's evidence (:mod:`payments.evidence`): when the money moved and the channel the customer paid by, from
the transaction (Verify's answer, or the webhook it confirmed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from payments.base import InvalidCallback
from payments.evidence import Evidence
from payments.paystack.wire import parse_transaction


def read(raw: Mapping[str, Any], told: Evidence) -> Evidence:
    # A webhook confirmed by Verify ({"webhook": body, "verify": transaction}), a webhook's body, or Verify's answer.
    if "webhook" in raw or "verify" in raw:
        raw = raw.get("verify") or raw.get("webhook") or {}
    data = raw.get("data") if "event" in raw else raw
    try:
        transaction = parse_transaction(data)
    except (InvalidCallback, ValueError):
        return told
    return Evidence(told.receipt, None, None, told.amount, transaction.paid_at or told.at, transaction.channel)
