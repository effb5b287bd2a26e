"""A stand-in for a fiscal integration (eTIMS): the stamps it would have given, per order id."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.fiscal_stamp import FiscalStamp

STAMP = FiscalStamp(
    authority="KRA eTIMS",
    invoice_number="0042/17",
    control_unit="KRACU0100000001",
    signature="V5ZA-3QJ2-ZC6B-QLRM",
    qr_payload="https://etims-sbx.kra.go.ke/common/link/etims/receipt/indexEtimsReceiptData?Data=P051234567X00V5ZA",
    signed_at=datetime(2026, 1, 15, 9, 5, tzinfo=UTC),
)


class FixedStamps:
    """Implements ``core.fiscal_stamp.FiscalStamps`` with the stamps given."""

    def __init__(self, stamps: dict[int, FiscalStamp]) -> None:
        self.stamps = stamps

    async def for_order(self, session: AsyncSession, tenant_id: int, order_id: int) -> FiscalStamp | None:
        return self.stamps.get(order_id)
