"""What every online method shares: opening an attempt that the bot layer hands to the provider after commit."""

from __future__ import annotations

import secrets
from datetime import timedelta

from core.db.tables import Order, Payment
from flows.context import FlowContext
from payments.attempts import open_payment
from payments.states import PaymentStatus


async def open_online_payment(ctx: FlowContext, order: Order, provider: str) -> Payment:
    """A ``created`` attempt with its own callback token (hex: it can never spell a word Daraja refuses in a URL).
    It expires after the tenant's timeout even if it is never started (the process died before the provider call)."""
    now = ctx.clock.now()
    return await open_payment(
        ctx.session,
        order,
        provider,
        PaymentStatus.CREATED,
        now,
        expires_at=now + timedelta(minutes=ctx.tenant.payment_timeout_minutes),
        callback_token=secrets.token_hex(20),
    )
