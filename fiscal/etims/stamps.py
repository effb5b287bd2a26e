"""What an order's eTIMS invoice prints on its receipt (``core.fiscal_stamp``), and the doctor's line."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import utc
from core.db.tables import FiscalDocument, Product, Tenant
from core.fiscal_stamp import FiscalStamp
from fiscal import devices
from fiscal.contract import FiscalKit
from fiscal.etims.settings import EtimsSetup

AUTHORITY = "KRA eTIMS"


class EtimsStamps:
    async def for_order(self, session: AsyncSession, tenant_id: int, order_id: int) -> FiscalStamp | None:
        """The order's signed sales invoice (the first, should there be two payments), or None."""
        found = await session.scalar(
            select(FiscalDocument)
            .where(
                FiscalDocument.tenant_id == tenant_id,
                FiscalDocument.order_id == order_id,
                FiscalDocument.kind == "sale",
                FiscalDocument.status == devices.SUBMITTED,
            )
            .order_by(FiscalDocument.number)
            .limit(1)
        )
        if found is None or found.signature is None or found.signed_at is None:
            return None
        return FiscalStamp(
            AUTHORITY,
            found.receipt_number or str(found.number),
            found.control_unit or "",
            found.signature,
            found.qr_payload or "",
            utc(found.signed_at),
        )


async def check(kit: FiscalKit, session: AsyncSession, tenant: Tenant) -> str:
    """The doctor's line: settings readable and complete, the host, the key, products KRA could not classify."""
    device = await devices.device(session, tenant.id, "etims")
    if device is None:
        raise ValueError("not configured")
    setup = EtimsSetup.parse(devices.stored_values(device, kit.vault, EtimsSetup))
    assert isinstance(setup, EtimsSetup)
    if setup.default_item_class is None:
        missing = await session.scalar(
            select(func.count()).where(
                Product.tenant_id == tenant.id, Product.active.is_(True), Product.item_class.is_(None)
            )
        )
        if missing:
            raise ValueError(
                f"{missing} product(s) without an item classification: add the catalog column item_class, "
                f"or set --option default_item_class=CODE"
            )
    key = (
        "communication key issued"
        if devices.stored_values(device, kit.vault, EtimsSetup).get("cmc_key")
        else ("device initialised on the first submission")
    )
    return (
        f"{setup.kra_pin} branch {setup.branch_id}, device {setup.device_serial}; {setup.host(tenant.test_mode)}; {key}"
    )
