"""The transactional outbox: messages owed because of a state change, written in the change's own transaction.

A row is unique on its dedupe key (one transition, one message). The relay claims due rows, sends them through a
``Notifier`` and records the result, with the Telegram message id of what it sent; a crash between commit and send
leaves the row due, so nothing is lost.

A row whose message ``replaces`` an earlier row's dedupe key (same tenant, same chat) takes that row's place in the
chat: when the earlier row was sent, its Telegram message is edited into the new one; when it is still owed, it is
superseded (never sent) and the new one goes out as a new message; when it was superseded, the message that took its
place is edited; when it is unknown or ended otherwise, the new one goes out as new. See ``replacing``.

A row whose earlier send has an unknown outcome (``Claimed.unknown``) may already be in the chat: Telegram may have
accepted it just before the relay died, or just after the relay stopped waiting for the answer. Such a row is
recognised without a column of its own: a claim that finds the lease of an earlier claim run out, with no result
recorded (every result clears ``claimed_until``), notes ``OUTCOME_UNKNOWN`` in ``last_error``, and the note stays on
the row until it is sent or given up. The relay then delivers it so that a second copy is harmless.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core import channels
from core import outbox_statements as statements
from core.db.insert import insert_if_absent
from core.db.tables import OutboxMessage
from core.messages import Message
from core.outbox_statements import COALESCE_FIELD as COALESCE_FIELD
from core.outbox_statements import OutboxStatus as OutboxStatus
from core.texts import DEFAULT_LANGUAGE, text


async def enqueue(
    session: AsyncSession,
    *,
    tenant_id: int,
    chat_id: int,
    dedupe_key: str,
    message: Message,
    now: datetime,
    coalesce: str | None = None,
    deliver: dict[str, Any] | None = None,
) -> bool:
    """Owe ``message`` to ``chat_id``. False when a message with this dedupe key is already owed or sent.

    ``coalesce`` names a kind of news that may be gathered into one running message (``COALESCE_PAID``): rows of one
    chat with the same name that come close together are delivered as one message, then edits of it (``core.coalesce``).
    ``deliver``: the channel and address of a message owed on another channel than the chat (``core.channels``).
    A bulk writer builds its rows with ``row_values``."""
    new_id = await insert_if_absent(
        session,
        OutboxMessage.__table__,  # type: ignore[arg-type]
        row_values(
            tenant_id=tenant_id,
            chat_id=chat_id,
            dedupe_key=dedupe_key,
            message=message,
            now=now,
            coalesce=coalesce,
            deliver=deliver,
        ),
    )
    if new_id is not None:
        session.info[_OWED] = True
    return new_id is not None


_OWED = "dukabot.outbox.owed"

# ``coalesce`` of the merchant's "order paid" alerts.
COALESCE_PAID = "paid"
# Where a row's ``coalesce`` name is kept: in its payload, beside the message (``Message.from_payload`` ignores it).
# A message may ask its writer to coalesce it: ``Message(..., extra={COALESCE_FIELD: COALESCE_PAID})`` (see
# ``coalescing``), so a writer that passes messages along (``payments.notices.to_merchant``) needs no new argument.


def coalescing(message: Message) -> str | None:
    """The ``coalesce`` name a message asks for through its ``extra``, or None."""
    wanted = message.extra.get(COALESCE_FIELD)
    return wanted if isinstance(wanted, str) else None


def row_values(
    *,
    tenant_id: int,
    chat_id: int,
    dedupe_key: str,
    message: Message,
    now: datetime,
    coalesce: str | None = None,
    deliver: dict[str, Any] | None = None,
) -> dict[str, object]:
    """The column values of a new outbox row (for ``enqueue``, and for a writer that inserts many rows at once)."""
    payload = message.to_payload()
    if coalesce is not None:
        payload[COALESCE_FIELD] = coalesce
    if deliver is not None:
        payload[channels.DELIVER_FIELD] = deliver
    return {
        "tenant_id": tenant_id,
        "dedupe_key": dedupe_key,
        "chat_id": chat_id,
        "payload": payload,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def owes_messages(session: AsyncSession) -> bool:
    """Whether this session's transaction wrote outbox rows: only then is the relay worth waking after commit."""
    return bool(session.info.get(_OWED))


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    tenant_id: int
    chat_id: int
    message: Message
    attempts: int
    created_at: datetime
    unknown: bool = False  # an earlier send may have reached the chat (see the module docstring)
    lease_end: datetime | None = None  # when this claim's lease runs out (None: not known to the caller)
    coalesce: str | None = None  # see ``enqueue``
    # ``message.replaces`` resolved in the unit of work that claimed the row (``resolve_replacing``); None: not yet
    replacing: Replacing | None = None

    @property
    def chat(self) -> tuple[int, int]:
        return (self.tenant_id, self.chat_id)


