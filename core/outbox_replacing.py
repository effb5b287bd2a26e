"""How a row that ``replaces`` an earlier row of its chat is delivered (see ``core.outbox``).

A row that replaces another is resolved in the unit of work that claims it, where
the chat's earlier rows are recorded and the chat is held (``outbox.resolve_replacing``), so it costs no commit of
its own: the notifier edits the earlier row's Telegram message when that row was sent (and sends anew
when the edit is refused); an earlier row still owed is superseded and never sent; one held by another relay's lease
is waited for, the replacing row and those after it in its chat given back uncounted. So a replacement never
overtakes the row it replaces, and the chat shows exactly one of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import utc
from core.db.tables import OutboxMessage
from core.outbox import Claimed, OutboxStatus


@dataclass(frozen=True, slots=True)
class Replacing:
    """How to deliver a row that replaces an earlier one: edit ``message_id`` (None: send as a new message), unless
    ``wait_until`` is set: the earlier row may be in flight at another relay, so the row waits and keeps its place."""

    message_id: int | None = None
    wait_until: datetime | None = None


_IN_FLIGHT_RECHECK = timedelta(seconds=1)


async def replacing(session: AsyncSession, row: Claimed, now: datetime) -> Replacing:
    """Resolve ``row.message.replaces`` right before the row is sent (rows of a chat go in order, so an earlier row
    of the same batch has been recorded by then). An earlier row still owed and free is superseded here, in the
    caller's unit of work, so it can never arrive after its replacement; one held by a relay's lease is waited for."""
    key = row.message.replaces
    if key is None:
        return Replacing()
    earlier = await session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.dedupe_key == key,
            OutboxMessage.tenant_id == row.tenant_id,
            OutboxMessage.chat_id == row.chat_id,
            OutboxMessage.id != row.id,
        )
    )
    if earlier is None:
        return Replacing()
    if earlier.status == OutboxStatus.SENT.value:
        return Replacing(message_id=earlier.sent_message_id)
    if earlier.status == OutboxStatus.SUPERSEDED.value:
        return Replacing(message_id=await _heir(session, row, earlier))
    if earlier.status != OutboxStatus.PENDING.value:
        return Replacing()  # undeliverable or dead: nothing in the chat to edit
    held = earlier.claimed_until
    superseded = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == earlier.id,
            OutboxMessage.status == OutboxStatus.PENDING.value,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now),
        )
        .values(status=OutboxStatus.SUPERSEDED.value, claimed_until=None, last_error=f"replaced by row {row.id}")
        .execution_options(synchronize_session=False)
    )
    if getattr(superseded, "rowcount", 0):
        return Replacing()
    until = utc(held) if held is not None else now
    return Replacing(wait_until=max(until, now + _IN_FLIGHT_RECHECK))


async def _heir(session: AsyncSession, row: Claimed, superseded: OutboxMessage) -> int | None:
    """The message that holds a superseded row's place in the chat: the latest sent row that replaced it. Without
    this, a result would come as a new message below the one that superseded "sending…" ("check your phone"),
    leaving that one in the chat still asking for the PIN."""
    heir = await session.scalar(
        select(OutboxMessage.sent_message_id)
        .where(
            OutboxMessage.id > superseded.id,  # a range of the primary key: only the rows written since
            OutboxMessage.id != row.id,
            OutboxMessage.tenant_id == row.tenant_id,
            OutboxMessage.chat_id == row.chat_id,
            OutboxMessage.status == OutboxStatus.SENT.value,
            OutboxMessage.payload["replaces"].as_string() == superseded.dedupe_key,
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    return heir


async def resolve_replacing(session: AsyncSession, rows: Sequence[Claimed], now: datetime) -> list[Claimed]:
    """``rows`` just claimed in this unit of work, each that replaces another with its resolution (``replacing``):
    the claim holds the chat, and every earlier row of the chat is recorded, so it is what the relay would find right
    before the send, without a unit of work of its own. Each row must be its chat's first claimed."""
    resolved = []
    for row in rows:
        if row.message.replaces is not None and row.replacing is None:
            row = dataclasses.replace(row, replacing=await replacing(session, row, now))
        resolved.append(row)
    return resolved
