"""``/sales [today|week|month]``: what the shop sold, by provider and by product, paid against still pending, with a
small chart. Test orders are never counted. Periods are calendar periods in the shop's local time."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from admin.chart import bar_chart
from core.clock import utc
from core.db.tables import Order, Payment, Tenant
from core.money import Money, exponent
from payments.states import OrderStatus, PaymentStatus

PERIODS = ("today", "week", "month")
PAID_ORDERS = frozenset({OrderStatus.PAID, OrderStatus.SHIPPED})
PENDING_ORDERS = frozenset({OrderStatus.AWAITING_PAYMENT, OrderStatus.NEEDS_REVIEW})
_MONEY_IN = frozenset({PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED})
# The shop's local time, from its region (sales "today" means the merchant's today).
_ZONES = {
    "KE": "Africa/Nairobi",
    "TZ": "Africa/Dar_es_Salaam",
    "UG": "Africa/Kampala",
    "RW": "Africa/Kigali",
    "NG": "Africa/Lagos",
    "GH": "Africa/Accra",
    "ZA": "Africa/Johannesburg",
}


@dataclass
class Sales:
    period: str
    start: datetime
    end: datetime
    currency: str
    paid: int = 0
    pending: int = 0
    paid_orders: int = 0
    pending_orders: int = 0
    refunded: int = 0
    by_provider: Counter[str] = field(default_factory=Counter)
    by_product: Counter[str] = field(default_factory=Counter)
    buckets: list[str] = field(default_factory=list)
    paid_by_bucket: list[int] = field(default_factory=list)
    pending_by_bucket: list[int] = field(default_factory=list)

    def money(self, minor: int) -> str:
        return Money(minor, self.currency).format()


def zone(tenant: Tenant) -> ZoneInfo:
    try:
        return ZoneInfo(_ZONES.get(tenant.region, "UTC"))
    except Exception:  # no time zone data on this machine: UTC is still a correct, if less local, answer
        return ZoneInfo("UTC")


def period_bounds(period: str, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime, list[datetime]]:
    """[start, end) of the period containing ``now`` (local calendar), and the starts of its chart buckets."""
    local = now.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "today":
        starts = [midnight + timedelta(hours=h) for h in range(24)]
        return midnight, midnight + timedelta(days=1), starts
    if period == "week":
        start = midnight - timedelta(days=local.weekday())
        starts = [start + timedelta(days=d) for d in range(7)]
        return start, start + timedelta(days=7), starts
    start = midnight.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    starts = [start + timedelta(days=d) for d in range((following - start).days)]
    return start, following, starts


async def compute(session: AsyncSession, tenant: Tenant, period: str, now: datetime) -> Sales:
    tz = zone(tenant)
    start, end, starts = period_bounds(period, now, tz)
    orders = list(
        await session.scalars(
            select(Order)
            .where(
                Order.tenant_id == tenant.id,
                Order.is_test.is_(False),
                Order.created_at >= start.astimezone(UTC),
                Order.created_at < end.astimezone(UTC),
            )
            .order_by(Order.id)
        )
    )
    sales = Sales(period, start, end, tenant.currency)
    sales.buckets = [f"{s.hour:02d}h" if period == "today" else f"{s.day}" for s in starts]
    sales.paid_by_bucket = [0] * len(starts)
    sales.pending_by_bucket = [0] * len(starts)
    ids = [order.id for order in orders]
    payments = (
        list(
            await session.scalars(
                select(Payment).where(
                    Payment.tenant_id == tenant.id, Payment.order_id.in_(ids), Payment.is_test.is_(False)
                )
            )
        )
        if ids
        else []
    )
    money_in: dict[int, Payment] = {}
    for payment in payments:
        if payment.status in _MONEY_IN:
            money_in[payment.order_id] = payment
            sales.refunded += payment.refunded_minor
    for order in orders:
        bucket = _bucket(starts, utc(order.created_at).astimezone(tz))
        if order.status in PAID_ORDERS:
            sales.paid += order.total_minor
            sales.paid_orders += 1
            sales.paid_by_bucket[bucket] += order.total_minor
            paid_with = money_in.get(order.id)
            sales.by_provider[paid_with.provider if paid_with else "manual"] += order.total_minor
            for item in order.items:
                sales.by_product[item.name] += item.unit_price_minor * item.quantity
        elif order.status in PENDING_ORDERS:
            sales.pending += order.total_minor
            sales.pending_orders += 1
            sales.pending_by_bucket[bucket] += order.total_minor
    return sales


def _bucket(starts: list[datetime], at: datetime) -> int:
    index = 0
    for position, start in enumerate(starts):
        if at >= start:
            index = position
    return index


def chart(sales: Sales, title: str) -> bytes:
    scale = 10 ** exponent(sales.currency)  # bars in major units keep the axis label readable
    return bar_chart(
        title,
        sales.buckets,
        [v // scale for v in sales.paid_by_bucket],
        [v // scale for v in sales.pending_by_bucket],
    )
