"""Send pacing, in this process (``Pacer``) and shared through Redis (``RedisPacer``): the same cases run on both;
the Redis ones need ``TEST_REDIS_URL`` and are skipped without it. Then what only sharing can do: two relays ("two
processes") that together keep a bot's rate and each other's 429 pauses, and pacing that goes on while Redis is away.

Time is a fake clock passed in as ``now``; nothing here waits in real time."""

from __future__ import annotations

import itertools
import logging
import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pytest
from redis.asyncio import Redis

from core.clock import FakeClock
from core.db.engine import Database
from core.outbox import OutboxStatus
from core.pacing import Pacer, Pacing, PacingLimits
from core.redis_pacing import RedisPacer
from core.relay import OutboxRelay, RetryAfter
from core.vault import Vault
from tests.unit.test_relay import CUSTOMER, OTHER_CUSTOMER, RecordingNotifier, make_tenant, owe, rows

TENANT = 7
GROUP = -100123
NOWHERE = "unix:///nonexistent/dukabot-test-redis.sock"  # a Redis that is never there: every call fails at once

PacerFactory = Callable[[PacingLimits], Pacing]


@pytest.fixture(params=["memory", "redis"])
def make_pacer(request: pytest.FixtureRequest, redis_prefix: str) -> PacerFactory:
    """Builds pacers of one kind. Redis pacers built by one test share their state, as processes would."""
    if request.param == "memory":
        return Pacer
    redis: Redis = request.getfixturevalue("redis")
    return partial(RedisPacer, redis, prefix=redis_prefix)


def at(clock: FakeClock, seconds: float) -> datetime:
    return clock.now() + timedelta(seconds=seconds)


# --------------------------------------------------------------------------------------------------- both kinds


async def test_one_chat_gets_one_send_per_interval(make_pacer: PacerFactory, clock: FakeClock) -> None:
    pacer = make_pacer(PacingLimits(per_chat_interval=1.0))
    start = clock.now()

    assert await pacer.try_reserve(TENANT, CUSTOMER, start) is None
    assert await pacer.try_reserve(TENANT, CUSTOMER, start) == at(clock, 1)
    assert await pacer.try_reserve(TENANT, CUSTOMER, at(clock, 0.5)) == at(clock, 1)
    assert await pacer.try_reserve(TENANT, OTHER_CUSTOMER, start) is None  # other chats are not held back
    assert await pacer.try_reserve(TENANT, CUSTOMER, at(clock, 1)) is None


async def test_group_chats_get_the_longer_interval(make_pacer: PacerFactory, clock: FakeClock) -> None:
    pacer = make_pacer(PacingLimits(per_chat_interval=1.0, per_group_interval=3.0))

    assert await pacer.try_reserve(TENANT, GROUP, clock.now()) is None
    assert await pacer.try_reserve(TENANT, GROUP, at(clock, 1)) == at(clock, 3)


async def book(pacer: Pacing, chat_id: int, now: datetime, *, answered: datetime | None = None) -> bool:
    """Book a send to ``chat_id`` at ``now`` and, when it was booked, report it answered at ``answered`` (at once by
    default), as a sender does. Whether it was booked."""
    if await pacer.try_reserve(TENANT, chat_id, now) is not None:
        return False
    await pacer.sent(TENANT, chat_id, booked=now, done=answered or now)
    return True


async def test_a_bot_gets_at_most_its_rate_in_any_second(make_pacer: PacerFactory, clock: FakeClock) -> None:
    pacer = make_pacer(PacingLimits(per_bot_rate=2))

    assert await book(pacer, 1, clock.now())
    assert await book(pacer, 2, at(clock, 0.5))
    assert await pacer.try_reserve(TENANT, 3, at(clock, 0.5)) == at(clock, 1)  # the window slides from the first
    assert await pacer.try_reserve(TENANT + 1, 3, at(clock, 0.5)) is None  # another tenant's bot has its own
    assert await book(pacer, 3, at(clock, 1))
    assert await pacer.try_reserve(TENANT, 4, at(clock, 1)) == at(clock, 1.5)


