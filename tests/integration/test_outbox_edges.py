"""The outbox's edges, as the table shows them: which rows a relay claims and in what order, when a lease has run
out, what a replacing row does to the row it replaces, and what a retry or a final failure leaves in the row."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from core import outbox
from core.clock import FakeClock, utc
from core.db.engine import Database
from core.db.tables import OutboxMessage
from core.messages import Message
from core.outbox import OutboxStatus, Replacing
from core.vault import Vault
from tests.support.seed import seed_shop

CHAT, OTHER_CHAT = 5001, 5002
LEASE = timedelta(seconds=60)


async def owe(database: Database, tenant_id: int, key: str, message: Message, now: datetime, chat: int = CHAT) -> int:
    async with database.uow() as uow:
        assert await outbox.enqueue(
            uow.session, tenant_id=tenant_id, chat_id=chat, dedupe_key=key, message=message, now=now
        )
        row_id = await uow.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key))
        await uow.commit()
    return int(row_id or 0)


async def set_row(database: Database, row_id: int, **values: object) -> None:
    async with database.uow() as uow:
        await uow.session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values))
        await uow.commit()


async def state(database: Database, row_id: int) -> tuple[str, datetime | None, str | None, int]:
    async with database.uow() as uow:
        row = await uow.session.get(OutboxMessage, row_id)
        assert row is not None
        held = utc(row.claimed_until) if row.claimed_until is not None else None
        return row.status, held, row.last_error, row.attempts


async def claim(database: Database, now: datetime, limit: int = 10) -> list[outbox.Claimed]:
    async with database.uow() as uow:
        claimed = await outbox.claim_due(uow.session, now, limit, LEASE)
        await uow.commit()
    return claimed


async def hold(database: Database, row_id: int, now: datetime) -> outbox.Claimed:
    """``row_id`` claimed as the relay that holds its chat has it, wherever it stands in the chat (``claim_due``
    takes a chat's first claimable row only)."""
    async with database.uow() as uow:
        row = await uow.session.get(OutboxMessage, row_id)
        assert row is not None
        row.claimed_until = now + LEASE
        claimed = outbox.Claimed(
            id=row.id,
            tenant_id=row.tenant_id,
            chat_id=row.chat_id,
            message=Message.from_payload(row.payload),
            attempts=row.attempts,
            created_at=row.created_at,
        )
        await uow.commit()
    return claimed


async def resolve(database: Database, row: outbox.Claimed, now: datetime) -> Replacing:
    async with database.uow() as uow:
        replacing = await outbox.replacing(uow.session, row, now)
        await uow.commit()
    return replacing


async def test_due_rows_are_claimed_oldest_due_first_with_what_they_carry(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await seed_shop(database, vault, clock)
    start = clock.now()
    later = await owe(database, shop.tenant_id, "a", Message("due later"), start, chat=OTHER_CHAT)
    sooner = await owe(database, shop.tenant_id, "b", Message("due sooner"), start)
    behind = await owe(database, shop.tenant_id, "c", Message("behind the sooner one"), start)
    await set_row(database, later, next_attempt_at=start + timedelta(seconds=5))
    await set_row(database, sooner, next_attempt_at=start + timedelta(seconds=2))
    await set_row(database, behind, next_attempt_at=start + timedelta(seconds=3))

    claimed = await claim(database, clock.advance(seconds=10))

    # The first row of each chat: the rest of a chat waits for the relay that holds it (its lane claims them).
    assert [(c.id, c.message.text, c.chat_id, c.tenant_id, c.attempts) for c in claimed] == [
        (sooner, "due sooner", CHAT, shop.tenant_id, 0),
        (later, "due later", OTHER_CHAT, shop.tenant_id, 0),
    ]
    assert [utc(c.created_at) for c in claimed] == [start, start]
    assert await state(database, sooner) == ("pending", clock.now() + LEASE, None, 0)
    assert await claim(database, clock.now()) == []  # both chats are held
    async with database.uow() as uow:  # the relay that holds the chat records its row and takes the next
        await outbox.mark_sent(uow.session, sooner, clock.now(), message_id=1)
        [after] = await outbox.claim_due(uow.session, clock.now(), 10, LEASE, chat=(shop.tenant_id, CHAT))
        await uow.commit()
    assert after.id == behind


async def test_a_lease_that_runs_out_this_instant_frees_the_row(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await seed_shop(database, vault, clock)
    row_id = await owe(database, shop.tenant_id, "a", Message("hello"), clock.now())
    [first] = await claim(database, clock.now())
    assert await claim(database, clock.advance(seconds=59)) == []

    [again] = await claim(database, clock.advance(seconds=1))  # claimed_until == now: the lease is over

    assert (first.id, again.id) == (row_id, row_id)


async def test_an_unreadable_row_is_dead_and_says_why(database: Database, vault: Vault, clock: FakeClock) -> None:
    shop = await seed_shop(database, vault, clock)
    row_id = await owe(database, shop.tenant_id, "a", Message("hello"), clock.now())
    await set_row(database, row_id, payload={"no text": True})

    assert await claim(database, clock.now()) == []
    assert await state(database, row_id) == ("dead", None, "unreadable payload: KeyError", 0)


async def test_a_replacement_supersedes_a_free_earlier_row_and_nothing_else(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await seed_shop(database, vault, clock)
    now = clock.now()
    earlier = await owe(database, shop.tenant_id, "started:1", Message("check your phone"), now)
    bystander = await owe(database, shop.tenant_id, "other:1", Message("unrelated"), now)
    newer = await owe(database, shop.tenant_id, "receipt:1", Message("paid", replaces="started:1"), now)
    row = await hold(database, newer, now)
    await set_row(database, earlier, claimed_until=now)  # a relay's lease that runs out this very instant
    await set_row(database, bystander, claimed_until=None)

    assert await resolve(database, row, now) == Replacing()  # sent as a new message

    assert await state(database, earlier) == ("superseded", None, f"replaced by row {newer}", 0)
    assert (await state(database, bystander))[0] == "pending"


async def test_a_replacement_of_a_sent_row_edits_its_message_and_only_that_key_counts(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await seed_shop(database, vault, clock)
    now = clock.now()
    sent = await owe(database, shop.tenant_id, "started:1", Message("check your phone"), now)
    async with database.uow() as uow:
        await outbox.mark_sent(uow.session, sent, now, message_id=41)
        await uow.commit()
    edits = await owe(database, shop.tenant_id, "receipt:1", Message("paid", replaces="started:1"), now)
    unknown = await owe(database, shop.tenant_id, "receipt:2", Message("paid", replaces="started:2"), now)
    claimed = {row_id: await hold(database, row_id, now) for row_id in (edits, unknown)}

    assert await resolve(database, claimed[edits], now) == Replacing(message_id=41)
    assert await resolve(database, claimed[unknown], now) == Replacing()  # no row has that key: a new message


async def test_a_replacement_waits_while_another_relay_holds_the_earlier_row(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await seed_shop(database, vault, clock)
    now = clock.now()
    long_held = await owe(database, shop.tenant_id, "started:1", Message("one"), now)
    nearly_free = await owe(database, shop.tenant_id, "started:2", Message("two"), now)
    await set_row(database, long_held, claimed_until=now + timedelta(seconds=30))
    await set_row(database, nearly_free, claimed_until=now + timedelta(milliseconds=500))
    first = await owe(database, shop.tenant_id, "receipt:1", Message("paid", replaces="started:1"), now)
    second = await owe(database, shop.tenant_id, "receipt:2", Message("paid", replaces="started:2"), now)
    claimed = {row_id: await hold(database, row_id, now) for row_id in (first, second)}

    # Until the holder's lease ends; and never sooner than a second from now, so a wait is never a busy loop.
    assert await resolve(database, claimed[first], now) == Replacing(wait_until=now + timedelta(seconds=30))
    assert await resolve(database, claimed[second], now) == Replacing(wait_until=now + timedelta(seconds=1))
    assert [(await state(database, r))[0] for r in (long_held, nearly_free)] == ["pending", "pending"]


async def test_a_retry_and_a_final_failure_free_the_row_and_keep_500_characters_of_the_error(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await seed_shop(database, vault, clock)
    now = clock.now()
    retried = await owe(database, shop.tenant_id, "a", Message("one"), now)
    ended = await owe(database, shop.tenant_id, "b", Message("two"), now)
    await claim(database, now)
    error = "x" * 600
    async with database.uow() as uow:
        await outbox.mark_retry(uow.session, retried, now + timedelta(seconds=30), error, count=True)
        await outbox.mark_final(uow.session, ended, OutboxStatus.DEAD, error)
        await uow.commit()

    assert await state(database, retried) == ("pending", None, "x" * 500, 1)
    assert await state(database, ended) == ("dead", None, "x" * 500, 1)


async def test_depth_counts_only_the_messages_still_owed(database: Database, vault: Vault, clock: FakeClock) -> None:
    shop = await seed_shop(database, vault, clock)
    now = clock.now()
    async with database.uow() as uow:
        assert await outbox.depth(uow.session) == 0
    for key in ("a", "b", "c"):
        await owe(database, shop.tenant_id, key, Message(key), now)
    sent = await owe(database, shop.tenant_id, "d", Message("d"), now)
    async with database.uow() as uow:
        await outbox.mark_sent(uow.session, sent, now, message_id=1)
        await uow.commit()
    async with database.uow() as uow:
        assert await outbox.depth(uow.session) == 3
