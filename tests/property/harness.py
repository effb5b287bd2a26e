"""The running server the hostile-input tests throw requests at, and the raw HTTP they use to do it."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.clock import SystemClock
from core.db.engine import Database
from core.db.tables import Customer, Order
from core.vault import Vault
from payments.attempts import open_payment
from payments.states import PaymentStatus
from tests.property import strategies as hs
from tests.property.conftest import profile
from tests.support.app import WAIT, Shop, ShopServer, shop_server
from tests.support.mpesa import c2b_secret

PAYSTACK_KEY = "sk_test_" + "7" * 40
MPESA = (
    {"consumer_key": "fuzz-key", "consumer_secret": "fuzz-secret", "passkey": "fuzz-passkey"},
    # The simulated Daraja calls from this machine; a live shop's default allowlist (Safaricom's addresses) would
    # refuse every C2B and STK callback before its body is read, and the bodies are what is under test.
    {"shortcode": "174379", "base_url": "http://127.0.0.1:9", "ip_allowlist": "127.0.0.1"},
)
CHAT = 7001
# PostgreSQL answers every example slower; in the normal run it gets a sample (the full count runs on SQLite).
POSTGRES_EXAMPLES = 25


class Stage:
    """The running server, its shops, and what a valid credential looks like on each route."""

    def __init__(
        self, server: ShopServer, shop: Shop, other: Shop, stk_token: str, c2b_token: str, budget: int | None
    ) -> None:
        self.server, self.shop, self.other, self.stk_token, self.c2b_token = server, shop, other, stk_token, c2b_token
        self.examples = itertools.count(1)
        self.budget = budget

    def spent(self) -> bool:
        """True once this backend ran its share of examples: the rest are drawn (Hypothesis wants every example to
        draw the same way when it replays one) but not sent."""
        return self.budget is not None and next(self.examples) > self.budget


@pytest.fixture
async def stage(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[Stage]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as server:
        providers = {"paystack": ({"secret_key": PAYSTACK_KEY}, {"base_url": "http://127.0.0.1:9"}), "mpesa": MPESA}
        shop = await server.add_shop(providers=providers)
        other = await server.add_shop("fundi", "Fundi Electronics", admins=[9101])
        stk_token = await _pending_stk_payment(database, shop)
        async with database.uow() as uow:  # the secret of the shop's C2B URLs, as `provider register-c2b` makes it
            c2b_token = await c2b_secret(uow.session, vault, shop.slug, SystemClock().now())
            await uow.commit()
        await server.start()
        await server.person(shop, CHAT).send("/start")  # the bot may write only to a chat it heard from
        await server.settle()
        budget = POSTGRES_EXAMPLES if database.dialect == "postgresql" and profile() == "default" else None
        yield Stage(server, shop, other, stk_token, c2b_token, budget)


async def _pending_stk_payment(database: Database, shop: Shop) -> str:
    """An order waiting for an STK push's result: the callback token that makes an STK callback authentic."""
    now, token = SystemClock().now(), secrets.token_hex(20)
    async with database.uow() as uow:
        customer = Customer(tenant_id=shop.tenant_id, tg_user_id=CHAT, chat_id=CHAT, display_name="W", created_at=now)
        uow.session.add(customer)
        await uow.session.flush()
        order = Order(
            tenant_id=shop.tenant_id,
            customer_id=customer.id,
            code="FUZZ01",
            status="awaiting_payment",
            total_minor=42000,
            currency="KES",
            contact_name="Wanjiru Kamau",
            contact_phone="+254712345678",
            delivery_method="pickup",
            created_at=now,
            updated_at=now,
        )
        uow.session.add(order)
        await uow.session.flush()
        await open_payment(uow.session, order, "mpesa", PaymentStatus.PENDING, now, callback_token=token)
        await uow.commit()
    return token


async def send(server: ShopServer, request: hs.Request) -> tuple[int, bytes]:
    """Writes ``request`` on a fresh connection; the status and body of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        head = [f"{request.method} {request.path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
        head += [f"{name}: {value}" for name, value in request.headers.items()]
        if request.chunked:
            head.append("Transfer-Encoding: chunked")
            payload = (f"{len(request.body):x}\r\n".encode() + request.body + b"\r\n") if request.body else b""
            payload += b"0\r\n\r\n"
        else:
            head.append(f"Content-Length: {len(request.body)}")
            payload = request.body
        writer.write("\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + payload)
        await writer.drain()
        async with asyncio.timeout(WAIT):
            answer = await reader.read()
    finally:
        writer.close()
    head_bytes, _, body = answer.partition(b"\r\n\r\n")
    status_line = head_bytes.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 "), (request, answer[:200])
    return int(status_line.split()[1]), body


async def answered(stage: Stage, request: hs.Request) -> tuple[int, bytes]:
    """The status and body, after checking the status is not a 5xx and the server logged no error meanwhile."""
    status, body = await send(stage.server, request)
    errors = stage.server.errors.take()
    assert status < 500, (status, request, body[:200], errors)
    assert not errors, (request, errors)
    return status, body


async def unchanged(stage: Stage, request: hs.Request) -> tuple[int, bytes]:
    """``answered``, and not a row of any table changed (processed updates included)."""
    before = await stage.server.snapshot(skip=())
    status, body = await answered(stage, request)
    after = await stage.server.snapshot(skip=())
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, (request, status, changed)
    return status, body
