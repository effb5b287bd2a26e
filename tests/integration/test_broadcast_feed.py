"""The broadcast feeder on its own, on both databases, with a fake clock: recipients are owed to the outbox at the
feeder's rate and never more than its few at once; a /stop withdraws a row already owed and skips one still waiting;
a chat that refused the bot is marked unreachable; a second feeder leaves a held broadcast alone; every recipient is
owed once, and the progress message is one chain of edits ending with the last line."""

from __future__ import annotations

from sqlalchemy import func, select

from admin import broadcast_audience, shops
from admin.broadcast_feed import BroadcastFeeder, recipient_key
from core import marketing, outbox
from core.clock import FakeClock, utc
from core.db.engine import Database
from core.db.tables import Broadcast, BroadcastRecipient, Customer, OutboxMessage
from core.outbox import OutboxStatus
from core.vault import Vault
from tests.support.app import new_bot_token

CUSTOMERS = 10


async def owed_rows(database: Database, broadcast_id: int) -> list[OutboxMessage]:
    async with database.uow() as uow:
        prefix = f"broadcast:{broadcast_id}:"
        return list(
            await uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(prefix)).order_by(OutboxMessage.id)
            )
        )


async def test_the_feeder_owes_a_few_at_a_time_once_each_and_skips_who_stopped(
    database: Database, vault: Vault
) -> None:
    clock = FakeClock()
    async with database.uow() as uow:
        tenant = await shops.create_tenant(
            uow.session, vault, slug="feed", name="Feed", bot_token=new_bot_token(), admins=[1], now=clock.now()
        )
        people = [
            Customer(tenant_id=tenant.id, tg_user_id=100 + n, chat_id=100 + n, display_name="", created_at=clock.now())
            for n in range(CUSTOMERS)
        ]
        uow.session.add_all(people)
        await uow.session.flush()
        people[0].marketing_stopped_at = clock.now()  # stopped before: never a recipient
        broadcast = Broadcast(
            tenant_id=tenant.id,
            admin_chat_id=1,
            created_by=1,
            status="sending",
            text="Fresh stock",
            button={},
            audience=broadcast_audience.EVERYONE,
            total=0,
            sent=0,
            blocked=0,
            failed=0,
            skipped=0,
            progress_seq=0,
            created_at=clock.now(),
        )
        uow.session.add(broadcast)
        await uow.session.flush()
        broadcast.total = await broadcast_audience.materialise(uow.session, broadcast, clock.now())
        ids = {person.tg_user_id: person.id for person in people}
        tenant_id, broadcast_id = tenant.id, broadcast.id
        await uow.commit()
    assert broadcast.total == CUSTOMERS - 1

    feeder = BroadcastFeeder(database, clock, rate=3.0, burst=3, outstanding=4, progress_every=0.0)
    assert await feeder.run_once() == 3  # the burst
    assert await feeder.run_once() == 0  # no time passed: no more
    assert await BroadcastFeeder(database, clock).run_once() == 0  # another feeder: the broadcast is held
    clock.advance(seconds=1)
    assert await feeder.run_once() == 1  # time for 3 more, room for 1: four owed and not delivered at most

    rows = await owed_rows(database, broadcast_id)
    to_customers = [row for row in rows if ":to:" in row.dedupe_key]
    assert [row.chat_id for row in to_customers] == [101, 102, 103, 104]
    async with database.uow() as uow:
        session, now = uow.session, clock.now()
        # 101 is delivered, 102 refuses the bot; 103 stops offers with its row owed, 105 while still waiting.
        await outbox.mark_sent(session, to_customers[0].id, now, 7)
        await outbox.mark_final(session, to_customers[1].id, OutboxStatus.UNDELIVERABLE, "Forbidden: bot was blocked")
        refused_at = now
        for chat_id in (103, 105):
            await marketing.stop(session, tenant_id, ids[chat_id], now)
            await marketing.withdraw_owed(session, tenant_id, chat_id, now)
        await uow.commit()

    while True:
        clock.advance(seconds=1)
        await feeder.run_once()
        async with database.uow() as uow:
            await uow.session.execute(  # the relay delivers whatever is owed
                OutboxMessage.__table__.update()  # type: ignore[attr-defined]
                .where(OutboxMessage.status == "pending", OutboxMessage.dedupe_key.like("broadcast:%:to:%"))
                .values(status="sent")
            )
            await uow.commit()
            done = (
                await uow.session.execute(
                    select(
                        Broadcast.status, Broadcast.sent, Broadcast.blocked, Broadcast.failed, Broadcast.skipped
                    ).where(Broadcast.id == broadcast_id)
                )
            ).one()
            if done.status == "done":
                break

    assert tuple(done) == ("done", CUSTOMERS - 4, 1, 0, 2)
    rows = await owed_rows(database, broadcast_id)
    keys = [row.dedupe_key for row in rows if ":to:" in row.dedupe_key]
    assert sorted(keys) == sorted(recipient_key(broadcast_id, ids[100 + n]) for n in range(1, CUSTOMERS) if n != 5)
    progress = [row for row in rows if ":progress:" in row.dedupe_key]
    assert [row.payload.get("replaces") for row in progress] == [
        f"broadcast:{broadcast_id}:progress:{n}" for n in range(len(progress))
    ]
    assert progress[-1].payload["text"].endswith("left 0.\nStopped offers before their turn: 2.\n✅ Done.")
    async with database.uow() as uow:
        refused = await uow.session.scalar(select(Customer.unreachable_at).where(Customer.id == ids[102]))
        statuses = dict(
            (
                await uow.session.execute(
                    select(BroadcastRecipient.status, func.count())
                    .where(BroadcastRecipient.broadcast_id == broadcast_id)
                    .group_by(BroadcastRecipient.status)
                )
            ).all()
        )
    assert refused is not None and utc(refused) > refused_at  # marked by the feeder's next run after the 403
    assert statuses == {"sent": CUSTOMERS - 4, "blocked": 1, "skipped": 2}
