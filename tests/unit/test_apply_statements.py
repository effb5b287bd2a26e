"""``apply_event`` by design, not by luck: a paid event is the handful of statements its docstring names (the event
recorded, one read of everything the transition needs, a conditional move of the payment and of the order, the stock,
the messages in one insert, the event's result noted), a duplicate stops at the first, and what the caller gets back
is the payment as the moves left it, with no refresh behind it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, func, select

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import OutboxMessage, PaymentEvent, Product
from core.money import Money
from core.vault import Vault
from payments.base import Outcome, ProviderEvent
from payments.service import EventResult, apply_event
from payments.states import PaymentStatus
from tests.unit.test_service_edges import SUGAR, till

_STATEMENT = re.compile(r"^\s*(INSERT INTO|UPDATE|SELECT)\s+(\w+)?", re.IGNORECASE)


@contextmanager
def statements(database: Database) -> Iterator[list[tuple[str, str]]]:
    """Each statement sent while the block runs, as its verb and, for a write, its table."""
    seen: list[tuple[str, str]] = []

    def note(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        found = _STATEMENT.match(sql)
        assert found is not None, sql
        verb = found.group(1).upper().removesuffix(" INTO")
        seen.append((verb, "" if verb == "SELECT" else found.group(2)))

    event.listen(database.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", note)


def paid(reference: str, key: str, minor: int) -> ProviderEvent:
    return ProviderEvent(
        provider="mpesa",
        event_key=key,
        payment_reference=reference,
        outcome=Outcome.PAID,
        amount=Money(minor, "KES"),
        provider_txn_id="SL7Q2ABC",
        provider_ref="ws_CO_1",
    )


async def test_a_paid_event_is_seven_statements_and_a_duplicate_one(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)
    payment = await shop.order({SUGAR: 1}, provider="mpesa", status=PaymentStatus.PENDING)  # KES 190, 3 in stock

    async with database.uow() as uow:
        with statements(database) as sent:
            applied = await apply_event(
                uow.session, shop.shop.tenant_id, paid(payment.reference, "stk:1", 19000), clock
            )
        await uow.commit()

    assert sent == [
        ("INSERT", "payment_events"),
        ("SELECT", ""),  # the payment, its order and lines, tenant, customer, counted stock, alert chats
        ("UPDATE", "payments"),
        ("UPDATE", "orders"),
        ("UPDATE", "products"),
        ("INSERT", "outbox"),  # the receipt and the merchant's alert, in one statement
        ("UPDATE", "payment_events"),
    ]
    assert applied.result is EventResult.APPLIED
    assert applied.payment is not None
    moved = applied.payment  # as the statements left it, nothing read back
    assert (moved.status, moved.paid_minor, moved.provider_txn_id) == ("paid", 19000, "SL7Q2ABC")
    assert await shop.state(payment) == ("paid", 0, "paid")
    assert await shop.paid_as(payment) == (19000, "SL7Q2ABC", None)

    async with database.uow() as uow:
        with statements(database) as sent:
            again = await apply_event(uow.session, shop.shop.tenant_id, paid(payment.reference, "stk:1", 190_00), clock)
        await uow.commit()

    assert sent == [("INSERT", "payment_events")]
    assert (again.result, again.payment) == (EventResult.DUPLICATE, None)
    async with database.uow(read_only=True) as uow:
        stock = await uow.session.scalar(select(Product.stock).where(Product.sku == SUGAR))
        owed = await uow.session.scalar(select(func.count()).select_from(OutboxMessage))
        recorded = list(await uow.session.execute(select(PaymentEvent.payment_id, PaymentEvent.result)))
    assert (stock, owed) == (2, 2)  # one bag taken once; a receipt and one alert, once
    assert [tuple(row) for row in recorded] == [(payment.id, "applied")]


async def test_an_event_for_no_payment_of_the_tenant_is_recorded_unmatched_and_names_none(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await till(database, vault, clock)

    async with database.uow() as uow:
        applied = await apply_event(uow.session, shop.shop.tenant_id, paid("dknosuchref", "stk:9", 19000), clock)
        await uow.commit()

    assert (applied.result, applied.payment) == (EventResult.UNMATCHED, None)
    async with database.uow(read_only=True) as uow:
        recorded = list(await uow.session.execute(select(PaymentEvent.payment_id, PaymentEvent.result)))
        owed = await uow.session.scalar(select(func.count()).select_from(OutboxMessage))
    assert [tuple(row) for row in recorded] == [(None, "unmatched")]
    assert owed == 0