async def test_a_send_counts_from_its_answer(make_pacer: PacerFactory, clock: FakeClock) -> None:
    """Telegram may have had a send at any moment until its answer came back: the bot's window and the chat's
    interval count from the answer, and a send still in flight holds its place until it is answered."""
    pacer = make_pacer(PacingLimits(per_bot_rate=2))

    assert await book(pacer, 1, clock.now(), answered=at(clock, 0.3))  # slow to answer
    assert await pacer.try_reserve(TENANT, 2, at(clock, 0.5)) is None  # in flight, not answered yet
    assert await pacer.try_reserve(TENANT, 1, at(clock, 1)) == at(clock, 1.3)  # the chat: a second from the answer
    # The bot's window is full: of the answered send (which counts at 0.3) and the one in flight.
    assert await pacer.try_reserve(TENANT, 3, at(clock, 1)) == at(clock, 1.3)
    # At 1.3 the first send has left the window; the second is in flight and counts until it is answered, at 1.6.
    assert await pacer.try_reserve(TENANT, 3, at(clock, 1.3)) is None
    assert await pacer.try_reserve(TENANT, 4, at(clock, 1.55)) == at(clock, 1.57)  # asks again in a moment
    await pacer.sent(TENANT, 2, booked=at(clock, 0.5), done=at(clock, 1.6))
    await pacer.sent(TENANT, 3, booked=at(clock, 1.3), done=at(clock, 1.3))
    assert await pacer.try_reserve(TENANT, 4, at(clock, 1.6)) == at(clock, 2.3)  # answered at 1.3: counts till 2.3
    assert await pacer.try_reserve(TENANT, 4, at(clock, 2.3)) is None


async def test_a_burst_never_puts_a_31st_message_in_any_second_at_telegram(
    make_pacer: PacerFactory, clock: FakeClock
) -> None:
    """120 messages owed at once to as many chats of one bot, and five to one chat, each send taking up to 0.3 s to
    reach Telegram and as long again to be answered: wherever in its flight Telegram counts it, no second of
    Telegram's holds more than 30 of the bot's messages, nor two of one chat's."""
    pacer = make_pacer(PacingLimits())
    rng = random.Random(14)
    owed = [*[CUSTOMER] * 5, *range(1000, 1120)]
    arrivals: list[tuple[datetime, int]] = []
    flying: list[tuple[datetime, datetime, int]] = []  # (answered, booked, chat)
    step = timedelta(milliseconds=5)
    now = clock.now()
    while owed or flying:
        for answered, booked, chat in [f for f in flying if f[0] <= now]:
            flying.remove((answered, booked, chat))
            await pacer.sent(TENANT, chat, booked=booked, done=answered)
        waiting = []
        for index, chat in enumerate(owed):
            if await pacer.try_reserve(TENANT, chat, now) is not None:
                waiting.append(chat)
                if chat != CUSTOMER:  # the bot's window is full: the others wait too
                    waiting += owed[index + 1 :]
                    break
                continue
            reached = now + timedelta(seconds=rng.uniform(0, 0.3))
            arrivals.append((reached, chat))
            flying.append((reached + timedelta(seconds=rng.uniform(0, 0.3)), now, chat))
        owed = waiting
        now += step

    times = sorted(reached for reached, _ in arrivals)
    assert len(times) == 125
    assert all(later - earlier >= timedelta(seconds=1) for earlier, later in zip(times, times[30:], strict=False))
    to_one_chat = sorted(reached for reached, chat in arrivals if chat == CUSTOMER)
    assert all(b - a >= timedelta(seconds=1) for a, b in itertools.pairwise(to_one_chat))
    assert times[-1] - times[0] < timedelta(seconds=8)  # and it kept going: 125 messages in about 5 s


async def test_ready_at_books_nothing(make_pacer: PacerFactory, clock: FakeClock) -> None:
    pacer = make_pacer(PacingLimits(per_bot_rate=1))

    assert await pacer.ready_at(TENANT, CUSTOMER, clock.now()) == clock.now()
    assert await pacer.ready_at(TENANT, CUSTOMER, clock.now()) == clock.now()
    assert await book(pacer, CUSTOMER, clock.now())
    assert await pacer.ready_at(TENANT, OTHER_CUSTOMER, clock.now()) == at(clock, 1)


async def test_a_429_pauses_the_chat_or_the_whole_bot(make_pacer: PacerFactory, clock: FakeClock) -> None:
    pacer = make_pacer(PacingLimits())
    now = clock.now()

    await pacer.pause(TENANT, CUSTOMER, now=now, until=at(clock, 5), whole_bot=False)
    assert await pacer.try_reserve(TENANT, CUSTOMER, now) == at(clock, 5)
    assert await pacer.try_reserve(TENANT, OTHER_CUSTOMER, now) is None

    await pacer.pause(TENANT, OTHER_CUSTOMER, now=now, until=at(clock, 8), whole_bot=True)
    assert await pacer.try_reserve(TENANT, 3, now) == at(clock, 8)
    assert await pacer.try_reserve(TENANT + 1, 3, now) is None  # only this tenant's bot

    await pacer.pause(TENANT, CUSTOMER, now=now, until=at(clock, 2), whole_bot=True)  # a shorter pause cuts nothing
    assert await pacer.ready_at(TENANT, CUSTOMER, now) == at(clock, 8)
    assert await pacer.try_reserve(TENANT, CUSTOMER, at(clock, 8)) is None


