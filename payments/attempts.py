"""Opening a payment attempt for an order. Each attempt has its own reference; a retry is a new attempt.

An order has at most one open attempt (``created`` or ``pending``): the database holds that invariant with a partial
unique index (``uq_payments_one_open_per_order``), and ``open_payment`` inserts against it, so two starts at once
(a double tap, two channels, a worker) open one attempt between them, whoever reads what first.

Changing method: a customer who chose a way to pay and then chooses another supersedes the earlier attempt
(``supersede_open``), which is cancelled through ``apply_event`` (the customer's link or Paybill instructions are
replaced by the news; a late success of the cancelled attempt is still paid and flagged to the merchant). An STK push
still open is the exception: its prompt may be on the customer's phone right now, so it is never superseded; the
customer answers it (or lets it end, a couple of minutes) first.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.repos.promos import PromoRepository
from core.db.tables import OPEN_ATTEMPT, Order, Payment
from core.money import Money
from core.texts import text as catalog_text
from payments import providers
from payments.base import Outcome, ProviderEvent, ProviderKind
from payments.service import apply_event
from payments.states import PaymentStatus

OPEN = (PaymentStatus.CREATED.value, PaymentStatus.PENDING.value)


def new_reference() -> str:
    """Letters and digits only: acceptable to every provider's reference rules."""
    return "dk" + secrets.token_hex(10)


def is_push(payment: Payment) -> bool:
    """A push: the attempt put (or is putting) a prompt on the customer's phone. Its provider's declared kind, read
    from the registry when asked (a provider registered after import is one too)."""
    entry = providers.entry(payment.provider)
    return entry is not None and entry.info.kind is ProviderKind.PHONE_PUSH and payment.callback_token is not None


async def open_payment(
    session: AsyncSession,
    order: Order,
    provider: str,
    status: PaymentStatus,
    now: datetime,
    *,
    expires_at: datetime | None = None,
    callback_token: str | None = None,
    amount: Money | None = None,
) -> Payment | None:
    """A new attempt for ``order``, for the order's total or for ``amount`` (what a provider that converts the
    shop's currency charges: the receipt and the amount check use it). None when ``status`` is open and the order
    already has an open attempt, one committed by a concurrent start included (the insert waits for it, then does
    nothing)."""
    # An earlier attempt that ended gave the order's promo use back: this one takes it again, or the order loses the
    # discount (flows.payment tells the customer first; a provider's own retry button comes straight here).
    await PromoRepository(session).hold_for(order, now)
    values = {
        "tenant_id": order.tenant_id,
        "order_id": order.id,
        "provider": provider,
        "reference": new_reference(),
        "status": status.value,
        "amount_minor": order.total_minor if amount is None else amount.minor,
        "currency": order.currency if amount is None else amount.currency,
        "refunded_minor": 0,
        "is_test": order.is_test,
        "expires_at": expires_at,
        "callback_token": callback_token,
        "checks": 0,
        "created_at": now,
        "updated_at": now,
    }
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    module = postgresql if dialect == "postgresql" else sqlite
    table = Payment.__table__
    statement = (
        module.insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["order_id"], index_where=text(OPEN_ATTEMPT))
        .returning(table.c.id)
    )
    new_id = (await session.execute(statement)).scalar()
    if new_id is None:
        return None
    return await session.get(Payment, int(new_id))


async def open_attempt(session: AsyncSession, order: Order) -> Payment | None:
    """The order's open attempt (there is at most one)."""
    return await session.scalar(
        select(Payment)
        .where(Payment.tenant_id == order.tenant_id, Payment.order_id == order.id, Payment.status.in_(OPEN))
        .order_by(Payment.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )


async def supersede_open(session: AsyncSession, order: Order, clock: Clock) -> Payment | None:
    """Cancel the order's open attempt because the customer chose another way to pay, unless it is an STK push
    (returned, untouched: the caller waits for it). None when nothing open is left."""
    current = await open_attempt(session, order)
    if current is None or is_push(current):
        return current
    event = ProviderEvent(
        provider=current.provider,
        event_key=f"superseded:{current.reference}",
        payment_reference=current.reference,
        outcome=Outcome.CANCELLED,
        reason=catalog_text("jobs.superseded"),  # the payment's record; the customer reads reason_key
        reason_key="jobs.superseded",
        reason_code=f"{current.provider}.superseded",  # in the provider's own words ("<provider>.why.superseded")
    )
    await apply_event(session, order.tenant_id, event, clock)
    return None
