"""A test rig for the M-Pesa checkout (no tests here): the real aiohttp app (``build_app``, callbacks only, no workers)
on 127.0.0.1, the Daraja simulator as a real server, a FakeClock shared by both, the real database, and the customer's
conversation driven through the real flows (``flows.router``). What the customer and the merchant would read is taken
from the outbox, where every message a payment change owes is written."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from sqlalchemy import func, select

from core.callbacks import CallbackData, read
from core.clock import FakeClock
from core.db.engine import Database
from core.db.repos.tenants import TenantRepository
from core.db.tables import Order, OutboxMessage, Payment, PaymentEvent, ProviderConfig, Tenant
from core.messages import Message
from core.settings import Settings
from core.vault import Vault
from flows.context import Reply
from flows.inbound import Actor, Inbound
from flows.router import handle, open_context
from sandbox.mpesa.server import SimulatorServer
from sandbox.mpesa.simulator import SANDBOX_PASSKEY, SANDBOX_SHORTCODE, DarajaSimulator
from tests.support.ingest import apply_recorded
from tests.support.seed import seed_shop
from webhooks.app import build_app
from webhooks.runtime import Runtime, build_runtime

VAULT_KEY = "YOKMvaqZ3xJ0pN1C6tyYl1vX6mW0Tr0t9n8zk0SxQ2E="  # the `vault` fixture's key
KEY, SECRET = "shop-consumer-key", "shop-consumer-secret"
PHONE = "254708374149"  # the sandbox test number, a Safaricom line
CUSTOMER = Actor(tg_user_id=5001, chat_id=5001, display_name="Wanjiru")
METHODS = frozenset({"manual", "mpesa"})


def texts(reply: Reply) -> str:
    return "\n".join(m.text for m in reply.messages) + (f"\n[{reply.notice}]" if reply.notice else "")


def labels(message: Message) -> list[str]:
    return [button.text for row in message.buttons for button in row]


@dataclass
class Sent:
    chat_id: int
    text: str
    buttons: list[tuple[str, str]]
    key: str


class Rig:
    def __init__(self, database: Database, vault: Vault, clock: FakeClock, runtime: Runtime, sim: DarajaSimulator):
        self.database, self.vault, self.clock, self.runtime, self.sim = database, vault, clock, runtime, sim
        self.tenant_id = 0
        self.base_url = ""
        self.sim_url = ""
        self.actor = CUSTOMER
        self.run_jobs = True  # run the payment job a step owes right after it (False: as if the process died there)

    # --- set-up ---

    async def seed(self, **options: Any) -> int:
        shop = await seed_shop(self.database, self.vault, self.clock)
        self.tenant_id = shop.tenant_id
        # A live shop accepts callbacks from Safaricom's addresses only; here Daraja is the simulator on loopback.
        values = {"shortcode": SANDBOX_SHORTCODE, "base_url": self.sim_url, "ip_allowlist": "127.0.0.1", **options}
        async with self.database.uow() as uow:
            uow.session.add(
                ProviderConfig(
                    tenant_id=shop.tenant_id,
                    provider="mpesa",
                    enabled=True,
                    secrets_enc=self.vault.encrypt_json(
                        {"consumer_key": KEY, "consumer_secret": SECRET, "passkey": SANDBOX_PASSKEY}
                    ),
                    options={k: v for k, v in values.items() if v is not None},
                    updated_at=self.clock.now(),
                )
            )
            await uow.commit()
        return shop.tenant_id

    # --- the customer's chat ---

    async def send(self, inbound: Inbound, actor: Actor | None = None) -> Reply:
        """One input, handled as the bot layer does, then the payment job it owed run by the job worker. The reply
        carries what the chat reads because of it: the step's own messages, then the ones owed through the outbox
        ("sending the request…" and what took its place once the provider answered)."""
        actor = actor or self.actor
        await apply_recorded(self.runtime)  # the app's applier is woken by each callback: it has run by now
        seen = await self._last_outbox_id()
        async with self.database.uow() as uow:
            tenant = await TenantRepository(uow.session).by_id(self.tenant_id)
            assert tenant is not None
            ctx = await open_context(uow.session, tenant, actor, self.clock, METHODS)
            reply = await handle(ctx, inbound)
            await uow.commit()
        if reply.start_payment is not None and self.run_jobs:
            await self.runtime.jobs.run_once()
        await apply_recorded(self.runtime)
        async with self.database.uow() as uow:
            rows = await uow.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.id > seen, OutboxMessage.chat_id == actor.chat_id)
                .order_by(OutboxMessage.id)
            )
            owed = [Message.from_payload(row.payload) for row in rows]
        return dataclasses.replace(reply, messages=[*reply.messages, *owed])

    async def _last_outbox_id(self) -> int:
        async with self.database.uow() as uow:
            return int(await uow.session.scalar(select(func.max(OutboxMessage.id))) or 0)

    async def say(self, words: str) -> Reply:
        return await self.send(Inbound.said(words))

    async def press(self, reply: Reply | Message, label: str) -> Reply:
        messages = [reply] if isinstance(reply, Message) else reply.messages
        for message in reversed(messages):
            for row in message.buttons:
                for button in row:
                    if label in button.text and button.data:
                        return await self.send(Inbound.pressed(button.data))
        raise AssertionError(f"no button {label!r} in {[labels(m) for m in messages]}")

    async def tap(self, data: str) -> Reply:
        assert isinstance(read(data), CallbackData), data  # a button of today, as a client would send back
        return await self.send(Inbound.pressed(data))

    async def place_order(self, *, phone: str = "0708 374 149", product: str = "Pishori rice") -> Reply:
        """An order of one product, checked out with ``phone``: the reply that offers the payment methods."""
        start = await self.send(Inbound.cmd("start"))
        groceries = await self.press(start, "Groceries")
        product_page = await self.press(groceries, product)
        await self.press(product_page, "Add to cart")
        cart = await self.send(Inbound.cmd("cart"))
        await self.press(cart, "Checkout")
        await self.say("Wanjiru Kamau")
        delivery = await self.say(phone)
        summary = await self.press(delivery, "Pickup")
        return await self.press(summary, "Confirm order")

    async def checkout(self, **kwargs: Any) -> Reply:
        """Place an order, choose M-Pesa, confirm the proposed phone: the push goes out (the callback is the
        simulator's to send). Returns the "check your phone" reply."""
        placed = await self.place_order(**kwargs)
        proposal = await self.press(placed, "M-Pesa")
        return await self.press(proposal, "Yes, send to")

    # --- what happened ---

    async def settle(self) -> None:
        await self.sim.settle()
        await apply_recorded(self.runtime)

    # Callbacks are answered once recorded and applied off the request: what they changed is read once applied.

    async def payments(self) -> list[Payment]:
        await apply_recorded(self.runtime)
        async with self.database.uow() as uow:
            return list(await uow.session.scalars(select(Payment).order_by(Payment.id)))

    async def payment(self) -> Payment:
        found = await self.payments()
        assert found, "no payment"
        return found[-1]

    async def order(self) -> Order:
        await apply_recorded(self.runtime)
        async with self.database.uow() as uow:
            order = await uow.session.scalar(select(Order).order_by(Order.id.desc()).limit(1))
        assert order is not None
        return order

    async def events(self) -> list[PaymentEvent]:
        await apply_recorded(self.runtime)
        async with self.database.uow() as uow:
            return list(await uow.session.scalars(select(PaymentEvent).order_by(PaymentEvent.id)))

    async def outbox(self, chat_id: int | None = None) -> list[Sent]:
        await apply_recorded(self.runtime)
        async with self.database.uow() as uow:
            rows = await uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            found = []
            for row in rows:
                if chat_id is not None and row.chat_id != chat_id:
                    continue
                buttons = [(b["text"], b.get("data") or b.get("url", "")) for r in row.payload["buttons"] for b in r]
                found.append(Sent(row.chat_id, row.payload["text"], buttons, row.dedupe_key))
            return found

    async def to_customer(self) -> list[Sent]:
        return await self.outbox(self.actor.chat_id)

    async def to_merchant(self) -> list[Sent]:
        return await self.outbox(9001)

    async def set_test_mode(self, on: bool) -> None:
        async with self.database.uow() as uow:
            tenant = await uow.session.get(Tenant, self.tenant_id)
            assert tenant is not None
            tenant.test_mode = on
            await uow.commit()


def free_socket() -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    listener.setblocking(False)
    return listener


@asynccontextmanager
async def mpesa_rig(
    database: Database, vault: Vault, clock: FakeClock, data_dir: Path, *, http: httpx.AsyncClient | None = None
) -> AsyncIterator[Rig]:
    """``http``: the client the server calls Daraja with (a network that fails the way a test needs)."""
    sim = DarajaSimulator(clock=clock, seed=7)
    sim.add_app(KEY, SECRET)
    listener = free_socket()
    port = listener.getsockname()[1]
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        database_url=database.url,
        public_url=f"http://127.0.0.1:{port}",
        secret_keys=VAULT_KEY,
        host="127.0.0.1",
        port=port,
    )
    runtime = build_runtime(settings, clock=clock, http=http)
    runner = web.AppRunner(build_app(runtime, workers=False))
    await runner.setup()
    await web.SockSite(runner, listener).start()
    try:
        async with SimulatorServer(sim) as server:
            rig = Rig(database, vault, clock, runtime, sim)
            rig.base_url, rig.sim_url = f"http://127.0.0.1:{port}", server.url
            yield rig
            await sim.settle()
    finally:
        await runner.cleanup()
        await runtime.close()