async def test_pruning_forgets_only_what_is_over(make_pacer: PacerFactory, clock: FakeClock) -> None:
    pacer = make_pacer(PacingLimits())
    assert await pacer.try_reserve(TENANT, CUSTOMER, clock.now()) is None
    await pacer.pause(TENANT, OTHER_CUSTOMER, now=clock.now(), until=at(clock, 5), whole_bot=False)

    pacer.prune(at(clock, 2))

    assert await pacer.ready_at(TENANT, CUSTOMER, at(clock, 2)) == at(clock, 2)
    assert await pacer.ready_at(TENANT, OTHER_CUSTOMER, at(clock, 2)) == at(clock, 5)


# --------------------------------------------------------------------------------------------------- shared


async def test_two_pacers_sharing_redis_book_each_slot_once(redis: Redis, redis_prefix: str, clock: FakeClock) -> None:
    limits = PacingLimits(per_chat_interval=1.0, per_bot_rate=3)
    first, second = RedisPacer(redis, limits, prefix=redis_prefix), RedisPacer(redis, limits, prefix=redis_prefix)

    assert await book(first, CUSTOMER, clock.now())
    assert await second.try_reserve(TENANT, CUSTOMER, clock.now()) == at(clock, 1)  # the chat's interval holds

    booked: list[datetime] = []  # both "processes" offer a new chat every tenth of a second for five seconds
    for step in range(50):
        now = at(clock, step / 10)
        for number, pacer in enumerate((first, second)):
            if await pacer.try_reserve(TENANT, 1000 + 2 * step + number, now) is None:
                await pacer.sent(TENANT, 1000 + 2 * step + number, booked=now, done=now)
                booked.append(now)

    booked.append(clock.now())  # CUSTOMER's send
    booked.sort()
    assert len(booked) == 15  # three a second for five seconds, between them
    for earlier, later in zip(booked, booked[3:], strict=False):
        assert later - earlier >= timedelta(seconds=1)  # never four in one second


async def test_a_429_seen_by_one_pacer_holds_the_other(redis: Redis, redis_prefix: str, clock: FakeClock) -> None:
    first = RedisPacer(redis, PacingLimits(), prefix=redis_prefix)
    second = RedisPacer(redis, PacingLimits(), prefix=redis_prefix)

    await first.pause(TENANT, CUSTOMER, now=clock.now(), until=at(clock, 30), whole_bot=True)

    assert await second.try_reserve(TENANT, OTHER_CUSTOMER, clock.now()) == at(clock, 30)
    assert await second.ready_at(TENANT, CUSTOMER, at(clock, 10)) == at(clock, 30)
    assert await second.try_reserve(TENANT, OTHER_CUSTOMER, at(clock, 30)) is None


async def test_keys_carry_the_prefix(redis: Redis, redis_prefix: str, clock: FakeClock) -> None:
    pacer = RedisPacer(redis, PacingLimits(), prefix=redis_prefix)
    await pacer.try_reserve(TENANT, CUSTOMER, clock.now())
    await pacer.pause(TENANT, CUSTOMER, now=clock.now(), until=at(clock, 5), whole_bot=True)

    keys = sorted(key.decode() for key in await redis.keys(f"{redis_prefix}*"))
    assert keys == [
        f"{redis_prefix}pace:{{{TENANT}}}:chat:{CUSTOMER}:next",
        f"{redis_prefix}pace:{{{TENANT}}}:chat:{CUSTOMER}:paused",
        f"{redis_prefix}pace:{{{TENANT}}}:paused",
        f"{redis_prefix}pace:{{{TENANT}}}:sends",
    ]
    ttls = [await redis.pttl(key) for key in keys]
    assert all(ttl > 0 for ttl in ttls)  # Redis forgets them by itself


