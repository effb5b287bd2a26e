"""payments.ingest: events answered once recorded, applied off the request, after a restart too, and only once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import InboundEvent
from core.money import Money
from core.vault import Vault
from payments.base import Outcome, ProviderEvent
from payments.ingest import Checked, Ingest, from_json, to_json
from payments.states import PaymentStatus
from tests.unit.test_service_edges import CHAT, SUGAR, till

R = TypeVar("R")


def paid(reference: str, key: str = "stk:QK1") -> ProviderEvent:
    return ProviderEvent(
        provider="mpesa",
        event_key=key,
        payment_reference=reference,
        outcome=Outcome.PAID,
        amount=Money(19000, "KES"),
        provider_txn_id="QK1",
        occurred_at=datetime(2026, 1, 15, 9, 0, tzinfo=UTC),
        raw={"ResultCode": 0},
        provider_ref="ws_CO_1",
    )


async def recorded(database: Database) -> int:
    async with database.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(InboundEvent)) or 0)


def accepting(tenant_id: int, *events: ProviderEvent) -> Callable[[AsyncSession], Awaitable[Checked]]:
    async def check(_: AsyncSession) -> Checked:
        return Checked(tenant_id, events)

    return check


def test_an_event_survives_its_record_as_it_was() -> None:
    event = paid("dkref")
    assert from_json(to_json(event)) == event


async def test_an_event_recorded_before_a_crash_is_applied_after_the_restart_and_once(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)
    payment = await shop.order({SUGAR: 1}, provider="mpesa", status=PaymentStatus.PENDING)
    woken: list[str] = []
    before = Ingest(database, clock, on_applied=lambda: woken.append("relay"))
    assert await before.record(accepting(shop.shop.tenant_id, paid(payment.reference))) == 1
    assert await shop.state(payment) == ("pending", 0, "awaiting_payment")  # answered, not applied yet

    # The process dies before its applier ran; the next one finds the event recorded and applies it.
    after = Ingest(database, clock, on_applied=lambda: woken.append("relay"))
    assert await after.apply_recorded() == 1
    assert await shop.state(payment) == ("paid", 0, "paid")
    assert await recorded(database) == 0
    assert woken == ["relay"]
    receipts = [text for text in await shop.texts(CHAT) if "QK1" in text]
    assert len(receipts) == 1
    assert await after.apply_recorded() == 0


async def test_a_redelivery_is_recorded_once_and_after_applying_not_at_all(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)
    payment = await shop.order({SUGAR: 1}, provider="mpesa", status=PaymentStatus.PENDING)
    ingest = Ingest(database, clock)
    check = accepting(shop.shop.tenant_id, paid(payment.reference))
    assert [await ingest.record(check), await ingest.record(check)] == [1, 0]
    assert await recorded(database) == 1
    assert await ingest.apply_recorded() == 1
    sent = await shop.texts(CHAT)

    # Redelivered after it was applied: the event table's key says so, nothing is recorded, nothing owed.
    assert await ingest.record(check) == 0
    assert await recorded(database) == 0
    assert await shop.texts(CHAT) == sent


async def test_a_refused_request_records_nothing_and_gets_its_refusal(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    await till(database, vault, clock)
    ingest = Ingest(database, clock)

    async def refuse(_: AsyncSession) -> str:
        return "refused: unknown token"

    assert await ingest.record(refuse) == "refused: unknown token"
    assert await recorded(database) == 0


async def test_a_recorded_event_is_known_committed_and_its_redelivery_needs_no_insert(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)
    payment = await shop.order({SUGAR: 1}, provider="mpesa", status=PaymentStatus.PENDING)
    tenant_id = shop.shop.tenant_id
    ingest = Ingest(database, clock)
    key = (tenant_id, "mpesa", "stk:QK1")
    assert not ingest.known(key)
    assert await ingest.record(accepting(tenant_id, paid(payment.reference))) == 1
    assert ingest.known(key)
    statements = await _statements_while(database, ingest.record(accepting(tenant_id, paid(payment.reference))))
    assert statements == (0, [])  # answered "already have it" with no read or write (this check reads nothing)
    assert await recorded(database) == 1


async def test_another_process_goes_to_the_database_and_then_knows(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)
    payment = await shop.order({SUGAR: 1}, provider="mpesa", status=PaymentStatus.PENDING)
    tenant_id = shop.shop.tenant_id
    check = accepting(tenant_id, paid(payment.reference))
    assert await Ingest(database, clock).record(check) == 1
    applier = Ingest(database, clock)
    assert await applier.apply_recorded() == 1
    assert applier.known((tenant_id, "mpesa", "stk:QK1"))  # seen applied

    other = Ingest(database, clock)  # knows nothing: the database says it was applied
    assert not other.known((tenant_id, "mpesa", "stk:QK1"))
    assert await other.record(check) == 0
    assert other.known((tenant_id, "mpesa", "stk:QK1"))
    assert not other.known((tenant_id + 1, "mpesa", "stk:QK1"))  # scoped by tenant, as the unique key is


async def test_the_memory_is_bounded(database: Database, vault: Vault, clock: FakeClock) -> None:
    shop = await till(database, vault, clock)
    tenant_id = shop.shop.tenant_id
    ingest = Ingest(database, clock, kept=2)
    for n in (1, 2, 3):
        payment = await shop.order({SUGAR: 1}, provider="mpesa", status=PaymentStatus.PENDING)
        assert await ingest.record(accepting(tenant_id, paid(payment.reference, key=f"stk:QK{n}"))) == 1
    known = [ingest.known((tenant_id, "mpesa", f"stk:QK{n}")) for n in (1, 2, 3)]
    assert known == [False, True, True]


async def test_a_record_rolled_back_leaves_its_key_unknown(database: Database, vault: Vault, clock: FakeClock) -> None:
    shop = await till(database, vault, clock)
    payment = await shop.order({SUGAR: 1}, provider="mpesa", status=PaymentStatus.PENDING)
    tenant_id = shop.shop.tenant_id
    ingest = Ingest(database, clock)

    async def failing_at_commit(session: AsyncSession) -> Checked:
        def refuse(_: object) -> None:
            raise RuntimeError("the disk is full")

        event.listen(session.sync_session, "before_commit", refuse, once=True)
        return Checked(tenant_id, [paid(payment.reference)])

    with pytest.raises(RuntimeError, match="the disk is full"):
        await ingest.record(failing_at_commit)
    assert not ingest.known((tenant_id, "mpesa", "stk:QK1"))
    assert await recorded(database) == 0
    assert await ingest.record(accepting(tenant_id, paid(payment.reference))) == 1  # not taken for a duplicate


async def _statements_while(database: Database, work: Awaitable[int | R]) -> tuple[int | R, list[str]]:
    """What ``work`` gave, and the SQL statements it sent (their first word)."""
    sent: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement.split()[0].upper())

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        answer = await work
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return answer, sent


async def test_a_batch_stops_after_the_event_at_hand_while_a_batch_of_arrivals_waits(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)
    tenant_id = shop.shop.tenant_id
    ingest = Ingest(database, clock, batch=2)
    for n in (1, 2, 3):
        payment = await shop.order({SUGAR: 1}, provider="mpesa", status=PaymentStatus.PENDING)
        assert await ingest.record(accepting(tenant_id, paid(payment.reference, key=f"stk:QK{n}"))) == 1

    checking, release = asyncio.Event(), asyncio.Event()

    async def slow_check(_: AsyncSession) -> str:
        checking.set()
        await release.wait()
        return "refused"

    arrivals = [asyncio.create_task(ingest.record(slow_check)) for _ in range(2)]
    await checking.wait()  # two arrivals are being recorded: a batch's worth
    assert (ingest.recording, ingest.waiting) == (True, 2)
    assert await ingest.apply_recorded() == 1  # one event, then the arrivals go first
    assert await recorded(database) == 2
    release.set()
    assert [await arrival for arrival in arrivals] == ["refused", "refused"]
    assert (ingest.recording, ingest.waiting) == (False, 0)
    assert await ingest.apply_recorded() == 2  # nobody waits: a whole batch
    assert await recorded(database) == 0
