"""Abandoned-cart reminders: a cart left untouched for the shop's delay (``Tenant.cart_reminder_minutes``, default six
hours, 0 for none) gets one message with its lines at today's prices and a Checkout button.

- Every change of a cart sets its customer's ``cart_touched_at`` and ``cart_remind_at`` (``due``); a checkout clears
  both. So a cart touched again after its reminder is a new abandonment and may get a new reminder after the delay; one
  left as it was never gets a second (``cart_reminders`` is unique on the customer and the touch it reminds of, and the
  sweep claims a due cart with a conditional update of ``cart_remind_at``).
- Never between 21:00 and 08:00 in the shop's time zone: a reminder due then waits until 08:00 (``after_quiet_hours``).
- Never to a customer who stopped marketing or whose chat refused the bot (``core.marketing.reachable``), checked in
  the update that claims the cart, in the transaction that writes the reminder. Such a cart's reminder is dropped.
- Sent through the outbox like every chat message (``core.outbox.enqueue``).
- An order its customer places within ``FOLLOW_WINDOW`` of a reminder is recorded on the reminder (``followed_by``):
  /sales counts those orders and the money they brought.

The sweep (``CartReminders``, a server worker) reads only carts whose reminder is due, through a partial index, in
batches; on PostgreSQL it locks them ``FOR UPDATE SKIP LOCKED``, so two server processes share the work and never
remind one cart twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox, shoptime
from core.buttons import Checkout, ShowCart, StopOffers
from core.clock import Clock, utc
from core.db.engine import Database
from core.db.insert import insert_if_absent
from core.db.repos.catalog import CatalogRepository
from core.db.repos.customers import CustomerRepository
from core.db.tables import CartReminder, Customer, Tenant
from core.marketing import reachable
from core.messages import Button, Message, keyboard
from core.money import Money
from core.product_text import product_name
from core.texts import text

log = logging.getLogger(__name__)

DEFAULT_MINUTES: Final = 360
QUIET_FROM: Final = 21  # the shop's local hour from which no reminder is sent...
QUIET_UNTIL: Final = 8  # ...until this one
FOLLOW_WINDOW: Final = timedelta(hours=48)  # an order placed this long after a reminder is counted as following it


def due(tenant: Tenant, now: datetime) -> datetime | None:
    """When a cart touched ``now`` is owed its reminder; None when the shop sends none."""
    minutes = tenant.cart_reminder_minutes
    return now + timedelta(minutes=minutes) if minutes and minutes > 0 else None


def after_quiet_hours(at: datetime, shop: shoptime.HasZone) -> datetime:
    """``at``, or 08:00 shop time after it when ``at`` falls between 21:00 and 08:00 there."""
    local = shoptime.local(at, shop)
    if QUIET_UNTIL <= local.hour < QUIET_FROM:
        return at
    morning = local.replace(hour=QUIET_UNTIL, minute=0, second=0, microsecond=0)
    if local.hour >= QUIET_FROM:
        morning += timedelta(days=1)
    return morning.astimezone(UTC)


async def followed_by(session: AsyncSession, tenant_id: int, customer_id: int, order_id: int, now: datetime) -> None:
    """Record a new order on its customer's latest reminder of the last ``FOLLOW_WINDOW`` that has none yet."""
    latest = (
        select(CartReminder.id)
        .where(
            CartReminder.tenant_id == tenant_id,
            CartReminder.customer_id == customer_id,
            CartReminder.order_id.is_(None),
            CartReminder.sent_at >= now - FOLLOW_WINDOW,
        )
        .order_by(CartReminder.sent_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    await session.execute(
        update(CartReminder)
        .where(CartReminder.id == latest, CartReminder.order_id.is_(None))
        .values(order_id=order_id)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True, slots=True)
class Reminder:
    message: Message
    total: Money


async def reminder_for(session: AsyncSession, tenant: Tenant, customer: Customer) -> Reminder | None:
    """The reminder of the customer's cart as it is now, in their language; None when nothing in it is for sale."""
    items = await CustomerRepository(session).cart(customer.id)
    products = await CatalogRepository(session).by_ids(tenant.id, [item.product_id for item in items])
    lang = customer.language
    body = [text("cart.reminder", lang, shop=tenant.name)]
    amount = Money.zero(tenant.currency)
    for item in items:
        product = products.get(item.product_id)
        if product is None or not product.active or product.currency != tenant.currency:
            continue
        subtotal = Money(product.price_minor, product.currency) * item.quantity
        amount += subtotal
        name = product_name(product, lang)
        body.append(text("cart.line", lang, name=name, quantity=item.quantity, subtotal=subtotal.format(lang)))
    if len(body) == 1:
        return None
    body.append(text("cart.total", lang, total=amount.format(lang)))
    buttons = keyboard(
        [Button(text("button.checkout", lang), data=Checkout().pack())],
        [Button(text("button.cart", lang), data=ShowCart().pack())],
        [Button(text("button.stop_offers", lang), data=StopOffers().pack())],  # a reminder is marketing too
    )
    return Reminder(Message("\n".join(body), buttons), amount)


class CartReminders:
    """The sweep, a worker of the server process (``payments.base.Worker``)."""

    name = "cart-reminders"

    def __init__(self, database: Database, clock: Clock, *, interval: float = 60.0, batch: int = 50) -> None:
        self.database = database
        self.clock = clock
        self.interval = interval
        self.batch = batch

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # a database outage must not end the worker
                log.exception("cart reminders could not be swept")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)

    async def run_once(self) -> int:
        """Every due cart, a batch at a time: reminded, put off, or dropped. How many reminders were written."""
        written = 0
        while True:
            looked_at, sent = await self._batch(self.clock.now())
            written += sent
            if looked_at < self.batch:
                return written

    async def _batch(self, now: datetime) -> tuple[int, int]:
        async with self.database.uow() as uow:
            session = uow.session
            rows = (
                await session.execute(
                    select(Customer, Tenant)
                    .join(Tenant, Tenant.id == Customer.tenant_id)
                    .where(Customer.cart_remind_at <= now)
                    .order_by(Customer.cart_remind_at)
                    .limit(self.batch)
                    .with_for_update(skip_locked=True, of=Customer)
                )
            ).all()
            sent = 0
            for customer, tenant in rows:
                sent += await self._one(session, tenant, customer, now)
            await uow.commit()
        return len(rows), sent

    async def _one(self, session: AsyncSession, tenant: Tenant, customer: Customer, now: datetime) -> int:
        touched = utc(customer.cart_touched_at) if customer.cart_touched_at is not None else None
        wanted = due(tenant, touched) if touched is not None else None
        if touched is None or wanted is None or customer.marketing_stopped_at or customer.unreachable_at:
            await _move(session, customer.id, now, None)
            return 0
        later = after_quiet_hours(max(wanted, now), tenant)
        if later > now:  # the shop's delay grew since the cart was touched, or it is night at the shop
            await _move(session, customer.id, now, later)
            return 0
        reminder = await reminder_for(session, tenant, customer)
        if reminder is None:
            await _move(session, customer.id, now, None)
            return 0
        if not await _move(session, customer.id, now, None, claim=True):
            return 0  # touched, checked out or stopped meanwhile, or another sweep has it
        reminder_id = await insert_if_absent(
            session,
            CartReminder.__table__,  # type: ignore[arg-type]
            {
                "tenant_id": tenant.id,
                "customer_id": customer.id,
                "cart_touched_at": touched,
                "sent_at": now,
                "total_minor": reminder.total.minor,
                "currency": reminder.total.currency,
                "order_id": None,
            },
        )
        if reminder_id is None:
            return 0
        # The normal lane of the outbox: a lower-priority lane for marketing, if the relay gets one, suits this too.
        await outbox.enqueue(
            session,
            tenant_id=tenant.id,
            chat_id=customer.chat_id,
            dedupe_key=f"cart-reminder:{reminder_id}",
            message=reminder.message,
            now=now,
        )
        return 1


async def _move(
    session: AsyncSession, customer_id: int, now: datetime, to: datetime | None, *, claim: bool = False
) -> bool:
    """Set the cart's due reminder to ``to`` if it is still due (nobody touched, checked out or claimed it since);
    ``claim``: only while its customer may still be reached. Whether it was still due."""
    statement = update(Customer).where(Customer.id == customer_id, Customer.cart_remind_at <= now)
    if claim:
        statement = statement.where(reachable())
    result = await session.execute(statement.values(cart_remind_at=to).execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))
