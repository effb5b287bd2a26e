"""The outbox tells its transaction whether messages were owed, so the relay is woken only when there is work."""

from __future__ import annotations

from core import outbox
from core.clock import FakeClock
from core.db.engine import Database
from core.messages import Message
from core.vault import Vault
from tests.support.seed import seed_shop


async def test_only_a_new_row_marks_the_transaction(database: Database, vault: Vault, clock: FakeClock) -> None:
    shop = await seed_shop(database, vault, clock)
    async with database.uow() as uow:
        assert not outbox.owes_messages(uow.session)
        owed = dict(tenant_id=shop.tenant_id, chat_id=7, dedupe_key="k", message=Message("hi"), now=clock.now())
        assert await outbox.enqueue(uow.session, **owed)
        assert outbox.owes_messages(uow.session)
        await uow.commit()
    async with database.uow() as uow:
        assert not await outbox.enqueue(uow.session, **owed)  # a duplicate owes nothing new
        assert not outbox.owes_messages(uow.session)
