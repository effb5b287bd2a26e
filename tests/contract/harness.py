"""What a contract case holds: one shop served with one provider, its people, and ways to read back what happened
(the payment and order state, the payment events). The provider's own half is the kit (``kits.py``)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from core.db.tables import Order, Payment, PaymentEvent
from core.money import Money
from tests.contract.kits import CallbackKind, Delivery, Kit, deliver
from tests.contract.network import Network
from tests.support.app import Person, Shop, ShopServer, place_order
from tests.support.clocks import MovableClock


@dataclass
class Contract:
    """One shop, served, with one provider; its merchant and a customer whose order of KES 420 is placed."""

    kit: Kit
    server: ShopServer
    network: Network
    clock: MovableClock
    shop: Shop
    merchant: Person
    customer: Person
    order_code: str = ""

    async def test_mode(self, on: bool) -> None:
        """Switched by the merchant in the chat, as a shop owner does."""
        if on:
            await self.merchant.send("/testmode on")
            await self.merchant.tap("🧪 Yes, turn test mode on")
        else:
            await self.merchant.send("/testmode off")
            await self.merchant.tap("🟢 Yes, go live")
        self.kit.test_mode = on

    def money(self, minor: int) -> str:
        """An amount in the shop's currency as the chat writes it (``KES 420``)."""
        return Money(minor, self.kit.currency).format()

    async def order(self) -> None:
        product = f"Pishori Rice 2kg · {self.money(42000)}"
        self.order_code = await place_order(self.customer, phone=self.kit.customer_phone, product=product)

    async def start(self) -> None:
        """A placed order, paid for with the provider: the collection has started at the provider."""
        await self.order()
        await self.kit.start(self.customer)
        await self.server.settle()

    async def paid(self) -> None:
        """Started, paid by the customer, and confirmed to the server (the genuine callback, or the approval)."""
        await self.start()
        await self.kit.pay()
        await self.kit.confirm_paid(self.order_code)
        await self.server.settle()

    async def callback(self, kind: CallbackKind) -> Delivery:
        delivery = self.kit.callback(kind)
        if delivery is None:
            pytest.skip(f"{self.kit.name} has no {kind.replace('_', ' ')} callback")
        return delivery

    async def deliver(self, delivery: Delivery) -> tuple[int, str]:
        answer = await deliver(delivery)
        await self.server.settle()
        return answer

    # Reading back

    async def payments(self) -> list[Payment]:
        async with self.server.database.uow() as uow:
            return list(await uow.session.scalars(select(Payment).order_by(Payment.id)))

    async def payment(self) -> Payment:
        (payment,) = await self.payments()
        return payment

    async def order_status(self) -> str:
        async with self.server.database.uow() as uow:
            return (await uow.session.execute(select(Order.status).where(Order.code == self.order_code))).scalar_one()

    async def events(self) -> list[PaymentEvent]:
        async with self.server.database.uow() as uow:
            return list(await uow.session.scalars(select(PaymentEvent).order_by(PaymentEvent.id)))