# The start of ``last_error`` on a row an earlier send of which may have reached the chat.
OUTCOME_UNKNOWN = "outcome unknown: "


def as_repeat(message: Message) -> Message:
    """``message`` marked as a repeat of an earlier one, for a row whose earlier send may have reached the chat: in
    the language its writer said its reader reads (``Message.language``)."""
    words = text("outbox.repeated", message.language or DEFAULT_LANGUAGE, message=message.text)
    return dataclasses.replace(message, text=words)


def noted(reason: str, *, unknown: bool) -> str:
    """``reason`` as stored in ``last_error``: prefixed with ``OUTCOME_UNKNOWN`` for a row whose outcome is unknown."""
    if unknown and not reason.startswith(OUTCOME_UNKNOWN):
        return OUTCOME_UNKNOWN + reason
    return reason


async def any_due(session: AsyncSession, now: datetime, *, skip: Sequence[tuple[int, int]] = ()) -> bool:
    """Whether ``claim_due`` would find a row (of a chat not in ``skip``): a read, so a relay that looks now and then
    takes no write lock to find nothing."""
    found = await session.scalar(statements.any_due(skipping=bool(skip)), {"now": now, "skip": list(skip)})
    return found is not None


async def claim_due(
    session: AsyncSession,
    now: datetime,
    limit: int,
    lease: timedelta,
    *,
    chat: tuple[int, int] | None = None,
    chats: Sequence[tuple[int, int]] = (),
    coalesce: str | None = None,
    skip: Sequence[tuple[int, int]] = (),
) -> list[Claimed]:
    """Claim for ``lease`` the first due row of up to ``limit`` chats (of ``chat`` alone when given) that no relay
    holds. On PostgreSQL, SKIP LOCKED lets several relays share the table: a relay that claims a chat's first row
    locks it, and the rows behind it are not first, so no other relay takes them meanwhile; once committed, the
    lease keeps the whole chat to that relay until it records its result. The lease also means a relay that died
    mid-send gives its rows back when the lease runs out.

    With ``chat`` and ``coalesce``, claims instead up to ``limit`` due rows of that chat with that ``coalesce`` name,
    wherever they stand in the chat (their news is gathered into one message): call it only while holding a row of
    the chat. ``skip``: chats (tenant id, chat id) not to claim from now, which the caller knows to be paced.
    ``chats``: only from these chats (the next row of each, in one statement)."""
    if coalesce is not None and chat is None:
        raise ValueError("coalesced rows are claimed for one chat")
    statement = statements.claim(
        one_chat=chat is not None,
        in_chats=bool(chats),
        skipping=bool(skip),
        coalescing=coalesce is not None,
        locking=session.bind is not None and session.bind.dialect.name == "postgresql",
    )
    parameters: dict[str, object] = {"now": now, "limit": limit}
    if chats:
        parameters["chats"] = list(chats)
    if skip:
        parameters["skip"] = list(skip)
    if chat is not None:
        parameters["tenant_id"], parameters["chat_id"] = chat
    if coalesce is not None:
        parameters["coalesce"] = coalesce
    claimed: list[Claimed] = []
    for row in await session.scalars(statement, parameters):
        try:
            message = channels.for_channel(row.payload, row.id, Message.from_payload(row.payload))
        except (KeyError, TypeError, ValueError) as error:
            # A row that cannot be read would be claimed and fail forever, holding up the rows behind it.
            row.status = OutboxStatus.DEAD.value
            row.last_error = f"unreadable payload: {type(error).__name__}"
            continue
        # An earlier claim whose lease ran out with no result recorded: that relay died, maybe after Telegram
        # accepted the message. Noted on the row, so the doubt survives until the row is sent.
        unknown = row.claimed_until is not None or (row.last_error or "").startswith(OUTCOME_UNKNOWN)
        if row.claimed_until is not None:
            row.last_error = noted(row.last_error or "a relay stopped before recording its send", unknown=True)[:500]
        row.claimed_until = now + lease
        wanted = row.payload.get(COALESCE_FIELD)
        claimed.append(
            Claimed(
                id=row.id,
                tenant_id=row.tenant_id,
                chat_id=row.chat_id,
                message=message,
                attempts=row.attempts,
                created_at=row.created_at,
                unknown=unknown,
                lease_end=now + lease,
                coalesce=wanted if isinstance(wanted, str) else None,
            )
        )
    return claimed


