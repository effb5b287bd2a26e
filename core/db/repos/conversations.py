"""The rows an update's step works on, the tenant, the person and their chat's conversation, read and written in as
few statements as the step needs, each a Core statement built once (the ORM's loading and flushing cost more than the
statements themselves on this path, which every update takes).

- A returning chat (nearly every update) is read in one statement, the rows locked as the first-contact upserts lock
  them (PostgreSQL; SQLite's write transactions are one at a time already).
- The conversation is given to the step as a copy the session does not track, and written back by :meth:`save`:
  one UPDATE when the step changed it, none when it did not (a refusal, a menu shown again).
- A first contact makes the customer with one upsert; on PostgreSQL the conversation too, at once, so that two first
  updates of one chat wait for each other on its key. On SQLite the outer join already saw, inside the transaction's
  write lock, that there is no conversation: it is made by :meth:`save`, with the step's changes, in one INSERT (no
  other writer can make it in between; one that somehow had would break the unique key, and the update is retried).

On SQLite an update's statements also go in as few trips to the connection's thread as they can
(``core/db/sqlite_trips.py``): the claim of the update's id, and a new customer, go with the read of its chat
(:meth:`record_and_read`), and the conversation's write with the COMMIT (:meth:`save`), so a step that reads and
writes nothing else makes two trips, a first contact's too.

Repositories never commit: the caller's unit of work does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    Executable,
    Insert,
    Select,
    Table,
    Update,
    and_,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, make_transient_to_detached

from core.db.sqlite_trips import defer_next
from core.db.tables import Conversation, Customer, ProcessedUpdate, Tenant

# A conversation's state as read: what :meth:`ConversationRepository.save` compares the step's copy with.
ConversationRead = tuple[str, dict[str, Any], datetime]

_CUSTOMERS = cast(Table, Customer.__table__)
_CONVERSATIONS = cast(Table, Conversation.__table__)
_VALUES = (_CONVERSATIONS.c.id, _CONVERSATIONS.c.step, _CONVERSATIONS.c.data, _CONVERSATIONS.c.updated_at)

_CUSTOMER_ON = and_(Customer.tenant_id == Tenant.id, Customer.tg_user_id == bindparam("tg_user_id"))
_CONVERSATION_ON = and_(_CONVERSATIONS.c.tenant_id == Tenant.id, _CONVERSATIONS.c.chat_id == bindparam("chat_id"))
# The tenant and the customer as the session's objects (the steps read and change them), the conversation as values.
_RETURNING_CHAT_LOCKED: Select[Any] = (
    select(Tenant, Customer, *_VALUES)
    .join(Customer, _CUSTOMER_ON)
    .join(_CONVERSATIONS, _CONVERSATION_ON)
    .where(Tenant.id == bindparam("tenant_id"))
    .with_for_update(of=[Customer, _CONVERSATIONS])
)
_RETURNING_CHAT_OUTER: Select[Any] = (
    select(Tenant, Customer, *_VALUES)
    .outerjoin(Customer, _CUSTOMER_ON)
    .outerjoin(_CONVERSATIONS, _CONVERSATION_ON)
    .where(Tenant.id == bindparam("tenant_id"))
)

# On SQLite, with the update's claim just before it in the same trip: changes() says whether the claim inserted its
# row (1) or found the update recorded already (0).
_RECORDED_AND_CHAT: Select[Any] = (
    select(func.changes(), Tenant, Customer, *_VALUES)
    .select_from(Tenant)
    .outerjoin(Customer, _CUSTOMER_ON)
    .outerjoin(_CONVERSATIONS, _CONVERSATION_ON)
    .where(Tenant.id == bindparam("tenant_id"))
)
ReturningChat = tuple[Tenant, Customer | None, Conversation | None]


def _records(dialect: str) -> Insert:
    """The update's id claimed once per tenant: a duplicate inserts nothing (and, on PostgreSQL, leaves the
    transaction usable). PostgreSQL's returns the row it made; SQLite's nothing (the read after it says)."""
    insert_of = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert_of(ProcessedUpdate)
        .values(tenant_id=bindparam("tenant_id"), update_id=bindparam("update_id"), received_at=bindparam("now"))
        .on_conflict_do_nothing()
    )
    return statement.returning(ProcessedUpdate.id) if dialect == "postgresql" else statement


_RECORDS = {dialect: _records(dialect) for dialect in ("sqlite", "postgresql")}
# On SQLite, with the claim and the read: the customer made if new, left as it is if not (nothing written then; the
# step moves its chat, as the upsert does, when they write from another one).
_NEW_CUSTOMER: Insert = (
    sqlite.insert(_CUSTOMERS)
    .values(
        tenant_id=bindparam("tenant_id"),
        tg_user_id=bindparam("tg_user_id"),
        chat_id=bindparam("chat_id"),
        display_name=bindparam("display_name"),
        created_at=bindparam("now"),
    )
    .on_conflict_do_nothing(index_elements=["tenant_id", "tg_user_id"])
)

_SAVE: Update = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("conversation_id"))
    .values(step=bindparam("step"), data=bindparam("data"), updated_at=bindparam("updated_at"))
)
# The conversation made by save, on SQLite (the only place it is made there): nothing returned, so that it can go
# with the COMMIT's trip; nothing after the step reads its id.
_MAKE: Insert = insert(_CONVERSATIONS).values(
    tenant_id=bindparam("tenant_id"),
    chat_id=bindparam("chat_id"),
    step=bindparam("step"),
    data=bindparam("data"),
    updated_at=bindparam("updated_at"),
)


def _upserts(dialect: str) -> tuple[Insert, Insert]:
    """The first-contact upserts of the customer and the conversation, as ``core.db.insert.insert_or_get`` makes
    them: the conflict branch updates (the customer's chat follows the chat they write from), so the row comes back
    and, on PostgreSQL, stays locked until the transaction ends."""
    insert_of = postgresql.insert if dialect == "postgresql" else sqlite.insert
    customer = insert_of(_CUSTOMERS).values(
        tenant_id=bindparam("tenant_id"),
        tg_user_id=bindparam("tg_user_id"),
        chat_id=bindparam("chat_id"),
        display_name=bindparam("display_name"),
        created_at=bindparam("now"),
    )
    customer = customer.on_conflict_do_update(
        index_elements=["tenant_id", "tg_user_id"], set_={"chat_id": customer.excluded.chat_id}
    )
    conversation = insert_of(_CONVERSATIONS).values(
        tenant_id=bindparam("tenant_id"),
        chat_id=bindparam("chat_id"),
        step="idle",
        data={},
        updated_at=bindparam("now"),
    )
    conversation = conversation.on_conflict_do_update(
        index_elements=["tenant_id", "chat_id"], set_={"tenant_id": conversation.excluded.tenant_id}
    )
    return customer.returning(*_CUSTOMERS.c), conversation.returning(*_VALUES)


_UPSERTS = {dialect: _upserts(dialect) for dialect in ("sqlite", "postgresql")}


def as_read(conversation: Conversation) -> ConversationRead:
    return conversation.step, conversation.data, conversation.updated_at


def _copy(tenant_id: int, chat_id: int, values: Any) -> Conversation:
    """A conversation the session does not track (never flushed): :meth:`ConversationRepository.save` writes it."""
    conversation_id, step, data, updated_at = values
    return Conversation(
        id=conversation_id, tenant_id=tenant_id, chat_id=chat_id, step=step, data=data, updated_at=updated_at
    )


def _claimed_and_read(
    session: Session, claim: dict[str, Any], customer: dict[str, Any] | None, read: dict[str, Any]
) -> Row[Any] | None:
    """On SQLite: the new customer (if ``customer``) and the claim wait for the read, and go in its trip."""
    connection = session.connection()
    if customer is not None:  # before the claim: the read's changes() must be the claim's
        defer_next(connection)
        connection.execute(_NEW_CUSTOMER, customer)
    defer_next(connection)
    connection.execute(_RECORDS["sqlite"], claim)
    return session.execute(_RECORDED_AND_CHAT, read).first()


def _written(session: Session, statement: Executable, values: dict[str, Any], *, deferred: bool) -> None:
    connection = session.connection()
    if deferred:
        defer_next(connection)
    connection.execute(statement, values)


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = session.bind.dialect.name if session.bind else "sqlite"

    async def record_and_read(
        self,
        tenant_id: int,
        update_id: int,
        tg_user_id: int,
        chat_id: int,
        now: datetime,
        display_name: str | None = None,
    ) -> tuple[bool, ReturningChat | None]:
        """Claims the tenant's update ``update_id`` (received ``now``) and reads its chat as :meth:`returning_chat`
        does: (False, None) when the update was recorded before (a duplicate; nothing else is read on PostgreSQL),
        else (True, what :meth:`returning_chat` gives). On SQLite the claim goes with the read, in one trip, and
        with ``display_name`` (someone speaks) a customer new to the shop is made in it too (so the read finds
        one): a first contact then makes no trip of its own."""
        values = {"tenant_id": tenant_id, "update_id": update_id, "now": now}
        if self.dialect != "sqlite":
            if (await self._core(_RECORDS[self.dialect], values)).first() is None:
                return False, None
            return True, await self.returning_chat(tenant_id, tg_user_id, chat_id, now)
        customer = (
            None
            if display_name is None
            else {**values, "tg_user_id": tg_user_id, "chat_id": chat_id, "display_name": display_name}
        )
        read = {"tenant_id": tenant_id, "tg_user_id": tg_user_id, "chat_id": chat_id}
        # In one greenlet: each of the session's awaitable calls is a greenlet of its own, which costs more than
        # these statements' own work in Python.
        found = await self.session.run_sync(_claimed_and_read, values, customer, read)
        row = found
        if row is None:  # no such tenant (its claim would have broken the foreign key first)
            return True, None
        if not row[0]:
            return False, None
        return True, self._found(tenant_id, chat_id, now, row[1:])

    async def claim(self, tenant_id: int, update_id: int, now: datetime) -> bool:
        """Claims the tenant's update ``update_id`` alone, for an update that reads no chat (an inline query):
        False when it was recorded before (a duplicate)."""
        values = {"tenant_id": tenant_id, "update_id": update_id, "now": now}
        result = await self._core(_RECORDS[self.dialect], values)
        if self.dialect == "postgresql":
            return result.first() is not None
        return result.rowcount == 1

    async def _core(self, statement: Executable, values: dict[str, Any]) -> CursorResult[Any]:
        """A Core statement on the session's connection: through the session, an INSERT into a mapped table takes
        the ORM's bulk path, which costs more than the statement."""
        return await (await self.session.connection()).execute(statement, values)

    async def returning_chat(
        self, tenant_id: int, tg_user_id: int, chat_id: int, now: datetime
    ) -> ReturningChat | None:
        """The tenant with the customer and the chat's conversation where they are there already (every update
        after a person's first), locked for this transaction as the first-contact upserts lock them. None when
        nothing was found (no such tenant; on PostgreSQL, a first contact too): the caller then reads the tenant and
        makes what is missing with :meth:`customer` and :meth:`open`. On SQLite a chat without a conversation gets a
        new one, made by :meth:`save` (the module's docstring says why that is safe there)."""
        statement = _RETURNING_CHAT_OUTER if self.dialect == "sqlite" else _RETURNING_CHAT_LOCKED
        found = await self.session.execute(
            statement, {"tenant_id": tenant_id, "tg_user_id": tg_user_id, "chat_id": chat_id}
        )
        row = found.first()
        return None if row is None else self._found(tenant_id, chat_id, now, row)

    @staticmethod
    def _found(tenant_id: int, chat_id: int, now: datetime, row: Any) -> ReturningChat:
        if row[2] is not None:
            conversation = _copy(tenant_id, chat_id, row[2:])
        else:  # only on SQLite: the locked inner join finds nothing without a conversation
            conversation = _copy(tenant_id, chat_id, (None, "idle", {}, now))
        return row[0], row[1], conversation

    async def customer(
        self, tenant_id: int, tg_user_id: int, chat_id: int, display_name: str, now: datetime
    ) -> Customer:
        """The Telegram user's customer row, made on first contact (``chat_id`` follows the chat they write from),
        as the session's object (a step may change it) though the session did not load it: it was not loaded in
        this session before (the caller found none)."""
        values = {
            "tenant_id": tenant_id,
            "tg_user_id": tg_user_id,
            "chat_id": chat_id,
            "display_name": display_name,
            "now": now,
        }
        row = (await self._core(_UPSERTS[self.dialect][0], values)).one()
        customer = Customer(**row._mapping)
        make_transient_to_detached(customer)  # the row as it is in the database: nothing of it is pending
        self.session.add(customer)
        return customer

    async def open(self, tenant_id: int, chat_id: int, now: datetime) -> Conversation:
        """The chat's conversation, made on first contact and locked for this transaction (by the insert's conflict
        update), so two updates of one chat apply in turn; a copy, as :meth:`returning_chat` gives it."""
        values = {"tenant_id": tenant_id, "chat_id": chat_id, "now": now}
        row = (await self._core(_UPSERTS[self.dialect][1], values)).one()
        return _copy(tenant_id, chat_id, row)

    async def save(self, conversation: Conversation, read: ConversationRead) -> bool:
        """Writes a conversation given as a copy: one UPDATE when its step, data or time moved from ``read`` (the row
        is this transaction's, locked), or the INSERT of a new one (:meth:`returning_chat` on SQLite, whose id is not
        read back: the step is done). Whether it wrote. Call it last before the commit: on SQLite the write waits for
        the connection's next trip, and fails there if it fails."""
        values = {"step": conversation.step, "data": conversation.data, "updated_at": conversation.updated_at}
        if conversation.id is None:
            values.update(tenant_id=conversation.tenant_id, chat_id=conversation.chat_id)
        elif as_read(conversation) == read:
            return False
        else:
            values["conversation_id"] = conversation.id
        statement = _MAKE if conversation.id is None else _SAVE
        # On SQLite the write goes with the COMMIT's trip (or the next statement's).
        await self.session.run_sync(_written, statement, values, deferred=self.dialect == "sqlite")
        return True