async def test_without_redis_pacing_goes_on_locally_with_one_warning(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    redis = Redis.from_url(NOWHERE)
    try:
        pacer = RedisPacer(redis, PacingLimits(per_bot_rate=2))
        with caplog.at_level(logging.WARNING, logger="core.shared_state"):
            assert await pacer.try_reserve(TENANT, CUSTOMER, clock.now()) is None
            assert await pacer.try_reserve(TENANT, CUSTOMER, clock.now()) == at(clock, 1)
            assert await pacer.try_reserve(TENANT, OTHER_CUSTOMER, clock.now()) is None
            assert await pacer.try_reserve(TENANT, 3, clock.now()) == at(clock, 1)
            await pacer.pause(TENANT, 3, now=clock.now(), until=at(clock, 9), whole_bot=False)
            assert await pacer.ready_at(TENANT, 3, at(clock, 6)) == at(clock, 9)  # Redis tried again: still away
    finally:
        await redis.aclose()

    assert pacer.health.down
    assert [r.levelno for r in caplog.records if r.name == "core.shared_state"] == [logging.WARNING]


# --------------------------------------------------------------------------------------------------- two relays


def relay_with(database: Database, notifier: RecordingNotifier, clock: FakeClock, **options: Any) -> OutboxRelay:
    """A relay that never waits for pacing (``max_hold=0``): a row that may not go yet is given back, due when it
    may. So a pass is over when ``run_once`` returns, and the test alone moves the clock."""

    async def no_sleep(seconds: float) -> None:
        raise AssertionError("the relay waited")

    return OutboxRelay(database, notifier, clock, max_hold=0, sleep=no_sleep, **options)


async def test_two_relays_sharing_redis_keep_the_bots_rate_together(
    database: Database, vault: Vault, clock: FakeClock, redis: Redis, redis_prefix: str
) -> None:
    tenant_id = await make_tenant(database, vault, clock)
    for chat in range(1, 9):
        await owe(database, clock, tenant_id, 800000 + chat, f"m:{chat}", f"m{chat}")
    notifier = RecordingNotifier(clock)
    shared = partial(RedisPacer, redis, prefix=redis_prefix)
    first = relay_with(database, notifier, clock, batch=2, per_bot_rate=2, pacing=shared)
    second = relay_with(database, notifier, clock, batch=2, per_bot_rate=2, pacing=shared)

    for turn in range(6):  # each relay takes its turn to go first
        for relay in (first, second) if turn % 2 == 0 else (second, first):
            await relay.run_once()
        clock.advance(seconds=1)

    per_second = Counter(d.at for d in notifier.delivered)
    assert list(per_second.values()) == [2, 2, 2, 2]  # two a second between them: the second relay waited
    assert Counter(d.text for d in notifier.delivered) == Counter(f"m{chat}" for chat in range(1, 9))
    assert {r.status for r in await rows(database)} == {OutboxStatus.SENT}
    assert first.stats.sent > 0 and second.stats.sent > 0


async def test_a_429_met_by_one_relay_holds_the_other(
    database: Database, vault: Vault, clock: FakeClock, redis: Redis, redis_prefix: str
) -> None:
    tenant_id = await make_tenant(database, vault, clock)
    start = clock.now()
    await owe(database, clock, tenant_id, CUSTOMER, "a:1", "a1")
    notifier = RecordingNotifier(clock)
    notifier.fail_chat(CUSTOMER, RetryAfter(30))
    shared = partial(RedisPacer, redis, prefix=redis_prefix)
    first = relay_with(database, notifier, clock, pacing=shared)
    second = relay_with(database, notifier, clock, pacing=shared)

    await first.run_once()  # a1 meets the 429: the whole bot pauses for 30 s
    await owe(database, clock, tenant_id, OTHER_CUSTOMER, "b:1", "b1")
    await second.run_once()

    assert notifier.delivered == []
    assert second.stats.deferred == 1
    clock.advance(seconds=30)
    await second.run_once()
    assert sorted(notifier.texts_to(CUSTOMER) + notifier.texts_to(OTHER_CUSTOMER)) == ["a1", "b1"]
    assert all(d.at == start + timedelta(seconds=30) for d in notifier.delivered)


async def test_a_relay_without_its_redis_delivers_everything_once(
    database: Database, vault: Vault, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    tenant_id = await make_tenant(database, vault, clock)
    for n in range(1, 4):
        await owe(database, clock, tenant_id, CUSTOMER, f"a:{n}", f"a{n}")
    await owe(database, clock, tenant_id, OTHER_CUSTOMER, "b:1", "b1")
    notifier = RecordingNotifier(clock)
    redis = Redis.from_url(NOWHERE)
    try:
        relay = relay_with(database, notifier, clock, pacing=partial(RedisPacer, redis))
        with caplog.at_level(logging.WARNING, logger="core.shared_state"):
            for _ in range(8):
                await relay.run_once()
                clock.advance(seconds=1)
    finally:
        await redis.aclose()

    assert notifier.texts_to(CUSTOMER) == ["a1", "a2", "a3"]  # in order, each once, a second apart
    assert notifier.texts_to(OTHER_CUSTOMER) == ["b1"]
    times = [d.at for d in notifier.delivered if d.chat_id == CUSTOMER]
    assert [later - earlier for earlier, later in itertools.pairwise(times)] == [timedelta(seconds=1)] * 2
    # One warning for the outage, not one per message (Redis was tried again, and failed again, after 5 s).
    assert len([r for r in caplog.records if r.name == "core.shared_state"]) == 1