async def give_back(session: AsyncSession, row_ids: Sequence[int], until: datetime) -> None:
    """Give claimed rows back, uncounted and with their last error kept, due again at ``until``."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(row_ids), OutboxMessage.status == OutboxStatus.PENDING.value)
        .values(next_attempt_at=until, claimed_until=None)
        .execution_options(synchronize_session=False)
    )


async def hold_chat(session: AsyncSession, chat: tuple[int, int], now: datetime, until: datetime) -> int:
    """Move every free row of ``chat`` due before ``until`` to ``until``, uncounted: a chat paced or paused keeps its
    order and is not claimed row by row meanwhile. Returns how many rows moved."""
    moved = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.tenant_id == chat[0],
            OutboxMessage.chat_id == chat[1],
            OutboxMessage.status == OutboxStatus.PENDING.value,
            OutboxMessage.next_attempt_at < until,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now),
        )
        .values(next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(moved, "rowcount", 0) or 0)


async def mark_sent(session: AsyncSession, row_id: int, now: datetime, message_id: int | None = None) -> None:
    """``message_id``: the Telegram message that now shows the row (the one sent, or the one edited into it)."""
    await mark_all_sent(session, [(row_id, message_id)], now)


async def mark_all_sent(session: AsyncSession, rows: Sequence[tuple[int, int | None]], now: datetime) -> None:
    """Record rows sent, each as (row id, the Telegram message that now shows it), in one statement."""
    if rows:
        await session.execute(
            statements.MARK_SENT,
            [{"row_id": row_id, "message_id": message_id, "now": now} for row_id, message_id in rows],
        )


async def mark_retry(session: AsyncSession, row_id: int, next_attempt_at: datetime, error: str, *, count: bool) -> None:
    """Put a row back for later. ``count`` is false for a rate limit: waiting out a 429 is not a failed try."""
    values: dict[str, object] = {
        "next_attempt_at": next_attempt_at,
        "claimed_until": None,
        "last_error": error[:500],
    }
    if count:
        values["attempts"] = OutboxMessage.attempts + 1
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values))


async def mark_final(session: AsyncSession, row_id: int, status: OutboxStatus, error: str) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(
            status=status.value,
            claimed_until=None,
            last_error=error[:500],
            attempts=OutboxMessage.attempts + 1,
        )
    )


async def depth(session: AsyncSession) -> int:
    count = await session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING.value)
    )
    return int(count or 0)


@dataclass(frozen=True, slots=True)
class Owed:
    """One message owed to one chat, for :func:`enqueue_many`."""

    chat_id: int
    dedupe_key: str
    message: Message


_OUTBOX = OutboxMessage.__table__
_ENQUEUE_MANY = {
    name: module.insert(_OUTBOX).on_conflict_do_nothing().returning(_OUTBOX.c.id)
    for name, module in (("postgresql", postgresql), ("sqlite", sqlite))
}


async def enqueue_many(session: AsyncSession, *, tenant_id: int, owed: Sequence[Owed], now: datetime) -> int:
    """Owe every message of ``owed`` in one INSERT (a transition that tells the customer and the merchant at once).
    Rows whose dedupe key is already owed or sent are skipped, as :func:`enqueue` does; returns how many were new."""
    if not owed:
        return 0
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    rows = [
        row_values(
            tenant_id=tenant_id,
            chat_id=one.chat_id,
            dedupe_key=one.dedupe_key,
            message=one.message,
            now=now,
            coalesce=coalescing(one.message),  # a paid alert asks for it (payments.notices.paid_alert)
        )
        for one in owed
    ]
    # The rows go as parameters of a statement built once: SQLAlchemy still sends them as one multi-row INSERT
    # (its "insertmanyvalues"), and compiles it once per process rather than once per call.
    statement = _ENQUEUE_MANY["postgresql" if dialect == "postgresql" else "sqlite"]
    added = len((await session.execute(statement, rows)).all())
    if added:
        session.info[_OWED] = True
    return added


# A replacing row's resolution lives beside this module (it needs ``Claimed``); its names are the outbox's too.
from core.outbox_replacing import Replacing as Replacing  # noqa: E402
from core.outbox_replacing import replacing as replacing  # noqa: E402
from core.outbox_replacing import resolve_replacing as resolve_replacing  # noqa: E402
