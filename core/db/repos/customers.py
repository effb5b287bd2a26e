from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.tables import CartItem, Conversation, Customer


class CustomerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_or_create(
        self, tenant_id: int, tg_user_id: int, chat_id: int, display_name: str, now: datetime
    ) -> Customer:
        customer = await self.session.scalar(
            select(Customer).where(Customer.tenant_id == tenant_id, Customer.tg_user_id == tg_user_id)
        )
        if customer is None:
            customer = Customer(
                tenant_id=tenant_id,
                tg_user_id=tg_user_id,
                chat_id=chat_id,
                display_name=display_name,
                created_at=now,
            )
            self.session.add(customer)
            await self.session.flush()
        elif customer.chat_id != chat_id:
            customer.chat_id = chat_id
        return customer

    async def by_id(self, tenant_id: int, customer_id: int) -> Customer | None:
        return await self.session.scalar(
            select(Customer).where(Customer.tenant_id == tenant_id, Customer.id == customer_id)
        )

    async def conversation(self, tenant_id: int, chat_id: int, now: datetime) -> Conversation:
        """The chat's conversation row, locked for this transaction so two updates of one chat apply in turn."""
        query = select(Conversation).where(Conversation.tenant_id == tenant_id, Conversation.chat_id == chat_id)
        conversation = await self.session.scalar(query.with_for_update())
        if conversation is None:
            conversation = Conversation(tenant_id=tenant_id, chat_id=chat_id, step="idle", data={}, updated_at=now)
            self.session.add(conversation)
            await self.session.flush()
        return conversation

    async def cart(self, customer_id: int) -> list[CartItem]:
        rows = await self.session.scalars(
            select(CartItem).where(CartItem.customer_id == customer_id).order_by(CartItem.id)
        )
        return list(rows)

    async def set_cart_quantity(self, tenant_id: int, customer_id: int, product_id: int, quantity: int) -> None:
        item = await self.session.scalar(
            select(CartItem).where(CartItem.customer_id == customer_id, CartItem.product_id == product_id)
        )
        if quantity <= 0:
            if item is not None:
                await self.session.delete(item)
            return
        if item is None:
            self.session.add(
                CartItem(tenant_id=tenant_id, customer_id=customer_id, product_id=product_id, quantity=quantity)
            )
        else:
            item.quantity = quantity

    async def cart_quantity(self, customer_id: int, product_id: int) -> int:
        quantity = await self.session.scalar(
            select(CartItem.quantity).where(CartItem.customer_id == customer_id, CartItem.product_id == product_id)
        )
        return int(quantity or 0)

    async def clear_cart(self, customer_id: int) -> None:
        await self.session.execute(delete(CartItem).where(CartItem.customer_id == customer_id))
