"""FeexPay's own button kinds, answered by its chat step (``payments.feexpay.chat``). Each leads with its order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from core.callbacks import CallbackData, MaxBytes


@dataclass(frozen=True)
class SendRequest(CallbackData, prefix="fxsend"):
    """Send the request-to-pay to the proposed phone on ``network`` (FeexPay's code: the customer's correction of
    the prefix's guess is a press of another network's button)."""

    order_id: int
    network: Annotated[str, MaxBytes(16)]


@dataclass(frozen=True)
class OtherNumber(CallbackData, prefix="fxphone"):
    order_id: int
