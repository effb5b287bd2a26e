"""What a tax authority gave a sale (an eTIMS invoice, for one), printed on its receipt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class FiscalStamp:
    authority: str  # who stamped it, as printed: "KRA eTIMS"
    invoice_number: str  # the control unit's invoice number
    control_unit: str  # the control unit's id (device serial)
    signature: str  # the receipt signature the authority returned
    qr_payload: str  # the text the receipt's QR code encodes
    signed_at: datetime  # UTC


class FiscalStamps(Protocol):
    async def for_order(self, session: AsyncSession, tenant_id: int, order_id: int) -> FiscalStamp | None: ...


class NoFiscalStamps:
    async def for_order(self, session: AsyncSession, tenant_id: int, order_id: int) -> FiscalStamp | None:
        return None
