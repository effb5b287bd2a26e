"""The contract suite's fixtures: ``provider`` runs each case once per online provider in the registry, ``contract``
serves a shop configured with that provider through the real server, its simulator and a recording network."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from core.db.engine import Database
from core.db.tables import Order, OutboxMessage, Payment, PaymentEvent
from core.vault import Vault
from payments.providers import provider_factories
from tests.contract.kits import KITS, CallbackKind, Delivery, Kit, deliver
from tests.contract.network import Network
from tests.support.app import Person, Shop, ShopServer, place_order, shop_server
from tests.support.clocks import MovableClock

MERCHANT, CUSTOMER = 9001, 5001


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

    async def order(self) -> None:
        self.order_code = await place_order(self.customer, phone=self.kit.customer_phone)

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
            status = await uow.session.scalar(select(Order.status).where(Order.code == self.order_code))
        assert status is not None
        return status

    async def events(self) -> list[PaymentEvent]:
        async with self.server.database.uow() as uow:
            return list(await uow.session.scalars(select(PaymentEvent).order_by(PaymentEvent.id)))

    async def outbox(self) -> list[str]:
        """Every message owed to anyone so far, in order (keys only): "nothing new was said" compares these."""
        async with self.server.database.uow() as uow:
            return list(await uow.session.scalars(select(OutboxMessage.dedupe_key).order_by(OutboxMessage.id)))


ONLINE = sorted(provider_factories())


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "manual_too: the case applies to the manual method as well")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each case runs once per online provider in the registry, and for the manual method when marked so."""
    if "provider" in metafunc.fixturenames:
        manual = ["manual"] if metafunc.definition.get_closest_marker("manual_too") else []
        metafunc.parametrize("provider", [*ONLINE, *manual])


@pytest.fixture
def kit(provider: str) -> Kit:
    kit = KITS.get(provider)
    if kit is None:
        pytest.fail(f"the provider {provider!r} is registered but has no contract kit: see tests/contract/README.md")
    return kit()


@pytest.fixture
async def contract(kit: Kit, database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[Contract]:
    network, clock = Network(), MovableClock()
    async with (
        kit.running() as routes,
        httpx.AsyncClient(transport=network) as http,
        shop_server(database, vault, tmp_path, webhooks=True) as server,
    ):
        network.routes.update(routes)
        server.provider_http, server.clock = http, clock
        shop = await server.add_shop(providers={kit.name: kit.settings()})
        await server.start()
        kit.base_url, kit.shop_slug = server.base_url, shop.slug
        merchant = server.person(shop, MERCHANT, "Mama")
        await merchant.send("/start")  # Telegram lets a bot write only to people who wrote to it
        kit.merchant = merchant
        yield Contract(kit, server, network, clock, shop, merchant, server.person(shop, CUSTOMER, "Wanjiru"))
