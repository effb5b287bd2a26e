"""Times as a test expects a person to read them, worked out here from the database and the zone's own name, not
through ``core.shoptime`` (which is what is being checked): "04 Dec 16:17 EAT", "04 Dec 2026, 16:17 EAT"."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.db.engine import Database
from core.db.tables import Order, Payment, PaymentEvent

NAIROBI = ("Africa/Nairobi", "EAT")


def shown(at: datetime, zone: tuple[str, str] = NAIROBI, *, year: bool = False) -> str:
    name, label = zone
    moment = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(ZoneInfo(name))
    return f"{moment:%d %b %Y, %H:%M} {label}" if year else f"{moment:%d %b %H:%M} {label}"


async def placed(database: Database, tenant_id: int, code: str, zone: tuple[str, str] = NAIROBI) -> str:
    """When the order was placed, as a list shows it."""
    async with database.uow() as uow:
        at = await uow.session.scalar(select(Order.created_at).where(Order.tenant_id == tenant_id, Order.code == code))
    assert at is not None, code
    return shown(at, zone)


async def paid_event(database: Database, tenant_id: int, code: str) -> PaymentEvent:
    """The event that paid the order."""
    async with database.uow() as uow:
        event = await uow.session.scalar(
            select(PaymentEvent)
            .join(Payment, Payment.id == PaymentEvent.payment_id)
            .join(Order, Order.id == Payment.order_id)
            .where(Order.tenant_id == tenant_id, Order.code == code, PaymentEvent.outcome == "paid")
            .order_by(PaymentEvent.id.desc())
            .limit(1)
        )
    assert event is not None, code
    return event


async def paid(database: Database, tenant_id: int, code: str, zone: tuple[str, str] = NAIROBI) -> str:
    """When the order's money was received, as a receipt shows it (manual payments: when the proof was approved)."""
    return shown((await paid_event(database, tenant_id, code)).received_at, zone, year=True)
