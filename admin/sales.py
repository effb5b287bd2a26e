"""``/sales [today|week|month]``: what the shop sold in the period, in figures that add up, with a small chart.

- Gross sales: money that came in, each payment counted when it arrived (its first ``paid`` fact: accepted at once,
  or held for review and accepted or refunded since; money still held is not a sale yet).
- Refunds: money that went back, each refund counted when it was applied to its payment (the provider's word that it
  was processed, the merchant's Done), whichever period its payment fell in.
- Net = gross − refunds, always; over any run of periods the nets add up to what the orders kept.
- Cart reminders (core.cart_reminders): those sent in the period, the orders their customers placed within 48 h of
  one (recorded on the reminder), how many of those were paid and the money they brought, whenever it came.

The payment events are the ledger: every payment and refund that moved money left one (``payments.service``), with
its time. Test orders and test payments are never counted, nor money in another currency than the shop's. Periods are
calendar periods in the shop's own time zone (``core.shoptime``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from admin.chart import bar_chart
from core.clock import utc
from core.db.tables import CartReminder, Order, Payment, PaymentEvent, Tenant
from core.messages import Message
from core.money import Money, exponent
from core.shoptime import shop_zone
from flows.context import FlowContext, Reply
from payments.base import Outcome
from payments.service import EventResult
from payments.states import OrderStatus, PaymentStatus

PERIODS = ("today", "week", "month")
PENDING_ORDERS = frozenset({OrderStatus.AWAITING_PAYMENT, OrderStatus.NEEDS_REVIEW})
_MONEY_IN = frozenset({PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED})
_ARRIVED = frozenset({EventResult.APPLIED, EventResult.NEEDS_REVIEW})  # results of a "paid" fact that brought money


@dataclass
class Sales:
    period: str
    start: datetime
    end: datetime
    currency: str
    gross: int = 0
    refunds: int = 0
    paid_orders: int = 0
    pending: int = 0
    pending_orders: int = 0
    by_provider: Counter[str] = field(default_factory=Counter)
    by_product: Counter[str] = field(default_factory=Counter)  # at list prices, before any promo discount
    by_promo: Counter[str] = field(default_factory=Counter)  # the discounts of the paid orders, by code
    # Abandoned-cart reminders sent in the period, the orders placed within 48 h of one (core.cart_reminders), how
    # many of those were paid and the money they brought (whenever it came).
    reminders: int = 0
    reminded_orders: int = 0
    reminded_paid: int = 0
    reminded_revenue: int = 0
    buckets: list[str] = field(default_factory=list)
    paid_by_bucket: list[int] = field(default_factory=list)
    pending_by_bucket: list[int] = field(default_factory=list)

    @property
    def net(self) -> int:
        return self.gross - self.refunds

    def money(self, minor: int, language: str = "en") -> str:
        """``KES 200``, and ``-KES 200`` for a day that gave back more than it took (in the reader's language)."""
        sign = "-" if minor < 0 else ""
        return sign + Money(abs(minor), self.currency).format(language)


@dataclass(frozen=True, slots=True)
class Movement:
    """Money in (``minor`` > 0, a payment) or out (``minor`` < 0, a refund) of one payment, at one time."""

    payment_id: int
    at: datetime
    minor: int


def period_bounds(period: str, now: datetime, tz: tzinfo) -> tuple[datetime, datetime, list[datetime]]:
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


async def movements(
    session: AsyncSession, tenant: Tenant, since: datetime, until: datetime, *, include_test: bool = False
) -> dict[int, list[Movement]]:
    """The money in and out before ``until`` of every payment that moved money from ``since``, from its events, in
    order. A refund's event may leave its amount out ("all of it"): it was what was left then, so each payment's events
    are replayed from its first, in the order they were applied. Test payments count only with ``include_test`` (an
    export that asks for them)."""
    live = () if include_test else (Payment.is_test.is_(False), Order.is_test.is_(False))
    moved_since = select(PaymentEvent.payment_id).where(
        PaymentEvent.tenant_id == tenant.id,
        PaymentEvent.outcome.in_([Outcome.PAID.value, Outcome.REFUNDED.value]),
        PaymentEvent.received_at >= since.astimezone(UTC),
        PaymentEvent.received_at < until.astimezone(UTC),
    )
    rows = await session.execute(
        select(PaymentEvent.payment_id, PaymentEvent.outcome, PaymentEvent.result, PaymentEvent.amount_minor)
        .add_columns(PaymentEvent.received_at, Payment.paid_minor, Payment.amount_minor.label("expected"))
        .join(Payment, Payment.id == PaymentEvent.payment_id)
        .join(Order, Order.id == Payment.order_id)
        .where(
            PaymentEvent.tenant_id == tenant.id,
            PaymentEvent.payment_id.in_(moved_since),
            Payment.tenant_id == tenant.id,
            *live,
            Payment.currency == tenant.currency,
            Payment.status.in_([status.value for status in _MONEY_IN]),
            PaymentEvent.outcome.in_([Outcome.PAID.value, Outcome.REFUNDED.value]),
            PaymentEvent.received_at < until.astimezone(UTC),
        )
        .order_by(PaymentEvent.id)
    )
    found: dict[int, list[Movement]] = defaultdict(list)
    left: dict[int, int] = {}
    for row in rows:
        payment_id = int(row.payment_id)
        paid = row.expected if row.paid_minor is None else row.paid_minor
        if row.outcome == Outcome.PAID.value:
            if row.result in _ARRIVED and payment_id not in left:
                left[payment_id] = paid
                found[payment_id].append(Movement(payment_id, utc(row.received_at), paid))
        elif row.result == EventResult.APPLIED.value and payment_id in left:
            amount = row.amount_minor if row.amount_minor is not None else left[payment_id]
            left[payment_id] -= amount
            found[payment_id].append(Movement(payment_id, utc(row.received_at), -amount))
    return found


async def compute(session: AsyncSession, tenant: Tenant, period: str, now: datetime) -> Sales:
    tz = shop_zone(tenant)
    start, end, starts = period_bounds(period, now, tz)
    sales = Sales(period, start, end, tenant.currency)
    sales.buckets = [f"{s.hour:02d}h" if period == "today" else f"{s.day}" for s in starts]
    sales.paid_by_bucket = [0] * len(starts)
    sales.pending_by_bucket = [0] * len(starts)
    arrived: list[int] = []
    for moves in (await movements(session, tenant, start, end)).values():
        for move in moves:
            if move.at < start.astimezone(UTC):
                continue
            if move.minor > 0:
                sales.gross += move.minor
                sales.paid_by_bucket[_bucket(starts, move.at.astimezone(tz))] += move.minor
                arrived.append(move.payment_id)
            else:
                sales.refunds -= move.minor
    await _breakdown(session, tenant, arrived, sales)
    await _pending(session, tenant, sales, starts, tz)
    await _reminders(session, tenant, sales)
    return sales


async def _reminders(session: AsyncSession, tenant: Tenant, sales: Sales) -> None:
    """The period's cart reminders, the live orders that followed them, and the money those orders brought."""
    rows = await session.execute(
        select(CartReminder.id, Order.id.label("order_id"))
        .outerjoin(Order, (Order.id == CartReminder.order_id) & Order.is_test.is_(False))
        .where(
            CartReminder.tenant_id == tenant.id,
            CartReminder.sent_at >= sales.start.astimezone(UTC),
            CartReminder.sent_at < sales.end.astimezone(UTC),
        )
    )
    order_ids = []
    for row in rows:
        sales.reminders += 1
        if row.order_id is not None:
            order_ids.append(int(row.order_id))
    sales.reminded_orders = len(order_ids)
    if not order_ids:
        return
    payments = await session.execute(
        select(Payment.order_id, Payment.paid_minor, Payment.amount_minor).where(
            Payment.tenant_id == tenant.id,
            Payment.order_id.in_(order_ids),
            Payment.is_test.is_(False),
            Payment.currency == tenant.currency,
            Payment.status.in_([status.value for status in _MONEY_IN]),
        )
    )
    paid: set[int] = set()
    for payment in payments:
        paid.add(int(payment.order_id))
        sales.reminded_revenue += payment.amount_minor if payment.paid_minor is None else payment.paid_minor
    sales.reminded_paid = len(paid)


async def _breakdown(session: AsyncSession, tenant: Tenant, payment_ids: list[int], sales: Sales) -> None:
    """Gross sales by payment method, and what was sold, for the payments that came in during the period."""
    if not payment_ids:
        return
    payments = await session.scalars(
        select(Payment).where(Payment.tenant_id == tenant.id, Payment.id.in_(payment_ids)).order_by(Payment.id)
    )
    order_ids: set[int] = set()
    for payment in payments:
        sales.by_provider[payment.provider] += (
            payment.amount_minor if payment.paid_minor is None else payment.paid_minor
        )
        order_ids.add(payment.order_id)
    sales.paid_orders = len(order_ids)
    orders = await session.scalars(select(Order).where(Order.tenant_id == tenant.id, Order.id.in_(sorted(order_ids))))
    for order in orders:
        for item in order.items:
            sales.by_product[item.name] += item.unit_price_minor * item.quantity
        if order.discount_minor and order.promo_code:
            sales.by_promo[order.promo_code] += order.discount_minor


async def _pending(session: AsyncSession, tenant: Tenant, sales: Sales, starts: list[datetime], tz: tzinfo) -> None:
    """Orders placed in the period that still wait for their money (or for the merchant's review of it)."""
    orders = await session.scalars(
        select(Order).where(
            Order.tenant_id == tenant.id,
            Order.is_test.is_(False),
            Order.status.in_([status.value for status in PENDING_ORDERS]),
            Order.created_at >= sales.start.astimezone(UTC),
            Order.created_at < sales.end.astimezone(UTC),
        )
    )
    for order in orders:
        sales.pending += order.total_minor
        sales.pending_orders += 1
        sales.pending_by_bucket[_bucket(starts, utc(order.created_at).astimezone(tz))] += order.total_minor


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


async def report(ctx: FlowContext, period: str) -> Reply:
    """The merchant's ``/sales`` answer: the figures, then the chart."""
    sales = await compute(ctx.session, ctx.tenant, period, ctx.clock.now())
    label = ctx.t(f"admin.sales.period_{period}")
    lines = [
        ctx.t(
            "admin.sales.title",
            period=label,
            gross=sales.money(sales.gross, ctx.lang),
            paid_orders=sales.paid_orders,
            refunds=sales.money(sales.refunds, ctx.lang),
            net=sales.money(sales.net, ctx.lang),
            pending=sales.money(sales.pending, ctx.lang),
            pending_orders=sales.pending_orders,
        )
    ]
    if sales.by_provider:
        lines.append(ctx.t("admin.sales.by_provider"))
        lines += [
            f"• {ctx.t(f'provider.{name}')}: {sales.money(amount, ctx.lang)}"
            for name, amount in sales.by_provider.most_common()
        ]
    if sales.by_product:
        lines.append(ctx.t("admin.sales.by_product"))
        lines += [f"• {name}: {sales.money(amount, ctx.lang)}" for name, amount in sales.by_product.most_common(10)]
    if sales.by_promo:
        lines.append(ctx.t("admin.sales.by_promo", total=sales.money(sum(sales.by_promo.values()), ctx.lang)))
        lines += [f"• {code}: −{sales.money(amount, ctx.lang)}" for code, amount in sales.by_promo.most_common(10)]
    if sales.reminders:
        lines.append(
            ctx.t(
                "admin.sales.reminders",
                sent=sales.reminders,
                orders=sales.reminded_orders,
                paid=sales.reminded_paid,
                revenue=sales.money(sales.reminded_revenue, ctx.lang),
            )
        )
    lines.append(ctx.t("admin.sales.test_excluded"))
    if ctx.tenant.test_mode:
        lines.append(ctx.t("admin.sales.in_test_mode"))
    picture = chart(sales, ctx.t("admin.sales.chart_title", period=label, currency=sales.currency))
    return Reply([Message("\n".join(lines)), Message(ctx.t("admin.sales.chart_caption", period=label), image=picture)])
