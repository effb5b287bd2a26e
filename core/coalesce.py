"""Gathering news of one kind into one running message per chat: the merchant's "order paid" alerts, when many orders
are paid close together, become one message edited into a list ("💰 5 orders paid in the last minute: ...") instead of
one message each, which a chat paced at one message a second could never keep up with.

Rows are written with a ``coalesce`` name (``core.outbox.enqueue``). When the relay's turn comes for such a row, it
claims every other due row of the same chat with the same name (``outbox.claim_due(chat=..., coalesce=...)``) and
delivers them all with one call: an edit of the group's message when the chat's latest group of that name began less
than ``window`` ago and has room, else a new message. Every row of a group records the same ``sent_message_id``, which
is how the next rows find the group. A group's message lists every row it gathered, in the order they were written;
a lone row goes out as it is. An edit Telegram refuses goes out as a new message with the whole list (the notifier's
fallback), and the rows then point at that one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import texts
from core.clock import utc
from core.db.tables import OutboxMessage, Tenant
from core.messages import Button, Message
from core.outbox import COALESCE_FIELD, Claimed, OutboxStatus, claim_due

logger = logging.getLogger("core.relay")

# A group's message lists at most this many rows (one keyboard row each, far below Telegram's 100 buttons, and a
# list a merchant can still read); the next row starts a new message.
MAX_ROWS = 20
_HEADER_KEY = "outbox.coalesced.{name}"


async def claim_group(
    session: AsyncSession, row: Claimed, now: datetime, lease: timedelta, window: timedelta
) -> tuple[list[Claimed], Gathered]:
    """``row`` (claimed, with a ``coalesce`` name) with every other due row of its chat and name, claimed for
    ``lease``, oldest first, and how to show them together."""
    assert row.coalesce is not None
    rows = [row, *await claim_due(session, now, MAX_ROWS - 1, lease, chat=row.chat, coalesce=row.coalesce)]
    rows.sort(key=lambda r: r.id)
    if len(rows) > 1:
        logger.debug("outbox rows %s to chat %s go as one message", [r.id for r in rows], row.chat_id)
    return rows, await gather(session, rows, now, window)


@dataclass(frozen=True, slots=True)
class Gathered:
    """What to deliver for a group of rows: ``message``, as an edit of ``edit_message_id`` (None: a new message)."""

    message: Message
    edit_message_id: int | None


async def gather(session: AsyncSession, rows: Sequence[Claimed], now: datetime, window: timedelta) -> Gathered:
    """The message that shows ``rows`` (claimed, one chat, one ``coalesce`` name, oldest first) together with the
    chat's open group of that name, if there is one."""
    first = rows[0]
    name = first.coalesce
    assert name is not None and all(r.coalesce == name and r.chat == first.chat for r in rows)
    earlier = await _open_group(session, first, name, now, window, room=MAX_ROWS - len(rows))
    if earlier is None and len(rows) == 1:
        return Gathered(first.message, None)
    # The groups are the merchant's alerts: in the language their rows were written in (``Message.language``: the
    # chat's reader's, core.merchant_alerts), else the shop's.
    language = first.message.language or (
        await session.scalar(select(Tenant.language).where(Tenant.id == first.tenant_id)) or "en"
    )
    if earlier is None:
        return Gathered(running_list(name, [r.message for r in rows], language), None)
    message_id, shown = earlier
    return Gathered(running_list(name, [*shown, *(r.message for r in rows)], language), message_id)


async def _open_group(
    session: AsyncSession, row: Claimed, name: str, now: datetime, window: timedelta, *, room: int
) -> tuple[int, list[Message]] | None:
    """The chat's latest group of ``name``: its message id and the messages it shows, when it began within ``window``
    and holds at most ``room`` rows (so the new ones fit); else None."""
    if room < 0:
        return None
    sent = (
        OutboxMessage.tenant_id == row.tenant_id,
        OutboxMessage.chat_id == row.chat_id,
        OutboxMessage.status == OutboxStatus.SENT.value,
        OutboxMessage.payload[COALESCE_FIELD].as_string() == name,
    )
    latest = await session.scalar(
        select(OutboxMessage.sent_message_id)
        .where(*sent, OutboxMessage.sent_message_id.is_not(None))
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    if latest is None:
        return None
    group = (
        await session.execute(
            select(OutboxMessage.payload, OutboxMessage.sent_at)
            .where(*sent, OutboxMessage.sent_message_id == latest)
            .order_by(OutboxMessage.id)
        )
    ).all()
    began = min((utc(at) for _, at in group if at is not None), default=None)
    if not group or began is None or began < now - window or len(group) > room:
        return None
    return latest, [Message.from_payload(payload) for payload, _ in group]


def running_list(name: str, messages: Sequence[Message], language: str = texts.DEFAULT_LANGUAGE) -> Message:
    """One message listing ``messages``, numbered, under a header that counts them; each message's buttons come along,
    numbered the same way."""
    header_key = _HEADER_KEY.format(name=name)
    count = len(messages)
    header = texts.plural(header_key, count, language) if texts.has(header_key) else f"{count}:"
    lines = [f"{number}. {message.text}" for number, message in enumerate(messages, 1)]
    buttons = tuple(
        tuple(_numbered(button, number) for button in row)
        for number, message in enumerate(messages, 1)
        for row in message.buttons
    )
    return Message("\n".join([header, *lines]), buttons, language=language)


def _numbered(button: Button, number: int) -> Button:
    return Button(f"{button.text} · {number}", data=button.data, url=button.url)
