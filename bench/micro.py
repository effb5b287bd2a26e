"""``python -m bench micro``: in-process, how much dukabot's machinery costs compared with the plainest way to do the
same database work (no HTTP; the HTTP paths are ``python -m bench``).

- apply_event: applying N payment events (record, conditional update, outbox rows), against a baseline that writes
  the same number of rows with plain INSERTs in the same number of transactions.
- duplicates: re-applying the same N events (each must be recognised and change nothing), against the same baseline.
- conversation: N customer button presses through the flow router, against the same baseline.

Ratios, not seconds, are the result: the machine's speed cancels out. Run on SQLite in a temporary directory.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FakeClock
from core.db.engine import Database
from core.db.migrate import upgrade
from core.db.repos.customers import CustomerRepository
from core.db.repos.tenants import TenantRepository
from core.db.tables import Order, Payment
from core.money import Money
from core.vault import Vault
from flows.inbound import Actor, Inbound
from flows.router import handle, open_context
from payments.base import Outcome, ProviderEvent
from payments.service import apply_event
from tests.support.seed import seed_shop

N = 300
Work = Callable[[], Awaitable[None]]


async def timed(work: Work) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


async def baseline(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE IF NOT EXISTS bench_rows (id INTEGER PRIMARY KEY, v TEXT)"))
    for i in range(N):
        async with database.uow() as uow:
            await uow.session.execute(text("INSERT INTO bench_rows (v) VALUES (:v)"), {"v": str(i)})
            await uow.commit()


async def open_payments(database: Database, clock: FakeClock, tenant_id: int) -> list[str]:
    references = []
    async with database.uow() as uow:
        customer_id = await _customer(uow.session, tenant_id, clock)
        for i in range(N):
            now = clock.now()
            order = Order(
                tenant_id=tenant_id,
                customer_id=customer_id,
                code=f"B{i:05d}",
                status="awaiting_payment",
                total_minor=10000,
                currency="KES",
                contact_name="Bench",
                contact_phone="+254712345678",
                delivery_method="pickup",
                created_at=now,
                updated_at=now,
            )
            uow.session.add(order)
            await uow.session.flush()
            reference = f"bench{i:05d}"
            uow.session.add(
                Payment(
                    tenant_id=tenant_id,
                    order_id=order.id,
                    provider="manual",
                    reference=reference,
                    status="under_review",
                    amount_minor=10000,
                    currency="KES",
                    refunded_minor=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            references.append(reference)
        await uow.commit()
    return references


async def _customer(session: AsyncSession, tenant_id: int, clock: FakeClock) -> int:
    customer = await CustomerRepository(session).get_or_create(tenant_id, 1, 1, "Bench", clock.now())
    return customer.id


def apply_all(database: Database, clock: FakeClock, tenant_id: int, references: list[str]) -> Work:
    async def work() -> None:
        for reference in references:
            event = ProviderEvent(
                provider="manual",
                event_key=f"bench:{reference}",
                payment_reference=reference,
                outcome=Outcome.PAID,
                amount=Money(10000, "KES"),
                provider_txn_id=reference,
            )
            async with database.uow() as uow:
                await apply_event(uow.session, tenant_id, event, clock)
                await uow.commit()

    return work


def presses(database: Database, clock: FakeClock, tenant_id: int) -> Work:
    actor = Actor(tg_user_id=42, chat_id=42, display_name="Bench")

    async def work() -> None:
        for _ in range(N):
            async with database.uow() as uow:
                tenant = await TenantRepository(uow.session).by_id(tenant_id)
                assert tenant is not None
                ctx = await open_context(uow.session, tenant, actor, clock)
                await handle(ctx, Inbound.pressed("cat:0:0"))
                await uow.commit()

    return work


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}")
        clock = FakeClock()
        await upgrade(database.engine)
        shop = await seed_shop(database, Vault(["YOKMvaqZ3xJ0pN1C6tyYl1vX6mW0Tr0t9n8zk0SxQ2E="]), clock)
        references = await open_payments(database, clock, shop.tenant_id)
        base = await timed(lambda: baseline(database))
        results = {
            "apply_event": await timed(apply_all(database, clock, shop.tenant_id, references)),
            "duplicates": await timed(apply_all(database, clock, shop.tenant_id, references)),
            "conversation": await timed(presses(database, clock, shop.tenant_id)),
        }
        await database.dispose()
    print(f"{N} operations each, SQLite; baseline: one plain INSERT per transaction ({base / N * 1000:.2f} ms/op)")
    for name, seconds in results.items():
        print(f"  {name:<13} {seconds / base:5.2f}x baseline")


def run() -> None:
    asyncio.run(main())
