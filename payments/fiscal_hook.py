"""What a sale owes a tax authority, written in the transaction of the change (an order paid, money refunded), as
a payment job for each of the shop's fiscal integrations (``fiscal/``).

Payments know no authority by name: the shop's rows of ``fiscal_devices`` say which integrations it has, and each
owes a job of kind ``fiscal.<authority>``, whose handler the integration registers (``fiscal.registry``). A shop
with none costs nothing. The job's dedupe key makes one change owe one document."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Final, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from core.db.tables import Tenant
from payments import jobs

JOB_PREFIX: Final = "fiscal."
Document = Literal["sale", "credit"]
_KEY_MAX: Final = 120


def job_kind(authority: str) -> str:
    return f"{JOB_PREFIX}{authority}"


async def owe_documents(
    session: AsyncSession,
    tenant: Tenant,
    *,
    document: Document,
    key: str,
    order_id: int,
    payment_id: int,
    amount_minor: int,
    currency: str,
    now: datetime,
) -> None:
    """Owe ``document`` (a sales invoice for an order paid, a credit note for money refunded) to every authority the
    shop reports to (``Tenant.fiscal_authorities``: no statement at all for a shop with none). ``key`` names the
    change (``paid:<payment>``, ``refund:<payment>:<event>``)."""
    authorities = [name for name in tenant.fiscal_authorities.split(",") if name]
    if not authorities:
        return
    if len(key) > _KEY_MAX:  # a provider's event key can be long: the job's and the document's keys have a limit
        key = hashlib.sha256(key.encode()).hexdigest()
    for authority in authorities:
        await jobs.enqueue(
            session,
            tenant_id=tenant.id,
            kind=job_kind(authority),
            dedupe_key=f"fiscal:{authority}:{document}:{key}",
            now=now,
            payment_id=payment_id,
            payload={
                "document": document,
                "key": f"{document}:{key}",
                "order_id": order_id,
                "amount_minor": amount_minor,
                "currency": currency,
            },
        )
