"""Two admins removing each other at the same moment: one wins, the shop keeps an admin."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, text

from admin import invites
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Tenant, TenantAdmin
from core.vault import Vault
from flows import router
from flows.context import Reply
from flows.inbound import Actor
from tests.support.seed import seed_shop

MAMA, BABA = 9001, 9002


async def held_by_a_lock_or_done(database: Database, task: asyncio.Task[Reply]) -> None:
    """On PostgreSQL, until a transaction of this database waits on a lock, or ``task`` ended. On SQLite there is
    nothing to wait for: BEGIN IMMEDIATE keeps a second writer from starting before the first commits."""
    if database.dialect != "postgresql":
        return
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with asyncio.timeout(5), database.engine.connect() as connection:
        while not task.done():  # each query is a turn for the task, and paces the loop
            held = await connection.scalar(waiting)
            await connection.rollback()  # pg_stat_activity is read once per transaction: a new one for each look
            if held:
                return


async def test_two_admins_removing_each_other_at_once_leave_one(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await seed_shop(database, vault, clock, admin_id=MAMA)
    async with database.uow() as uow:
        uow.session.add(TenantAdmin(tenant_id=shop.tenant_id, tg_user_id=BABA, created_at=clock.now()))
        await uow.commit()

    first_in = asyncio.Event()
    let_go = asyncio.Event()

    async def remove(actor: int, target: int, *, hold: bool) -> Reply:
        async with database.uow() as uow:
            tenant = await uow.session.get(Tenant, shop.tenant_id)
            assert tenant is not None
            ctx = await router.open_context(uow.session, tenant, Actor(actor, actor, "admin"), clock)
            reply = await invites.remove(ctx, str(target))
            if hold:  # the first removal has done its work and not committed yet
                first_in.set()
                await let_go.wait()
            await uow.commit()
            return reply

    mama = asyncio.create_task(remove(MAMA, BABA, hold=True))
    await first_in.wait()
    baba = asyncio.create_task(remove(BABA, MAMA, hold=False))
    # Baba's removal runs until the database holds it behind Mama's transaction (or to its end, had nothing held it).
    await held_by_a_lock_or_done(database, baba)
    let_go.set()
    mama_reply, baba_reply = await asyncio.gather(mama, baba)

    assert not mama_reply.refused and "is no longer an admin" in mama_reply.messages[0].text
    assert baba_reply.refused and baba_reply.messages[0].text == "This command is for the shop's admins."
    async with database.uow() as uow:
        left = list(await uow.session.scalars(select(TenantAdmin.tg_user_id)))
    assert left == [MAMA]
