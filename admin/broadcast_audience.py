"""Who a broadcast goes to: its audience (everyone, who bought in the last N days, who has an open cart, who reads a
language), always within ``core.marketing.reachable`` and never the shop's own admins (they saw the preview).

An audience is kept on the broadcast as text: ``all``, ``bought:30``, ``cart``, ``lang:sw``."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.tables import Broadcast, BroadcastRecipient, CartItem, Customer, Order, TenantAdmin
from core.marketing import reachable
from core.texts import LANGUAGES
from payments.states import OrderStatus

EVERYONE = "all"
OPEN_CART = "cart"
DAYS = (7, 30, 90)  # the "bought in the last N days" the composer offers
# Orders whose customer bought (paid, even if later shipped or refunded: they bought from the shop).
_BOUGHT = (OrderStatus.PAID.value, OrderStatus.SHIPPED.value, OrderStatus.REFUNDED.value)


def bought(days: int) -> str:
    return f"bought:{days}"


def speaks(language: str) -> str:
    return f"lang:{language}"


def _clause(tenant_id: int, audience: str, now: datetime) -> ColumnElement[bool] | None:
    """The customers of ``audience`` (None: no such audience)."""
    kind, _, value = audience.partition(":")
    if kind == EVERYONE:
        return Customer.tenant_id == tenant_id
    if kind == OPEN_CART:
        return exists().where(CartItem.customer_id == Customer.id, CartItem.tenant_id == tenant_id)
    if kind == "bought" and value.isdecimal() and int(value) in DAYS:
        since = now - timedelta(days=int(value))
        return exists().where(
            Order.customer_id == Customer.id,
            Order.tenant_id == tenant_id,
            Order.status.in_(_BOUGHT),
            Order.is_test.is_(False),
            Order.updated_at >= since,
        )
    if kind == "lang" and value in LANGUAGES:
        return Customer.language == value
    return None


def _who(tenant_id: int, audience: str, now: datetime) -> ColumnElement[bool]:
    chosen = _clause(tenant_id, audience, now)
    if chosen is None:
        raise ValueError(f"unknown audience {audience!r}")
    not_admin = ~exists().where(TenantAdmin.tenant_id == tenant_id, TenantAdmin.tg_user_id == Customer.tg_user_id)
    return and_(Customer.tenant_id == tenant_id, chosen, reachable(), not_admin)


def known(audience: str) -> bool:
    return _clause(0, audience, datetime.min) is not None


async def count(session: AsyncSession, tenant_id: int, audience: str, now: datetime) -> int:
    """How many customers the broadcast would reach now (the preview's count)."""
    found = await session.scalar(select(func.count()).select_from(Customer).where(_who(tenant_id, audience, now)))
    return int(found or 0)


async def materialise(session: AsyncSession, broadcast: Broadcast, now: datetime) -> int:
    """One recipient row per customer of the audience, in one INSERT ... SELECT (no outbox row yet: the feeder owes
    them a few at a time). Called once per broadcast, by the confirm that moved it out of draft; the unique key
    (broadcast, customer) would refuse a second row all the same. Returns how many."""
    chosen = select(
        literal(broadcast.tenant_id), literal(broadcast.id), Customer.id, Customer.chat_id, literal("pending")
    ).where(_who(broadcast.tenant_id, broadcast.audience, now))
    table = BroadcastRecipient.__table__
    statement = insert(table).from_select(  # type: ignore[arg-type]
        ["tenant_id", "broadcast_id", "customer_id", "chat_id", "status"], chosen
    )
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
