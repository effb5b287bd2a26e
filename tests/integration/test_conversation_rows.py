"""An update's step writes its conversation itself (core.db.repos.conversations): a first contact makes the customer
and the conversation, a step that changes the conversation writes it once, and a step that changes nothing writes
nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Conversation, Customer
from core.vault import Vault
from flows import router
from flows.inbound import Actor, Inbound
from tests.support.seed import seed_shop

AMINA = Actor(tg_user_id=6201, chat_id=6201, display_name="Amina")


async def step(database: Database, clock: FakeClock, tenant_id: int, inbound: Inbound) -> bool:
    """One step of Amina's, committed; whether it wrote the conversation."""
    async with database.uow() as uow:
        opened = await router.open_step(uow.session, tenant_id, AMINA, clock)
        assert opened is not None
        await router.handle(opened.ctx, inbound)
        wrote = await opened.save()
        await uow.commit()
    return wrote


async def rows(database: Database, tenant_id: int) -> list[tuple[str, str, bool]]:
    async with database.uow(read_only=True) as uow:
        found = await uow.session.execute(
            select(Customer.display_name, Conversation.step, Conversation.data)
            .join(Conversation, Conversation.chat_id == Customer.chat_id)
            .where(Customer.tenant_id == tenant_id, Conversation.tenant_id == tenant_id)
        )
        return [(name, at, "question" in data) for name, at, data in found]


async def test_a_first_contact_makes_both_rows_and_an_unchanged_step_writes_nothing(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await seed_shop(database, vault, clock)

    assert await step(database, clock, shop.tenant_id, Inbound.cmd("shop")) is True
    assert await rows(database, shop.tenant_id) == [("Amina", "idle", True)]  # the menu's question is kept

    assert await step(database, clock, shop.tenant_id, Inbound.cmd("shop")) is False  # the same menu again

    clock.advance(seconds=5)
    assert await step(database, clock, shop.tenant_id, Inbound.cmd("cancel")) is True  # back to idle: the help
    assert await rows(database, shop.tenant_id) == [("Amina", "idle", True)]
