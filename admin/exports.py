"""Orders and payments for the accountant, as CSV or XLSX: ``dukabot orders export`` and ``/export [MONTH]``.

One row per order (``row`` = ``order``: placed in the period, or whose money moved in it), each followed by one row
per payment of it that moved money in the period (``row`` = ``payment``): what came in (``paid``, when it arrived) and
what went back (``refunded``, when it was applied). Money is counted exactly as ``/sales`` counts it (the payment
events are the ledger, ``admin.sales.movements``), so the payments' ``paid`` add up to /sales' gross and their
``refunded`` to its refunds for the same period. Amounts are in major units with their currency. Test orders and
payments are left out unless asked for. Periods are calendar days in the shop's own time zone.

A cell that starts like a formula (``=``, ``+``, ``-``, ``@``) is written with a leading apostrophe: a customer's
name must never run as a formula in the accountant's spreadsheet.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal

from openpyxl import Workbook
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin.receipts import MONEY_IN
from admin.sales import movements
from core import shoptime
from core.db.tables import Order, Payment, Tenant
from core.fiscal_stamp import FiscalStamps
from core.messages import Attachment, Message
from core.money import Money
from flows.context import FlowContext, Reply

__all__ = ["COLUMNS", "FORMATS", "MAX_DAYS", "Export", "ExportError", "build", "command", "day_range", "month_range"]

MAX_DAYS = 366  # a year (a leap one) at most: an export is read whole into memory
FORMATS = ("csv", "xlsx")
COLUMNS = (
    "row",
    "order",
    "placed_at",
    "order_status",
    "customer",
    "items",
    "order_total",
    "currency",
    "provider",
    "payment_reference",
    "provider_reference",
    "payment_status",
    "paid_at",
    "paid",
    "refunded_at",
    "refunded",
    "test",
    "etims_invoice",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MONTH = re.compile(r"(?:(\d{4})-)?(\d{1,2})")


class ExportError(ValueError):
    """A period that cannot be exported (the message says why)."""


Cell = str | Decimal


@dataclass
class Export:
    start: datetime  # in the shop's zone, inclusive
    end: datetime  # in the shop's zone, exclusive
    currency: str
    rows: list[tuple[Cell, ...]] = field(default_factory=list)
    gross: int = 0  # minor units: the payments' "paid"
    refunds: int = 0  # minor units: the payments' "refunded"
    orders: int = 0
    payments: int = 0

    def money(self, minor: int) -> str:
        return Money(minor, self.currency).format()

    def csv(self) -> bytes:
        """UTF-8 with a byte-order mark: spreadsheet programs then read accented names right."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        writer.writerows([[_safe(cell) for cell in row] for row in self.rows])
        return out.getvalue().encode("utf-8-sig")

    def xlsx(self) -> bytes:
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = f"{self.start:%Y-%m-%d}"
        sheet.append(COLUMNS)
        for row in self.rows:
            sheet.append([_safe(cell) for cell in row])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    def render(self, file_format: str) -> bytes:
        return self.xlsx() if file_format == "xlsx" else self.csv()


def _safe(cell: Cell) -> Cell:
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def day_range(first: date, last: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) from the start of ``first`` to the end of ``last``, both days in the shop's zone."""
    if first > last:
        raise ExportError(f"--from {first} is after --to {last}")
    if (last - first).days + 1 > MAX_DAYS:
        raise ExportError(f"at most {MAX_DAYS} days at a time: export a long period in parts")
    start = datetime(first.year, first.month, first.day, tzinfo=zone)
    end = datetime(last.year, last.month, last.day, tzinfo=zone) + timedelta(days=1)
    return start, end


def month_range(words: str, now: datetime, zone: tzinfo) -> tuple[datetime, datetime] | None:
    """``/export``'s month: nothing (this month), ``11`` (the latest November, this year's or last year's) or
    ``2026-11``; None for anything else (``13``, ``2026-00``, words)."""
    today = now.astimezone(zone).date()
    found = _MONTH.fullmatch(words.strip()) if words.strip() else None
    if not words.strip():
        year, month = today.year, today.month
    elif found is None:
        return None
    else:
        month = int(found.group(2))
        year = int(found.group(1)) if found.group(1) else today.year
        if not found.group(1) and month > today.month:
            year -= 1
    if not 1 <= month <= 12 or not 2000 <= year <= today.year + 1:
        return None
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return day_range(first, following - timedelta(days=1), zone)


