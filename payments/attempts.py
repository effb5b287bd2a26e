"""Opening a payment attempt for an order. Each attempt has its own reference; a retry is a new attempt."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.db.tables import Order, Payment
from payments.states import PaymentStatus


def new_reference() -> str:
    """Letters and digits only: acceptable to every provider's reference rules."""
    return "dk" + secrets.token_hex(10)


async def open_payment(
    session: AsyncSession,
    order: Order,
    provider: str,
    status: PaymentStatus,
    now: datetime,
    *,
    expires_at: datetime | None = None,
    callback_token: str | None = None,
) -> Payment:
    payment = Payment(
        tenant_id=order.tenant_id,
        order_id=order.id,
        provider=provider,
        reference=new_reference(),
        status=status.value,
        amount_minor=order.total_minor,
        currency=order.currency,
        refunded_minor=0,
        is_test=order.is_test,
        expires_at=expires_at,
        callback_token=callback_token,
        created_at=now,
        updated_at=now,
    )
    session.add(payment)
    await session.flush()
    return payment
