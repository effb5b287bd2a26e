"""Twenty customers confirming their orders with the last use of a code at the same moment, on PostgreSQL with
twenty connections truly concurrent: one order gets the discount, nineteen are told the code is used up, and the
code counts its limit, never more."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Order, PromoCode, PromoRedemption
from core.vault import Vault
from flows import checkout
from flows.inbound import Actor
from tests.support.locks import waiting_on_a_lock
from tests.support.promos import at_summary, shop_with_code

ON_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
CUSTOMERS = 20


@ON_POSTGRES
async def test_twenty_customers_taking_the_last_use_at_once_leave_one_winner(
    database: Database, database_url: str, vault: Vault, clock: FakeClock
) -> None:
    shop = await shop_with_code(database, vault, clock, "LAST", value=5000, max_uses=5, uses=4)  # one use left
    async with database.uow() as uow:
        for number in range(CUSTOMERS):
            await at_summary(uow.session, shop, Actor(7000 + number, 7000 + number, "c"), clock, "LAST")
        await uow.commit()

    holding = asyncio.Event()
    let_go = asyncio.Event()

    # One engine each: twenty connections at once, more than one engine's pool holds.
    engines = [Database(database_url) for _ in range(CUSTOMERS)]

    async def confirm(number: int, *, hold: bool) -> str:
        async with engines[number].uow() as uow:
            ctx = await at_summary(uow.session, shop, Actor(7000 + number, 7000 + number, "c"), clock, "LAST")
            reply, order = await checkout.confirm(ctx)
            if hold:  # the first one took the last use and has not committed yet
                holding.set()
                await let_go.wait()
            await uow.commit()
        return "placed" if order is not None else reply.messages[0].text

    first = asyncio.create_task(confirm(0, hold=True))
    await asyncio.wait_for(holding.wait(), 10)
    others = [asyncio.create_task(confirm(n, hold=False)) for n in range(1, CUSTOMERS)]
    await waiting_on_a_lock(database, CUSTOMERS - 1)  # all nineteen are at the code's row, behind the first
    let_go.set()
    results = [await first, *await asyncio.gather(*others)]
    for engine in engines:
        await engine.dispose()

    assert results.count("placed") == 1 and results[0] == "placed"
    assert results[1:] == ["Code LAST has been used up: no uses are left."] * (CUSTOMERS - 1)
    async with database.uow() as uow:
        code = await uow.session.scalar(select(PromoCode).where(PromoCode.code == "LAST"))
        assert code is not None and code.uses == 5
        redemptions = await uow.session.scalar(select(func.count()).select_from(PromoRedemption))
        discounted = (await uow.session.execute(select(Order.total_minor, Order.discount_minor))).all()
    assert redemptions == 1
    assert [tuple(row) for row in discounted] == [(37_000, 5_000)]