async def build(
    session: AsyncSession,
    tenant: Tenant,
    start: datetime,
    end: datetime,
    fiscal: FiscalStamps,
    *,
    include_test: bool = False,
) -> Export:
    export = Export(start, end, tenant.currency)
    since = start.astimezone(UTC)
    moved: dict[int, tuple[int, datetime | None, int, datetime | None]] = {}  # paid, when; refunded, when
    for payment_id, moves in (await movements(session, tenant, start, end, include_test=include_test)).items():
        inside = [move for move in moves if move.at >= since]
        came = [move for move in inside if move.minor > 0]
        went = [move for move in inside if move.minor < 0]
        if came or went:
            moved[payment_id] = (
                sum(move.minor for move in came),
                came[0].at if came else None,
                -sum(move.minor for move in went),
                went[-1].at if went else None,
            )
    payments = list(
        await session.scalars(
            select(Payment).where(Payment.tenant_id == tenant.id, Payment.id.in_(sorted(moved))).order_by(Payment.id)
        )
    )
    in_period = and_(Order.created_at >= since, Order.created_at < end.astimezone(UTC))
    if not include_test:
        in_period = and_(in_period, Order.is_test.is_(False))
    with_money = {payment.order_id for payment in payments}
    placed = select(Order).where(Order.tenant_id == tenant.id, or_(in_period, Order.id.in_(with_money)))
    orders = list(await session.scalars(placed.order_by(Order.created_at, Order.id)))
    for order in orders:
        export.rows.append(await _order_row(session, tenant, order, fiscal))
        export.orders += 1
        for payment in (p for p in payments if p.order_id == order.id):
            paid, paid_at, refunded, refunded_at = moved[payment.id]
            export.rows.append(_payment_row(tenant, order, payment, paid, paid_at, refunded, refunded_at))
            export.gross += paid
            export.refunds += refunded
            export.payments += 1
    return export


def _major(minor: int, currency: str) -> Decimal:
    return Money(minor, currency).major()


def _when(at: datetime | None, tenant: Tenant) -> str:
    return f"{shoptime.local(at, tenant):%Y-%m-%d %H:%M}" if at is not None else ""


async def _order_row(session: AsyncSession, tenant: Tenant, order: Order, fiscal: FiscalStamps) -> tuple[Cell, ...]:
    stamp = await fiscal.for_order(session, tenant.id, order.id)
    items = "; ".join(f"{item.name} ×{item.quantity}" for item in order.items)
    return (
        "order",
        order.code,
        _when(order.created_at, tenant),
        order.status,
        order.contact_name,
        items,
        _major(order.total_minor, order.currency),
        order.currency,
        *[""] * 8,
        "yes" if order.is_test else "no",
        stamp.invoice_number if stamp is not None else "",
    )


def _payment_row(
    tenant: Tenant,
    order: Order,
    payment: Payment,
    paid: int,
    paid_at: datetime | None,
    refunded: int,
    refunded_at: datetime | None,
) -> tuple[Cell, ...]:
    return (
        "payment",
        order.code,
        "",
        "",
        "",
        "",
        "",
        payment.currency,
        payment.provider,
        payment.reference,
        payment.provider_txn_id or "",
        payment.status if payment.status in MONEY_IN else "",
        _when(paid_at, tenant),
        _major(paid, payment.currency),
        _when(refunded_at, tenant),
        _major(refunded, payment.currency),
        "yes" if payment.is_test or order.is_test else "no",
        "",
    )


async def command(ctx: FlowContext, args: str) -> Reply:
    """``/export [MONTH]`` (admins only: the gate sees to it): the month's CSV, sent as a document."""
    period = month_range(args, ctx.clock.now(), shoptime.shop_zone(ctx.tenant))
    if period is None:
        return Reply([Message(ctx.t("admin.export.usage"))], refused=True)
    start, end = period
    export = await build(ctx.session, ctx.tenant, start, end, ctx.fiscal)
    caption = ctx.t(
        "admin.export.caption",
        period=f"{start:%Y-%m}",
        gross=export.money(export.gross),
        refunds=export.money(export.refunds),
        net=export.money(export.gross - export.refunds),
        orders=export.orders,
        payments=export.payments,
    )
    name = f"orders-{ctx.tenant.slug}-{start:%Y-%m}.csv"
    return Reply([Message(caption, attachment=Attachment(name, export.csv()))])
