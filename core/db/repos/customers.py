from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Insert, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from core.db.insert import insert_or_get
from core.db.sqlite_trips import defer_next
from core.db.tables import CartItem, Conversation, Customer

Row = TypeVar("Row", Customer, Conversation)

# The first-contact upserts of open_context (an update's step uses core.db.repos.conversations), as
# core.db.insert.insert_or_get makes them (the conflict branch updates, so the row comes
# back and, on PostgreSQL, stays locked), built once per dialect: they run on every first contact, and building one
# (its ``excluded`` alias, its cache key) costs more than running it.
_UPSERTS: dict[tuple[str, str], Insert] = {}


def _upsert(dialect: str, entity: type[Customer] | type[Conversation]) -> Insert:
    statement = _UPSERTS.get((dialect, entity.__name__))
    if statement is not None:
        return statement
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    if entity is Customer:
        made = insert(Customer).values(
            tenant_id=bindparam("tenant_id"),
            tg_user_id=bindparam("tg_user_id"),
            chat_id=bindparam("chat_id"),
            display_name=bindparam("display_name"),
            created_at=bindparam("now"),
        )
        # chat_id follows the chat they write from
        made = made.on_conflict_do_update(
            index_elements=["tenant_id", "tg_user_id"], set_={"chat_id": made.excluded.chat_id}
        )
    else:
        made = insert(Conversation).values(
            tenant_id=bindparam("tenant_id"),
            chat_id=bindparam("chat_id"),
            step="idle",
            data=bindparam("data", type_=Conversation.__table__.c.data.type),
            updated_at=bindparam("now"),
        )
        made = made.on_conflict_do_update(
            index_elements=["tenant_id", "chat_id"], set_={"tenant_id": made.excluded.tenant_id}
        )
    statement = made.returning(entity)
    _UPSERTS[(dialect, entity.__name__)] = statement
    return statement


_POPULATE = {"populate_existing": True}


_TOUCH = (
    update(Customer.__table__)  # type: ignore[arg-type]
    .where(Customer.__table__.c.id == bindparam("customer_id"))
    .values(cart_touched_at=bindparam("at"), cart_remind_at=bindparam("remind_at"))
)


def _touched(session: Session, customer_id: int, at: datetime | None, remind_at: datetime | None) -> None:
    connection = session.connection()
    defer_next(connection)
    connection.execute(_TOUCH, {"customer_id": customer_id, "at": at, "remind_at": remind_at})


class CustomerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_or_create(
        self, tenant_id: int, tg_user_id: int, chat_id: int, display_name: str, now: datetime
    ) -> Customer:
        """The Telegram user's customer row, made on first contact; ``chat_id`` follows the chat they write from."""
        values = {
            "tenant_id": tenant_id,
            "tg_user_id": tg_user_id,
            "chat_id": chat_id,
            "display_name": display_name,
            "now": now,
        }
        return await self._upserted(Customer, values)

    async def by_id(self, tenant_id: int, customer_id: int) -> Customer | None:
        return await self.session.scalar(
            select(Customer).where(Customer.tenant_id == tenant_id, Customer.id == customer_id)
        )

    async def conversation(self, tenant_id: int, chat_id: int, now: datetime) -> Conversation:
        """The chat's conversation row, made on first contact and locked for this transaction (by the insert's
        conflict update), so two updates of one chat apply in turn."""
        return await self._upserted(Conversation, {"tenant_id": tenant_id, "chat_id": chat_id, "data": {}, "now": now})

    async def _upserted(self, entity: type[Row], values: dict[str, Any]) -> Row:
        dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
        result = await self.session.scalars(_upsert(dialect, entity), values, execution_options=_POPULATE)
        row: Row = result.one()
        return row

    async def cart(self, customer_id: int) -> list[CartItem]:
        rows = await self.session.scalars(
            select(CartItem).where(CartItem.customer_id == customer_id).order_by(CartItem.id)
        )
        return list(rows)

    async def set_cart_quantity(
        self,
        tenant_id: int,
        customer_id: int,
        product_id: int,
        quantity: int,
        *,
        now: datetime,
        remind_at: datetime | None,
    ) -> None:
        """The product's line in the cart at ``quantity``, added or replaced; gone at zero or less. The cart counts as
        touched ``now``, its abandoned-cart reminder due at ``remind_at`` (core.cart_reminders.due)."""
        await self._touch(customer_id, now, remind_at)
        if quantity <= 0:
            await self.session.execute(
                delete(CartItem).where(CartItem.customer_id == customer_id, CartItem.product_id == product_id)
            )
            return
        values = {"tenant_id": tenant_id, "customer_id": customer_id, "product_id": product_id, "quantity": quantity}
        await insert_or_get(self.session, CartItem, values, key=("customer_id", "product_id"), refresh=("quantity",))

    async def _touch(self, customer_id: int, at: datetime | None, remind_at: datetime | None) -> None:
        """Nobody reads this write's outcome: on SQLite it rides with the cart's own statement (no trip of its own)."""
        await self.session.run_sync(_touched, customer_id, at, remind_at)

    async def cart_quantity(self, customer_id: int, product_id: int) -> int:
        quantity = await self.session.scalar(
            select(CartItem.quantity).where(CartItem.customer_id == customer_id, CartItem.product_id == product_id)
        )
        return int(quantity or 0)

    async def clear_cart(self, customer_id: int) -> None:
        """The cart emptied (checked out): no reminder is owed for it."""
        await self.session.execute(delete(CartItem).where(CartItem.customer_id == customer_id))
        await self._touch(customer_id, None, None)
