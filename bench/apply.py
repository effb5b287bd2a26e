"""``python -m bench apply [N] [--profile]``: what ``payments.service.apply_event`` costs per event, in process, on
SQLite: N M-Pesa pushes paid once (a receipt, a merchant alert, stock taken for a counted line), then the same N events
again (duplicates, which must stop at the event's unique key).

Events are applied as ``payments.ingest``'s applier does: a batch of 8 per transaction, one commit per batch. The
figures are milliseconds per event of the whole process's CPU (aiosqlite's thread included) and of wall time, over
the apply calls alone (the commits timed apart). ``--profile`` prints cProfile's top functions for each kind.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from core.clock import FakeClock
from core.db.engine import Database
from core.db.migrate import upgrade
from core.db.repos.customers import CustomerRepository
from core.db.tables import Order, OrderItem, OutboxMessage, Product
from core.money import Money
from core.vault import Vault
from payments.attempts import open_payment
from payments.base import Outcome, ProviderEvent
from payments.service import EventResult, apply_event
from payments.states import PaymentStatus
from tests.support.seed import seed_shop

BATCH = 8  # payments.ingest.Ingest's default
PRICE = 42000
PRODUCT_STOCK = 40  # the seeded shop's rice (tests.support.seed.PRODUCTS)


@dataclass
class Tally:
    cpu: float = 0.0
    wall: float = 0.0
    commits: float = 0.0
    results: dict[str, int] = field(default_factory=dict)


async def open_pushes(database: Database, clock: FakeClock, tenant_id: int, count: int, first: int = 0) -> list[str]:
    """``count`` orders of two lines (one counted product, one not), each with an STK push waiting."""
    references = []
    async with database.uow() as uow:
        session = uow.session
        customer = await CustomerRepository(session).get_or_create(tenant_id, 7001, 7001, "Wanjiru", clock.now())
        products = {p.sku: p for p in await session.scalars(select(Product).where(Product.tenant_id == tenant_id))}
        rice, tea = products["RICE-2KG"], products["TEA-500G"]
        for i in range(first, first + count):
            now = clock.now()
            order = Order(
                tenant_id=tenant_id,
                customer_id=customer.id,
                code=f"A{i:05d}",
                status="awaiting_payment",
                total_minor=PRICE,
                currency="KES",
                contact_name="Wanjiru",
                contact_phone="+254712345678",
                delivery_method="pickup",
                created_at=now,
                updated_at=now,
            )
            session.add(order)
            await session.flush()
            for product, price in ((rice, 20000), (tea, 22000)):
                session.add(
                    OrderItem(
                        order_id=order.id,
                        product_id=product.id,
                        sku=product.sku,
                        name=product.name,
                        unit_price_minor=price,
                        quantity=1,
                    )
                )
            payment = await open_payment(
                session, order, "mpesa", PaymentStatus.PENDING, now, callback_token=f"tok{i:06d}"
            )
            assert payment is not None
            payment.provider_ref = f"ws_CO_{i:08d}"
            references.append(payment.reference)
        # Enough rice for every order: the stock is taken, never short.
        rice.stock = (rice.stock or 0) + count
        await uow.commit()
    return references


def paid(reference: str, i: int) -> ProviderEvent:
    return ProviderEvent(
        provider="mpesa",
        event_key=f"stk:ws_CO_{i:08d}",
        payment_reference=reference,
        outcome=Outcome.PAID,
        amount=Money(PRICE, "KES"),
        provider_txn_id=f"SL{i:08d}",
        provider_ref=f"ws_CO_{i:08d}",
        raw={"ResultCode": 0},
    )


async def apply_all(database: Database, clock: FakeClock, tenant_id: int, events: list[ProviderEvent]) -> Tally:
    tally = Tally()
    for start in range(0, len(events), BATCH):
        async with database.uow() as uow:
            cpu, wall = time.process_time(), time.perf_counter()
            for event in events[start : start + BATCH]:
                applied = await apply_event(uow.session, tenant_id, event, clock)
                tally.results[applied.result.value] = tally.results.get(applied.result.value, 0) + 1
            tally.cpu += time.process_time() - cpu
            tally.wall += time.perf_counter() - wall
            began = time.perf_counter()
            await uow.commit()
            tally.commits += time.perf_counter() - began
    return tally


async def main(count: int, profile: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite+aiosqlite:///{Path(folder) / 'apply.sqlite3'}")
        clock = FakeClock()
        await upgrade(database.engine)
        shop = await seed_shop(database, Vault(["YOKMvaqZ3xJ0pN1C6tyYl1vX6mW0Tr0t9n8zk0SxQ2E="]), clock)
        tenant = shop.tenant_id
        # A warm-up: the first statements compile and cache; they are not what a running server pays.
        warm = await open_pushes(database, clock, tenant, 2 * BATCH, first=900_000)
        await apply_all(database, clock, tenant, [paid(ref, 900_000 + i) for i, ref in enumerate(warm)])
        await apply_all(database, clock, tenant, [paid(ref, 900_000 + i) for i, ref in enumerate(warm)])
        references = await open_pushes(database, clock, tenant, count)
        events = [paid(reference, i) for i, reference in enumerate(references)]
        tallies: dict[str, Tally] = {}
        for kind in ("paid", "duplicate"):
            profiler = cProfile.Profile() if profile else None
            if profiler is not None:
                profiler.enable()
            tallies[kind] = await apply_all(database, clock, tenant, events)
            if profiler is not None:
                profiler.disable()
                print(f"--- {kind}: top functions by own time ---")
                pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
                print(f"--- {kind}: top functions by cumulative time ---")
                pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(45)
        async with database.uow(read_only=True) as uow:
            owed = await uow.session.scalar(select(func.count()).select_from(OutboxMessage))
            rice = await uow.session.scalar(select(Product.stock).where(Product.sku == "RICE-2KG"))
        await database.dispose()
    # What the paid events owed: a receipt and a merchant alert each (the warm-up's too), a bag of rice each.
    print(f"outbox rows {owed} (expected {2 * (count + 2 * BATCH)}), rice left {rice} (expected {PRODUCT_STOCK})")
    expected = {"paid": EventResult.APPLIED.value, "duplicate": EventResult.DUPLICATE.value}
    print(f"apply_event on SQLite, {count} events each, batches of {BATCH} per transaction")
    for kind, tally in tallies.items():
        wrong = {result: n for result, n in tally.results.items() if result != expected[kind]}
        cpu, wall, commits = (seconds / count * 1000 for seconds in (tally.cpu, tally.wall, tally.commits))
        print(
            f"  {kind:<10} cpu {cpu:6.2f} ms/event   wall {wall:6.2f} ms/event   (commits {commits:5.2f} ms/event)"
            + (f"   UNEXPECTED {wrong}" if wrong else "")
        )


def run(argv: list[str]) -> None:
    count = next((int(arg) for arg in argv if arg.isdigit()), 400)
    asyncio.run(main(count, "--profile" in argv))
