"""What a shop's receipts print about it (``dukabot tenant receipt``): its address, its tax id (a KRA PIN in Kenya),
and its VAT: the rate, and whether its prices include it (``admin.receipt_pdf`` works the VAT out)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from admin.shops.errors import ShopError
from core.db.config_version import stamp
from core.db.tables import AuditEntry, Tenant

__all__ = ["ReceiptDetails", "parse_vat_rate", "set_receipt_details"]

MAX_ADDRESS = 300
_TAX_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./-]{0,39}")


@dataclass(frozen=True, slots=True)
class ReceiptDetails:
    address: str | None
    tax_id: str | None
    vat_rate_bp: int | None  # included in the shop's prices


def parse_vat_rate(words: str) -> int | None:
    """``16`` or ``12.5`` (percent) as basis points; ``0`` or ``""``: no VAT (None)."""
    try:
        percent = Decimal(words.strip().rstrip("%") or "0")
    except InvalidOperation:
        raise ShopError(f"not a VAT rate: {words[:20]!r} (a percentage such as 16)") from None
    if not percent.is_finite() or not 0 <= percent < 100 or percent.scaleb(2) != percent.scaleb(2).to_integral():
        raise ShopError(f"not a VAT rate: {words[:20]!r} (a percentage from 0 to 99.99, such as 16)")
    return int(percent.scaleb(2)) or None


async def set_receipt_details(
    session: AsyncSession,
    slug: str,
    *,
    address: str | None = None,
    tax_id: str | None = None,
    vat_rate: str | None = None,
    now: datetime,
) -> ReceiptDetails:
    """Change what is given (None: leave it; "" clears the address or the tax id, and a VAT rate of 0 means no VAT).
    Bad input raises ShopError and changes nothing."""
    wanted: dict[str, object] = {}
    if address is not None:
        cleaned = "\n".join(line.strip() for line in address.replace("\\n", "\n").splitlines() if line.strip())
        if len(cleaned) > MAX_ADDRESS:
            raise ShopError(f"the address is too long: {MAX_ADDRESS} characters at most")
        wanted["address"] = cleaned or None
    if tax_id is not None:
        tax_id = tax_id.strip().upper()
        if tax_id and not _TAX_ID.fullmatch(tax_id):
            raise ShopError(f"not a tax id: {tax_id[:40]!r} (letters and digits, such as P051234567X)")
        wanted["tax_id"] = tax_id or None
    if vat_rate is not None:
        wanted["vat_rate_bp"] = parse_vat_rate(vat_rate)
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug).with_for_update())
    if tenant is None:
        raise ShopError(f"no shop with slug {slug[:60]!r}")
    changes = {key: [getattr(tenant, key), value] for key, value in wanted.items() if getattr(tenant, key) != value}
    for key, (_, value) in changes.items():
        setattr(tenant, key, value)
    if changes:
        await stamp(session, [tenant.id])
        session.add(
            AuditEntry(
                tenant_id=tenant.id,
                actor_tg_id=None,  # the operator
                action="tenant.receipt",
                target=tenant.slug,
                allowed=True,
                details={key: [str(old), str(new)] for key, (old, new) in changes.items()},
                at=now,
            )
        )
        await session.flush()
    return ReceiptDetails(tenant.address, tenant.tax_id, tenant.vat_rate_bp)
