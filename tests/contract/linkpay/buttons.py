"""LinkPay's own button kind, answered by its chat step (``chat.py``): registered after import, it still reaches
the customer's routes, which read every provider's buttons from the registry when one is pressed."""

from __future__ import annotations

from dataclasses import dataclass

from core.callbacks import CallbackData


@dataclass(frozen=True)
class LinkStatus(CallbackData, prefix="lpstat"):
    """Where the order's LinkPay payment stands, asked from its started message."""

    order_id: int
