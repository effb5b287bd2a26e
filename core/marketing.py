"""Who may receive marketing: broadcasts and abandoned-cart reminders reach a customer only through ``reachable``.

A customer who sent /stop (``customers.marketing_stopped_at``) gets no marketing until they start it again; a chat
that refused the bot (``customers.unreachable_at``, set when Telegram answers 403) is skipped until the customer writes
again. Receipts, replies and other messages a customer asked for are not marketing and ignore both."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.tables import Customer, OutboxMessage


def reachable() -> ColumnElement[bool]:
    """The WHERE clause every marketing audience query carries."""
    return and_(Customer.marketing_stopped_at.is_(None), Customer.unreachable_at.is_(None))


async def stop(session: AsyncSession, tenant_id: int, customer_id: int, now: datetime) -> bool:
    """Stop marketing to a customer; whether it was on (a second /stop changes nothing)."""
    result = await session.execute(
        update(Customer)
        .where(Customer.tenant_id == tenant_id, Customer.id == customer_id, Customer.marketing_stopped_at.is_(None))
        .values(marketing_stopped_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def start(session: AsyncSession, tenant_id: int, customer_id: int) -> bool:
    """Start marketing to a customer again; whether it was stopped."""
    result = await session.execute(
        update(Customer)
        .where(Customer.tenant_id == tenant_id, Customer.id == customer_id, Customer.marketing_stopped_at.is_not(None))
        .values(marketing_stopped_at=None)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def mark_unreachable(session: AsyncSession, tenant_id: int, chat_id: int, now: datetime) -> None:
    """The chat refused the bot: skip it in marketing until the customer writes again (``mark_reachable``)."""
    await session.execute(
        update(Customer)
        .where(Customer.tenant_id == tenant_id, Customer.chat_id == chat_id, Customer.unreachable_at.is_(None))
        .values(unreachable_at=now)
        .execution_options(synchronize_session=False)
    )


async def mark_reachable(session: AsyncSession, tenant_id: int, chat_id: int) -> None:
    """The customer wrote to the bot: their chat takes messages again."""
    await session.execute(
        update(Customer)
        .where(Customer.tenant_id == tenant_id, Customer.chat_id == chat_id, Customer.unreachable_at.is_not(None))
        .values(unreachable_at=None)
        .execution_options(synchronize_session=False)
    )


# The dedupe keys of marketing rows in the outbox: ``broadcast:<broadcast id>:to:<customer id>``. A merchant is not
# alerted about such a row the chat refused (``core.dead_letters``): the broadcast's progress message counts them.
MARKETING_KEY_PREFIX = "broadcast:"


def is_marketing_key(dedupe_key: str) -> bool:
    return dedupe_key.startswith(MARKETING_KEY_PREFIX) and ":to:" in dedupe_key


async def withdraw_owed(session: AsyncSession, tenant_id: int, chat_id: int, now: datetime) -> int:
    """The customer stopped marketing: the marketing rows still owed to their chat and not in a relay's hands are
    never sent (SUPERSEDED, in the /stop's own transaction). Returns how many were withdrawn."""
    withdrawn = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.tenant_id == tenant_id,
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.status == "pending",
            OutboxMessage.dedupe_key.like(f"{MARKETING_KEY_PREFIX}%:to:%"),
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now),
        )
        .values(status="superseded", last_error="marketing stopped")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(withdrawn, "rowcount", 0) or 0)
