"""Daraja's pause between two STK pushes to one phone, and when the next push may go.

Daraja refuses a push to a subscriber within about a minute of the last one ("Unable to lock subscriber"), and
longer after some results ("subscriber busy", "rule limited"): the pause belongs to the phone, whichever customer or
order pushed to it last. Each push keeps its phone (``Payment.phone``) so the pause is kept the same way.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import utc
from core.db.tables import Payment, PaymentEvent
from payments.mpesa.codes import SUBSCRIBER_LOCK, result_info


def result_code(raw: dict[str, Any]) -> str | None:
    """The ``ResultCode`` of an STK callback or query as stored on its event; None for our own events."""
    body = raw.get("Body")
    callback = body.get("stkCallback") if isinstance(body, dict) else None
    code = callback.get("ResultCode") if isinstance(callback, dict) else raw.get("ResultCode")
    return None if code is None else str(code).strip()


async def last_result_code(session: AsyncSession, payment_id: int) -> str | None:
    """The result code that ended a push, from its latest answer that was not "still waiting"."""
    raw = await session.scalar(
        select(PaymentEvent.raw)
        .where(PaymentEvent.payment_id == payment_id, PaymentEvent.outcome != "pending")
        .order_by(PaymentEvent.id.desc())
        .limit(1)
    )
    return result_code(dict(raw)) if isinstance(raw, dict) else None


def next_push_after(push: Payment, code: str | None) -> datetime:
    """When the phone of ``push`` may get another push, given the result ``code`` that ended it (if any)."""
    wait = SUBSCRIBER_LOCK
    if code is not None and not code.startswith("mpesa."):
        wait = max(wait, result_info(code).wait)
    return utc(push.created_at) + wait


async def earliest_push(session: AsyncSession, tenant_id: int, phone: str) -> datetime | None:
    """Not before: the end of the pause that the latest push to ``phone`` (E.164) started; None when none did."""
    last = await session.scalar(
        select(Payment)
        .where(
            Payment.tenant_id == tenant_id,
            Payment.provider == "mpesa",  # the provider's name (provider.py imports this module's users)
            Payment.phone == phone,
            Payment.callback_token.is_not(None),
            Payment.provider_ref.is_not(None),  # Daraja took it: a push refused at the start locks no phone
        )
        .order_by(Payment.id.desc())
        .limit(1)
    )
    if last is None:
        return None
    return next_push_after(last, await last_result_code(session, last.id))


def seconds_until(moment: datetime, now: datetime) -> int:
    """Whole seconds left, rounded up, so that "try again in N seconds" is never too early."""
    return max(1, math.ceil((moment - now) / timedelta(seconds=1)))
