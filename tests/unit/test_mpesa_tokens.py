"""The Daraja token cache, in this process and shared through Redis (``RedisTokenStore``): the same cases run on
both; the Redis ones need ``TEST_REDIS_URL`` and are skipped without it. Then what only sharing does: two caches
("two processes") that fetch once between them, a token encrypted at rest, a slow lock holder, and Redis away.

Time is a fake clock; the store's waits only let other tasks run (or move the fake clock): nothing sleeps."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from core.clock import FakeClock
from core.vault import Vault
from payments.mpesa.tokens import RedisTokenStore, TokenCache
from payments.mpesa.wire import AccessToken

KEY = ("https://sandbox.safaricom.co.ke", "consumer-key-1234")
NOWHERE = "unix:///nonexistent/dukabot-test-redis.sock"  # a Redis that is never there: every call fails at once

CacheFactory = Callable[[], TokenCache]


class Daraja:
    """Hands out numbered tokens and counts the OAuth calls; ``gate`` holds a call in flight while it is set."""

    def __init__(self, expires_in: int = 3599) -> None:
        self.expires_in = expires_in
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()  # set once a fetch has started
        self.fail_next = False

    async def fetch(self) -> AccessToken:
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        await asyncio.sleep(0)  # a real fetch awaits I/O: let other tasks run
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("Daraja said no")
        return AccessToken(f"token-{self.calls}-aBcDeFgHiJkLmNoP", self.expires_in)


async def just_yield(seconds: float) -> None:
    """The store's wait between polls: lets the lock holder run, never moves the clock, so a waiter waits for as long
    as the holder takes (how long that is never decides a test)."""
    await asyncio.sleep(0)


def shared_cache(redis: Redis, vault: Vault, clock: FakeClock, prefix: str) -> TokenCache:
    """A cache as one process would build it; caches built with one prefix share their tokens."""
    return TokenCache(clock, shared=RedisTokenStore(redis, vault, clock, prefix=prefix, sleep=just_yield))


@pytest.fixture(params=["memory", "redis"])
def make_cache(request: pytest.FixtureRequest, vault: Vault, clock: FakeClock, redis_prefix: str) -> CacheFactory:
    if request.param == "memory":
        return lambda: TokenCache(clock)
    redis: Redis = request.getfixturevalue("redis")
    return lambda: shared_cache(redis, vault, clock, redis_prefix)


@pytest.fixture
def daraja() -> Daraja:
    return Daraja()


# --------------------------------------------------------------------------------------------------- both kinds


async def test_a_token_is_fetched_once_and_reused(make_cache: CacheFactory, daraja: Daraja) -> None:
    cache = make_cache()
    assert await cache.get(KEY, daraja.fetch) == "token-1-aBcDeFgHiJkLmNoP"
    assert await cache.get(KEY, daraja.fetch) == "token-1-aBcDeFgHiJkLmNoP"
    assert await cache.get(("https://api.safaricom.co.ke", KEY[1]), daraja.fetch) == "token-2-aBcDeFgHiJkLmNoP"
    assert daraja.calls == 2


async def test_concurrent_callers_share_one_fetch(make_cache: CacheFactory, daraja: Daraja) -> None:
    cache = make_cache()
    tokens = await asyncio.gather(*(cache.get(KEY, daraja.fetch) for _ in range(5)))
    assert set(tokens) == {"token-1-aBcDeFgHiJkLmNoP"}
    assert daraja.calls == 1


async def test_a_token_is_refreshed_a_margin_before_it_expires(
    make_cache: CacheFactory, daraja: Daraja, clock: FakeClock
) -> None:
    cache = make_cache()
    await cache.get(KEY, daraja.fetch)
    clock.advance(seconds=3599 - 61)
    assert await cache.get(KEY, daraja.fetch) == "token-1-aBcDeFgHiJkLmNoP"
    clock.advance(seconds=1)  # 60 s before expiry
    assert await cache.get(KEY, daraja.fetch) == "token-2-aBcDeFgHiJkLmNoP"


async def test_a_short_lived_token_is_kept_half_its_lifetime(make_cache: CacheFactory, clock: FakeClock) -> None:
    daraja = Daraja(expires_in=100)
    cache = make_cache()
    await cache.get(KEY, daraja.fetch)
    clock.advance(seconds=49)
    await cache.get(KEY, daraja.fetch)
    assert daraja.calls == 1
    clock.advance(seconds=1)
    await cache.get(KEY, daraja.fetch)
    assert daraja.calls == 2


async def test_invalidate_keeps_a_token_refreshed_by_someone_else(make_cache: CacheFactory, daraja: Daraja) -> None:
    cache = make_cache()
    assert await cache.get(KEY, daraja.fetch) == "token-1-aBcDeFgHiJkLmNoP"
    cache.invalidate(KEY, "token-1-aBcDeFgHiJkLmNoP")
    assert await cache.get(KEY, daraja.fetch) == "token-2-aBcDeFgHiJkLmNoP"
    cache.invalidate(KEY, "token-1-aBcDeFgHiJkLmNoP")  # stale: token 2 stays
    assert await cache.get(KEY, daraja.fetch) == "token-2-aBcDeFgHiJkLmNoP"
    cache.invalidate(KEY)  # unconditional
    assert await cache.get(KEY, daraja.fetch) == "token-3-aBcDeFgHiJkLmNoP"
    assert daraja.calls == 3


async def test_a_failed_fetch_caches_nothing(make_cache: CacheFactory, daraja: Daraja) -> None:
    cache = make_cache()
    daraja.fail_next = True
    with pytest.raises(RuntimeError):
        await cache.get(KEY, daraja.fetch)
    assert await cache.get(KEY, daraja.fetch) == "token-2-aBcDeFgHiJkLmNoP"


async def test_the_token_never_shows_in_repr(make_cache: CacheFactory, daraja: Daraja) -> None:
    cache = make_cache()
    await cache.get(KEY, daraja.fetch)
    assert "aBcDeF" not in repr(cache) and "aBcDeF" not in repr(vars(cache))


# --------------------------------------------------------------------------------------------------- shared


async def test_two_caches_sharing_redis_fetch_once_between_them(
    redis: Redis, vault: Vault, clock: FakeClock, redis_prefix: str, daraja: Daraja
) -> None:
    first, second = (shared_cache(redis, vault, clock, redis_prefix) for _ in range(2))

    tokens = await asyncio.gather(first.get(KEY, daraja.fetch), second.get(KEY, daraja.fetch))

    assert list(tokens) == ["token-1-aBcDeFgHiJkLmNoP"] * 2
    assert daraja.calls == 1
    third = shared_cache(redis, vault, clock, redis_prefix)  # a process started later
    assert await third.get(KEY, daraja.fetch) == "token-1-aBcDeFgHiJkLmNoP"
    assert daraja.calls == 1


async def test_a_waiting_cache_reads_the_token_its_lock_holder_fetches(
    redis: Redis, vault: Vault, clock: FakeClock, redis_prefix: str, daraja: Daraja
) -> None:
    first, second = (shared_cache(redis, vault, clock, redis_prefix) for _ in range(2))
    daraja.gate = asyncio.Event()
    holder = asyncio.create_task(first.get(KEY, daraja.fetch))
    await asyncio.wait_for(daraja.entered.wait(), timeout=5)  # the first cache holds the lock and is fetching
    waiter = asyncio.create_task(second.get(KEY, daraja.fetch))
    for _ in range(50):
        await asyncio.sleep(0)
    assert not waiter.done()

    daraja.gate.set()

    assert list(await asyncio.gather(holder, waiter)) == ["token-1-aBcDeFgHiJkLmNoP"] * 2
    assert daraja.calls == 1


async def test_an_invalidated_token_is_replaced_for_every_process(
    redis: Redis, vault: Vault, clock: FakeClock, redis_prefix: str, daraja: Daraja
) -> None:
    first, second = (shared_cache(redis, vault, clock, redis_prefix) for _ in range(2))
    await first.get(KEY, daraja.fetch)
    await second.get(KEY, daraja.fetch)

    second.invalidate(KEY, "token-1-aBcDeFgHiJkLmNoP")  # Daraja refused it (404.001.03)
    assert await second.get(KEY, daraja.fetch) == "token-2-aBcDeFgHiJkLmNoP"
    first.invalidate(KEY, "token-1-aBcDeFgHiJkLmNoP")  # refused here too: the shared replacement is kept
    assert await first.get(KEY, daraja.fetch) == "token-2-aBcDeFgHiJkLmNoP"
    assert daraja.calls == 2


async def test_the_token_at_rest_is_encrypted_under_a_hashed_name(
    redis: Redis, vault: Vault, clock: FakeClock, redis_prefix: str, daraja: Daraja
) -> None:
    token = await shared_cache(redis, vault, clock, redis_prefix).get(KEY, daraja.fetch)

    names = [name.decode() for name in await redis.keys(f"{redis_prefix}*")]
    assert len(names) == 1 and names[0].startswith(f"{redis_prefix}mpesa:token:")  # the lock is released
    assert KEY[1] not in names[0] and "safaricom" not in names[0]
    stored = await redis.get(names[0])
    assert stored is not None
    assert token.encode() not in stored and b"aBcDeF" not in stored
    assert vault.decrypt_json(stored.decode())["token"] == token  # the vault's ciphertext
    assert 0 < await redis.pttl(names[0]) <= (3599 - 60) * 1000  # gone from Redis when it is due for refresh


async def test_a_slow_lock_holder_is_not_waited_for_long(
    redis: Redis, vault: Vault, clock: FakeClock, redis_prefix: str, daraja: Daraja
) -> None:
    async def fake_sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)

    store = RedisTokenStore(redis, vault, clock, prefix=redis_prefix, lock_wait=timedelta(seconds=2), sleep=fake_sleep)
    await redis.set(store.name(KEY) + ":lock", "another-process", px=60_000)  # stuck mid-fetch

    assert await TokenCache(clock, shared=store).get(KEY, daraja.fetch) == "token-1-aBcDeFgHiJkLmNoP"

    assert daraja.calls == 1
    assert await redis.get(store.name(KEY) + ":lock") == b"another-process"  # not ours to release
    later = shared_cache(redis, vault, clock, redis_prefix)
    assert await later.get(KEY, daraja.fetch) == "token-1-aBcDeFgHiJkLmNoP"  # and shared all the same
    assert daraja.calls == 1


async def test_a_failed_fetch_releases_the_lock(
    redis: Redis, vault: Vault, clock: FakeClock, redis_prefix: str, daraja: Daraja
) -> None:
    cache = shared_cache(redis, vault, clock, redis_prefix)
    daraja.fail_next = True
    with pytest.raises(RuntimeError):
        await cache.get(KEY, daraja.fetch)

    assert [name async for name in redis.scan_iter(match=f"{redis_prefix}*")] == []


async def test_without_redis_each_cache_fetches_for_itself_with_one_warning(
    vault: Vault, clock: FakeClock, daraja: Daraja, caplog: pytest.LogCaptureFixture
) -> None:
    redis = Redis.from_url(NOWHERE)
    try:
        cache = TokenCache(clock, shared=RedisTokenStore(redis, vault, clock))
        with caplog.at_level(logging.WARNING, logger="core.shared_state"):
            assert await cache.get(KEY, daraja.fetch) == "token-1-aBcDeFgHiJkLmNoP"
            assert await cache.get(KEY, daraja.fetch) == "token-1-aBcDeFgHiJkLmNoP"  # kept in the process
            cache.invalidate(KEY)
            clock.advance(seconds=10)  # Redis is tried again, and is still away
            assert await cache.get(KEY, daraja.fetch) == "token-2-aBcDeFgHiJkLmNoP"
    finally:
        await redis.aclose()

    assert daraja.calls == 2
    assert [r.levelno for r in caplog.records if r.name == "core.shared_state"] == [logging.WARNING]
    assert "aBcDeF" not in caplog.text
