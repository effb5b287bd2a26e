"""Direct replies (menus, cart, checkout steps) share the bot's pacing with the outbox relay: they wait for their slot
and wait out a 429, and when they cannot go out within the bounded wait they are owed by the outbox instead, so a
reply is late rather than lost. Answering the button press is never held back.

The real ChannelReplier and each library's channel against the fake Bot API server, a real database; the fake clock
and an injected sleep stand in for time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channel import Channel, Incoming
from bot.replies import ChannelReplier, OutboxFallback
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import OutboxMessage
from core.messages import Button, Message, keyboard
from core.outbox import OutboxStatus
from core.pacing import Pacer, PacingLimits
from core.redis_pacing import RedisPacer
from core.relay import OutboxRelay
from core.settings import Settings
from core.vault import Vault
from flows.context import Reply
from flows.inbound import Actor, Inbound
from sandbox.telegram import FakeTelegram, FakeTelegramServer, FakeUser, SentMessage
from tests.integration.test_crash_repeats import seed
from tests.support.channels import adopt, serving
from webhooks.runtime import build_runtime

pytestmark = pytest.mark.every_channel

TOKEN = "7100001:AAH-crash-test-token-abcdefghijklmnop"  # the token `seed` stores
CHAT = 254_700_000_002


class Sleep:
    """The replier's injected wait: records it and moves the fake clock, never really sleeps."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds=seconds)


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(host="127.0.0.1", port=0) as server:
        server.fake.add_bot(TOKEN, "duka_reply_bot", "Duka")
        yield server


@pytest.fixture
async def channel(telegram: FakeTelegramServer, telegram_library: str) -> AsyncIterator[Channel]:
    async with serving(telegram_library, telegram.base_url, token=TOKEN) as built:
        yield built


async def customer(fake: FakeTelegram) -> FakeUser:
    user = fake.user(TOKEN, CHAT, "Amina")
    await user.send_command("/start")  # Telegram lets a bot write only to users who wrote to it
    return user


def said(user: FakeUser) -> Incoming:
    return Incoming(Actor(user.id, user.id, "Amina"), Inbound.cmd("menu"))


async def owed(database: Database) -> list[tuple[int, str, str]]:
    async with database.uow() as uow:
        rows = await uow.session.execute(select(OutboxMessage.chat_id, OutboxMessage.status, OutboxMessage.payload))
        return [(chat, status, payload["text"]) for chat, status, payload in rows]


async def test_a_429_on_a_reply_is_waited_out_and_the_reply_arrives(
    telegram: FakeTelegramServer, channel: Channel, clock: FakeClock
) -> None:
    user = await customer(telegram.fake)
    sleep = Sleep(clock)
    replier = ChannelReplier(channel, clock=clock, sleep=sleep)
    telegram.fake.fail_next("sendMessage", 429, retry_after=3, chat_id=CHAT)

    await replier.deliver(1, said(user), Reply([Message("Choose a category")]))

    assert [m.content for m in user.messages] == ["Choose a category"]
    assert sleep.waits == [3.0]  # the whole retry_after, then the send again


async def test_replies_to_one_chat_are_paced_like_the_relays_messages(
    telegram: FakeTelegramServer, channel: Channel, clock: FakeClock
) -> None:
    user = await customer(telegram.fake)
    sleep = Sleep(clock)
    pacing = Pacer(PacingLimits(per_chat_interval=1.0))
    replier = ChannelReplier(channel, pacing=pacing, clock=clock, sleep=sleep)

    await replier.deliver(1, said(user), Reply([Message("Karibu!"), Message("Choose a category")]))

    assert [m.content for m in user.messages] == ["Karibu!", "Choose a category"]
    assert sleep.waits == [1.0]  # the second waited for the chat's next slot


async def test_a_reply_that_cannot_go_in_time_is_owed_by_the_outbox_and_the_press_is_answered_at_once(
    telegram: FakeTelegramServer, channel: Channel, clock: FakeClock, database: Database, vault: Vault
) -> None:
    tenant_id = await seed(database, vault, clock)
    user = await customer(telegram.fake)
    sleep = Sleep(clock)
    pacing = Pacer(PacingLimits())
    adopt(channel, tenant_id, TOKEN)
    relay = OutboxRelay(database, channel.notifier, clock, pacer=pacing, sleep=sleep)
    replier = ChannelReplier(
        channel,
        pacing=pacing,
        clock=clock,
        sleep=sleep,
        max_wait=5.0,
        fallback=OutboxFallback(database, clock, relay.wake),
    )
    menu = await _menu(replier, user, tenant_id)
    press = await user.press("Groceries", message=menu)
    # Another process's relay met a 429 with a long retry_after: the whole bot waits 30 s.
    await pacing.pause(tenant_id, CHAT, now=clock.now(), until=clock.now() + timedelta(seconds=30), whole_bot=True)
    incoming = Incoming(Actor(user.id, user.id, "Amina"), Inbound.pressed("cat.1:1"), press.query_id, press.message_id)

    await replier.deliver(tenant_id, incoming, Reply([Message("Groceries – tap a product:", edit=True)], "Opening"))

    assert [answer.text for answer in user.callback_answers] == ["Opening"]  # answered at once, unpaced
    assert sleep.waits == []  # 30 s is past the bounded wait: not waited for
    assert await owed(database) == [(CHAT, OutboxStatus.PENDING, "Groceries – tap a product:")]
    clock.advance(seconds=31)
    await relay.run_once()
    assert await owed(database) == [(CHAT, OutboxStatus.SENT, "Groceries – tap a product:")]
    assert [m.content for m in user.messages][-1] == "Groceries – tap a product:"  # late, not lost


async def test_the_runtime_gives_replies_and_relay_one_pacing(tmp_path: Path, telegram_library: str) -> None:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        secret_keys="YOKMvaqZ3xJ0pN1C6tyYl1vX6mW0Tr0t9n8zk0SxQ2E=",
        telegram_library=telegram_library,
    )
    runtime = build_runtime(settings)
    try:
        replier = runtime.processor.replier
        assert isinstance(replier, ChannelReplier)
        assert replier.pacing is runtime.relay.pacer
    finally:
        await runtime.close()


async def _menu(replier: ChannelReplier, user: FakeUser, tenant_id: int) -> SentMessage:
    await replier.deliver(
        tenant_id, said(user), Reply([Message("Choose a category", keyboard([Button("Groceries", data="cat.1:1")]))])
    )
    return user.messages[-1]


async def test_with_redis_replies_and_relay_share_the_redis_pacing(tmp_path: Path, telegram_library: str) -> None:
    settings = Settings(
        _env_file=None,
        telegram_library=telegram_library,
        data_dir=tmp_path,
        secret_keys="YOKMvaqZ3xJ0pN1C6tyYl1vX6mW0Tr0t9n8zk0SxQ2E=",
        redis_url="unix:///nonexistent/dukabot-test-redis.sock",  # connecting is lazy: building needs no Redis
    )
    runtime = build_runtime(settings)
    try:
        replier = runtime.processor.replier
        assert isinstance(replier, ChannelReplier) and isinstance(runtime.relay.pacer, RedisPacer)
        assert replier.pacing is runtime.relay.pacer
    finally:
        await runtime.close()
