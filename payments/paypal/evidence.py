"""PayPal's evidence (:mod:`payments.evidence`): the capture id PayPal's statement shows, when the capture happened,
and the order as PayPal told it (its description carries the conversion when the shop converts its currency)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from payments.base import InvalidCallback
from payments.evidence import Evidence
from payments.paypal.wire import parse_order


def read(raw: Mapping[str, Any], told: Evidence) -> Evidence:
    try:
        order = parse_order(raw.get("order") or {})
    except InvalidCallback:
        return told
    capture = order.capture
    if capture is None:
        return told
    return Evidence(capture.id, None, None, told.amount, capture.at or told.at, "paypal")
