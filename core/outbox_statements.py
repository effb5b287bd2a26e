"""The relay's statements on the outbox, built once: the relay runs them for every message it sends, and building a
statement with its subqueries (and its cache key) cost more than running it. The values come with each execution
as parameters: ``now``, ``limit``, and what the variant names (``tenant_id``/``chat_id``, ``chats``, ``skip``,
``coalesce``)."""

from __future__ import annotations

import enum
import functools
from typing import Any, cast

from sqlalchemy import BindParameter, ColumnElement, Select, Table, and_, bindparam, exists, or_, select, tuple_, update
from sqlalchemy.orm import aliased

from core.db.tables import OutboxMessage


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    UNDELIVERABLE = "undeliverable"  # the user blocked the bot: never retried
    DEAD = "dead"  # gave up after the bounded number of tries
    SUPERSEDED = "superseded"  # a later row replaced it before it was sent: its news was stale, never sent


COALESCE_FIELD = "coalesce"  # the payload field naming a row's coalescing group (core.outbox.coalesce_name)
PENDING = OutboxStatus.PENDING.value
SENT = OutboxStatus.SENT.value

_NOW: BindParameter[Any] = bindparam("now")
_OUTBOX = cast(Table, OutboxMessage.__table__)


def free(table: type[OutboxMessage] | Any) -> ColumnElement[bool]:
    """Due and not held by a live lease at ``:now``: a row a relay may claim."""
    return and_(
        table.status == PENDING,
        table.next_attempt_at <= _NOW,
        or_(table.claimed_until.is_(None), table.claimed_until <= _NOW),
    )


def _chat_is_free() -> ColumnElement[bool]:
    """No row of this row's chat is held by a live lease: one relay delivers a chat at a time, so its rows keep
    their order even with several relays."""
    held = aliased(OutboxMessage)
    return ~exists().where(
        held.tenant_id == OutboxMessage.tenant_id,
        held.chat_id == OutboxMessage.chat_id,
        held.status == PENDING,
        held.claimed_until > _NOW,
    )


def _first_of_its_chat() -> ColumnElement[bool]:
    """No claimable row of the same chat comes before this one (``next_attempt_at``, then ``id``)."""
    earlier = aliased(OutboxMessage)
    return ~exists().where(
        earlier.tenant_id == OutboxMessage.tenant_id,
        earlier.chat_id == OutboxMessage.chat_id,
        free(earlier),
        or_(
            earlier.next_attempt_at < OutboxMessage.next_attempt_at,
            and_(earlier.next_attempt_at == OutboxMessage.next_attempt_at, earlier.id < OutboxMessage.id),
        ),
    )


_CHAT = tuple_(OutboxMessage.tenant_id, OutboxMessage.chat_id)


@functools.cache
def any_due(*, skipping: bool) -> Select[Any]:
    """One due row's id, of a chat no relay holds (and not in ``:skip``)."""
    due = select(OutboxMessage.id).where(free(OutboxMessage), _chat_is_free())
    if skipping:
        due = due.where(_CHAT.not_in(bindparam("skip", expanding=True)))
    return due.limit(1)


@functools.cache
def claim(*, one_chat: bool, in_chats: bool, skipping: bool, coalescing: bool, locking: bool) -> Select[Any]:
    """The due rows ``core.outbox.claim_due`` claims, in that variant: the first row of each free chat (of
    ``:tenant_id``/``:chat_id`` alone, of ``:chats`` only, or not of ``:skip``), or with ``coalescing`` every due row
    of one chat named ``:coalesce``; at most ``:limit``; locked with SKIP LOCKED on PostgreSQL (``locking``)."""
    due = select(OutboxMessage).where(free(OutboxMessage))
    if in_chats:
        due = due.where(_CHAT.in_(bindparam("chats", expanding=True)))
    if skipping:
        due = due.where(_CHAT.not_in(bindparam("skip", expanding=True)))
    if one_chat:
        due = due.where(
            OutboxMessage.tenant_id == bindparam("tenant_id"), OutboxMessage.chat_id == bindparam("chat_id")
        )
    if coalescing:
        due = due.where(OutboxMessage.payload[COALESCE_FIELD].as_string() == bindparam("coalesce"))
    else:
        due = due.where(_chat_is_free(), _first_of_its_chat())
    due = due.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(bindparam("limit"))
    if locking:
        due = due.with_for_update(skip_locked=True, of=OutboxMessage)
    return due


# Rows sent, recorded together: one statement executed with a parameter set per row (``:row_id``, ``:message_id``).
MARK_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"))
    .values(
        status=SENT,
        sent_at=_NOW,
        claimed_until=None,
        attempts=_OUTBOX.c.attempts + 1,
        sent_message_id=bindparam("message_id"),
    )
)
