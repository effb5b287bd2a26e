"""Every copy of a merchant's question, so that its answer can be shown on each one.

A proof to review, or money held for review, is posted to every alert chat of the shop (each admin's private chat,
or the alert group) under the dedupe key ``<subject>:to:<chat>`` (:func:`payments.notices.to_merchant`), and posted
again, to the asking chat, each time ``/pending`` lists it (``<subject>:to:<chat>:listed:<n>``). All go through the
outbox, which remembers the Telegram message each became. When the question is decided, :func:`show_decision` edits
every copy into the decision: the same text with a line below and no buttons, so that no copy keeps offering an
Approve or Accept that would only answer "already decided". A copy still owed is never sent: the decided one goes
out in its place (``Message.replaces``).
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox
from core.db.tables import OutboxMessage
from core.messages import Message

LISTED = ":listed:"


def is_listed_copy(row: OutboxMessage) -> bool:
    """A copy a listing posted, or the edit of one: a showing again, not something that happened to the order."""
    return LISTED in row.dedupe_key or LISTED in str(row.payload.get("replaces") or "")


async def show_decision(session: AsyncSession, *, tenant_id: int, subject: str, line: str, now: datetime) -> int:
    """Edit every copy of ``subject`` posted so far into the decision; how many copies there were."""
    posted = await session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.tenant_id == tenant_id,
            OutboxMessage.dedupe_key.like(f"{subject}:to:%"),
            OutboxMessage.status.in_([outbox.OutboxStatus.SENT.value, outbox.OutboxStatus.PENDING.value]),
        )
    )
    rows = list(posted)
    for row in rows:
        shown = Message.from_payload(row.payload)
        decided = dataclasses.replace(shown, text=f"{shown.text}\n\n{line}", buttons=(), replaces=row.dedupe_key)
        await outbox.enqueue(
            session,
            tenant_id=tenant_id,
            chat_id=row.chat_id,
            dedupe_key=f"{subject}:decided:{row.id}",
            message=decided,
            now=now,
        )
    return len(rows)


async def post_listing(
    session: AsyncSession,
    *,
    tenant_id: int,
    chat_id: int,
    heading: Message,
    items: list[tuple[str, Message]],
    now: datetime,
) -> None:
    """A listing (``/pending``): ``heading``, then each ``(subject, message)`` as a copy the decision will edit. All
    through the outbox, which keeps a chat's messages in order, so the heading comes first."""
    listing = uuid.uuid4().hex[:12]
    await outbox.enqueue(
        session, tenant_id=tenant_id, chat_id=chat_id, dedupe_key=f"listing:{listing}", message=heading, now=now
    )
    for subject, message in items:
        await outbox.enqueue(
            session,
            tenant_id=tenant_id,
            chat_id=chat_id,
            # Each listing is a copy of its own: the same proof listed twice in one chat is two messages to edit.
            dedupe_key=f"{subject}:to:{chat_id}{LISTED}{listing}",
            message=message,
            now=now,
        )
