"""M-Pesa's own button kinds, answered by its chat step (``payments.mpesa.chat``). Each leads with its order."""

from __future__ import annotations

from dataclasses import dataclass

from core.callbacks import CallbackData


@dataclass(frozen=True)
class SendPush(CallbackData, prefix="mpsend"):
    """Push to the proposed phone: a typed yes presses it."""

    order_id: int
    answers = "yes"


@dataclass(frozen=True)
class OtherPhone(CallbackData, prefix="mpphone"):
    order_id: int


@dataclass(frozen=True)
class PushStatus(CallbackData, prefix="mpstat"):
    order_id: int


@dataclass(frozen=True)
class PushAgain(CallbackData, prefix="mpretry"):
    order_id: int


@dataclass(frozen=True)
class Paybill(CallbackData, prefix="mppb"):
    order_id: int
