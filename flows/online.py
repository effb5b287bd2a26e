"""What every online method shares: opening an attempt whose start is a payment job (``payments.starter``)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from core.db.tables import Order, Payment
from core.messages import Message
from flows.context import FlowContext
from payments.attempts import open_payment, supersede_open
from payments.starter import queue_start
from payments.states import PaymentStatus


async def start_online_payment(ctx: FlowContext, order: Order, provider: str, sending: Message) -> Payment | None:
    """A ``created`` attempt, its start job and the customer's ``sending`` message, all in this transaction; the
    worker calls the provider after the commit, and its answer takes the place of ``sending`` in the chat.

    An open attempt of another kind is superseded (the customer chose again). None when the order keeps an open
    attempt: an STK push (its prompt may be on the phone), or one a concurrent start opened a moment ago.

    The attempt has its own callback token (hex: it can never spell a word Daraja refuses in a URL) and expires
    after the tenant's timeout even if it is never started."""
    if await supersede_open(ctx.session, order, ctx.clock) is not None:
        return None
    now = ctx.clock.now()
    payment = await open_payment(
        ctx.session,
        order,
        provider,
        PaymentStatus.CREATED,
        now,
        expires_at=now + timedelta(minutes=ctx.tenant.payment_timeout_minutes),
        callback_token=secrets.token_hex(20),
    )
    if payment is not None:
        await queue_start(ctx.session, payment, ctx.customer.chat_id, sending, now)
    return payment
