"""A relay killed after Telegram accepted its sends and before it recorded them: the Bot API is slow (its answers held),
the relay is abandoned mid-send, and a second relay claims the rows when the lease runs out. Telegram has no
idempotency key, so the rows whose outcome is unknown are delivered harmlessly: as an edit of the message the chat
already has, else as a message marked as a repeat. No receipt or alert is shown twice without that mark.

Each library's real channel and notifier, the fake Bot API server, a real database; the fake clock moves the lease.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.channel import Channel
from core import outbox
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import OutboxMessage, Tenant, TenantAdmin
from core.messages import Message
from core.outbox import OutboxStatus
from core.relay import OutboxRelay
from core.vault import Vault
from sandbox.telegram import FakeTelegram, FakeTelegramServer, FakeUser
from tests.support.channels import serving

TOKEN = "7100001:AAH-crash-test-token-abcdefghijklmnop"
CUSTOMER, MERCHANT = 254_700_000_001, 9001
LEASE = 60.0
CHECK_PHONE = "📲 Check your phone: KES 420 for order K7Q2"
RECEIPT = "✅ Payment received for order K7Q2: KES 420"
PROOF_RECEIPT = "✅ Payment received for order M3P8: KES 190"
ALERT = "💰 Order K7Q2 paid: KES 420"
PROOF_ALERT = "💰 Order M3P8 paid: KES 190"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(host="127.0.0.1", port=0) as server:
        server.fake.add_bot(TOKEN, "duka_crash_bot", "Duka")
        yield server


@pytest.fixture
async def channel(telegram: FakeTelegramServer, telegram_library: str, database: Database) -> AsyncIterator[Channel]:
    """The channel reads the tenant's token from the database, as the server's does."""
    async with serving(telegram_library, telegram.base_url, database=database) as built:
        yield built


async def seed(database: Database, vault: Vault, clock: FakeClock) -> int:
    async with database.uow() as uow:
        tenant = Tenant(
            slug="duka",
            name="Duka",
            currency="KES",
            region="KE",
            bot_token_enc=vault.encrypt(TOKEN),
            webhook_secret_enc=vault.encrypt("s"),
            created_at=clock.now(),
        )
        uow.session.add(tenant)
        await uow.session.flush()
        uow.session.add(TenantAdmin(tenant_id=tenant.id, tg_user_id=MERCHANT, created_at=clock.now()))
        await uow.commit()
        return tenant.id


async def owe(database: Database, clock: FakeClock, tenant_id: int, chat_id: int, key: str, message: Message) -> None:
    async with database.uow() as uow:
        await outbox.enqueue(
            uow.session, tenant_id=tenant_id, chat_id=chat_id, dedupe_key=key, message=message, now=clock.now()
        )
        await uow.commit()


async def statuses(database: Database) -> dict[str, str]:
    async with database.uow() as uow:
        return dict((await uow.session.execute(select(OutboxMessage.dedupe_key, OutboxMessage.status))).all())


def shown(user: FakeUser) -> list[str]:
    return [message.content for message in user.messages]


def unmarked_twice(users: list[FakeUser], texts: list[str]) -> int:
    """How many of ``texts`` some chat shows more than once without the repeat mark."""
    mark = outbox.as_repeat(Message("")).text
    return sum(
        sum(message.content == words for message in user.messages) > 1
        for user in users
        for words in texts
        if not words.startswith(mark)
    )


@pytest.mark.every_channel
async def test_a_relay_killed_after_telegram_accepted_shows_nothing_twice_unmarked(
    database: Database, vault: Vault, clock: FakeClock, telegram: FakeTelegramServer, channel: Channel
) -> None:
    fake: FakeTelegram = telegram.fake
    tenant_id = await seed(database, vault, clock)
    customer, merchant = fake.user(TOKEN, CUSTOMER, "Amina"), fake.user(TOKEN, MERCHANT, "Mama")
    for person in (customer, merchant):
        await person.send_command("/start")  # Telegram lets a bot write only to users who wrote to it

    def relay() -> OutboxRelay:  # each "process" has its own relay, bot directory and pacing
        return OutboxRelay(database, channel.notifier, clock, lease=LEASE, per_chat_interval=0.0)

    # An M-Pesa attempt's "check your phone" is in the chat.
    await owe(database, clock, tenant_id, CUSTOMER, "started:1", Message(CHECK_PHONE))
    await relay().run_once()
    # It is paid (the receipt takes its place), and so is an order paid by hand (a receipt of its own); the merchant
    # is told of both.
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", Message(RECEIPT, replaces="started:1"))
    await owe(database, clock, tenant_id, MERCHANT, "paid:1:to:9001", Message(ALERT))
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:2", Message(PROOF_RECEIPT))
    await owe(database, clock, tenant_id, MERCHANT, "paid:2:to:9001", Message(PROOF_ALERT))

    # The Bot API turns slow: the first relay's sends take effect, their answers do not come, and the process dies.
    fake.hold_answers()
    first = asyncio.create_task(relay().run_once())
    async with asyncio.timeout(10):
        await customer.wait_for(RECEIPT)
        await merchant.wait_for(ALERT)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    fake.release_answers()
    assert shown(customer) == [RECEIPT] and shown(merchant) == [ALERT]
    assert set((await statuses(database)).values()) == {OutboxStatus.SENT, OutboxStatus.PENDING}

    # Another process's relay claims the rows once the dead relay's lease has run out.
    clock.advance(seconds=LEASE + 1)
    second = relay()
    for _ in range(3):
        await second.run_once()
        clock.advance(seconds=5)

    assert set((await statuses(database)).values()) == {OutboxStatus.SENT}
    assert unmarked_twice([customer, merchant], [RECEIPT, PROOF_RECEIPT, ALERT, PROOF_ALERT]) == 0
    # The receipt edited again; the rows behind it in each chat were never claimed by the dead relay (it held each
    # chat's first row only), so they go out unmarked: they cannot have reached the chat before.
    assert shown(customer) == [RECEIPT, PROOF_RECEIPT]
    assert shown(merchant) == [ALERT, outbox.as_repeat(Message(ALERT)).text, PROOF_ALERT]
