"""The Daraja OAuth token cache: one bearer token per ``(base_url, consumer_key)``, shared by every client.

``TokenCache`` shares tokens within a process. Given a ``SharedTokenStore`` (``RedisTokenStore`` when
``DUKABOT_REDIS_URL`` is set) it also shares them between processes, so that several servers do not each fetch their
own tokens. A token is a bearer credential: at rest in Redis it is encrypted with the vault, and it is never logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis

from core.clock import Clock, SystemClock
from core.shared_state import KEY_PREFIX, REDIS_ERRORS, RedisHealth
from core.vault import Secret, Vault, VaultError
from payments.mpesa.wire import AccessToken

log = logging.getLogger(__name__)

TokenKey = tuple[str, str]  # (base_url, consumer_key)
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CachedToken:
    token: Secret
    refresh_at: datetime  # when to fetch a new one: a safety margin before the token expires


class SharedTokenStore(Protocol):
    """Where the token caches of several processes meet."""

    async def load_or_fetch(self, key: TokenKey, fetch: Callable[[], Awaitable[CachedToken]]) -> CachedToken:
        """The shared token of ``key`` while it is fresh; otherwise one fetched by ``fetch``, by this process or by
        another, and shared. Errors of ``fetch`` (Daraja's) propagate; the store's own errors never do."""
        ...

    async def discard(self, key: TokenKey, token: str | None) -> None:
        """Drop the shared token of ``key``; with ``token``, only while it is still that one."""
        ...


class TokenCache:
    """One bearer token per ``(base_url, consumer_key)``, shared by every client of the process (and, with
    ``shared``, by every process of that store).

    Concurrent callers wait on one :class:`asyncio.Lock` per key, so a cold cache costs one OAuth call (one per
    store with ``shared``). A token is refreshed ``safety_margin`` before it expires (at most half its lifetime), and
    dropped by :meth:`invalidate` when Daraja answers ``404.001.03``. Build one per process (and event loop) in the
    composition root.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        safety_margin: timedelta = timedelta(seconds=60),
        shared: SharedTokenStore | None = None,
    ) -> None:
        self._clock = clock or SystemClock()
        self._margin = safety_margin
        self._shared = shared
        self._entries: dict[TokenKey, CachedToken] = {}
        self._locks: dict[TokenKey, asyncio.Lock] = {}
        # Tokens invalidated here that the shared store may still hold (a value of None drops whatever it holds).
        self._refused: dict[TokenKey, Secret | None] = {}

    def _fresh(self, key: TokenKey) -> str | None:
        entry = self._entries.get(key)
        if entry is None or self._clock.now() >= entry.refresh_at:
            return None
        return entry.token.reveal()

    async def get(self, key: TokenKey, fetch: Callable[[], Awaitable[AccessToken]]) -> str:
        if self._shared is not None and key in self._refused:
            refused = self._refused.pop(key)
            await self._shared.discard(key, refused.reveal() if refused is not None else None)
        token = self._fresh(key)
        if token is not None:
            return token
        async with self._locks.setdefault(key, asyncio.Lock()):
            token = self._fresh(key)
            if token is not None:
                return token

            async def fetch_entry() -> CachedToken:
                fetched = await fetch()
                lifetime = timedelta(seconds=fetched.expires_in)
                refresh_at = self._clock.now() + lifetime - min(self._margin, lifetime / 2)
                return CachedToken(Secret(fetched.access_token), refresh_at)

            if self._shared is None:
                entry = await fetch_entry()
            else:
                entry = await self._shared.load_or_fetch(key, fetch_entry)
            self._entries[key] = entry
            return entry.token.reveal()

    def invalidate(self, key: TokenKey, token: str | None = None) -> None:
        """Forget the token of ``key``; with ``token``, only if it is still the cached one (so a token that a
        concurrent caller just refreshed is kept).

        Callers do not await this, so the shared store's copy is dropped by the next :meth:`get` of ``key``, which is
        what every caller does next."""
        entry = self._entries.get(key)
        if entry is not None and (token is None or entry.token.reveal() == token):
            del self._entries[key]
        if self._shared is None:
            return
        if token is None or (key in self._refused and self._refused[key] is None):
            self._refused[key] = None  # drop whatever the store holds
        else:
            self._refused[key] = Secret(token)

    def __repr__(self) -> str:
        return f"TokenCache(keys={len(self._entries)}, shared={self._shared is not None})"


# Delete KEYS[1] only while it still holds ARGV[1]: a lock only by its holder, a token only if nobody replaced it.
_DELETE_IF_UNCHANGED = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisTokenStore:
    """``SharedTokenStore`` in Redis. The token is stored encrypted with the vault (Fernet), under a key named by a
    hash of ``(base_url, consumer_key)``, and expires from Redis when it is due for refresh.

    On a miss, one process takes a short lock (``SET NX PX``) and fetches; the others poll the store every
    ``poll_interval`` for up to ``lock_wait`` seconds, and fetch for themselves if the holder is slower than that
    (or gave up: a lock gone without a token). While Redis does not answer, every process fetches its own tokens.
    """

    def __init__(
        self,
        redis: Redis,
        vault: Vault,
        clock: Clock,
        *,
        prefix: str = KEY_PREFIX,
        lock_ttl: timedelta = timedelta(seconds=10),
        lock_wait: timedelta = timedelta(seconds=3),
        poll_interval: float = 0.05,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._redis = redis
        self._vault = vault
        self._clock = clock
        self._prefix = prefix
        self._lock_ms = int(lock_ttl / timedelta(milliseconds=1))
        self._lock_wait = lock_wait
        self._poll_interval = poll_interval
        self._sleep = sleep
        self._delete_if_unchanged = redis.register_script(_DELETE_IF_UNCHANGED)
        self.health = RedisHealth("the Daraja token cache")

    def __repr__(self) -> str:
        return "RedisTokenStore(<tokens hidden>)"

    def name(self, key: TokenKey) -> str:
        """The Redis key of a token: the consumer key is a credential too, so it is hashed, not spelt out."""
        base_url, consumer_key = key
        digest = hashlib.sha256(f"{base_url}\0{consumer_key}".encode()).hexdigest()[:32]
        return f"{self._prefix}mpesa:token:{digest}"

    async def load_or_fetch(self, key: TokenKey, fetch: Callable[[], Awaitable[CachedToken]]) -> CachedToken:
        if not self.health.usable(self._clock.now()):
            return await fetch()
        name, lock = self.name(key), self.name(key) + ":lock"
        holder: str | None = None  # set when this process holds the lock
        try:
            cached = await self._load(name)
            self.health.succeeded()
            if cached is not None:
                return cached
            candidate = secrets.token_hex(16)
            if await self._redis.set(lock, candidate, nx=True, px=self._lock_ms):
                holder = candidate
            else:
                cached = await self._wait_for_holder(name, lock)
                if cached is not None:
                    return cached
                log.info("no shared Daraja token after waiting for another process; fetching one here")
        except REDIS_ERRORS as error:
            self.health.failed(error, self._clock.now())
            return await fetch()  # a lock this process may have taken runs out by itself
        try:  # the lock is ours, or its holder was too slow
            fetched = await fetch()
            await self._quietly(self._store(name, fetched))
        finally:  # release it even when Daraja failed, so that the others stop waiting
            if holder is not None:
                await self._quietly(self._delete_if_unchanged(keys=[lock], args=[holder]))
        return fetched

    async def discard(self, key: TokenKey, token: str | None) -> None:
        if not self.health.usable(self._clock.now()):
            return
        name = self.name(key)
        try:
            stored = await self._redis.get(name)
            if stored is None:
                return
            if token is not None:
                cached = self._decrypt(stored)
                if cached is not None and cached.token.reveal() != token:
                    return  # another process already replaced the refused token
            await self._delete_if_unchanged(keys=[name], args=[stored])
        except REDIS_ERRORS as error:
            self.health.failed(error, self._clock.now())
        else:
            self.health.succeeded()

    async def _wait_for_holder(self, name: str, lock: str) -> CachedToken | None:
        """The token the lock holder shares, or None when it is not there in time or the holder gave up."""
        deadline = self._clock.now() + self._lock_wait
        while self._clock.now() < deadline:
            await self._sleep(self._poll_interval)
            # The lock first: a holder stores the token before releasing the lock, so a lock seen gone here means
            # the token (if any) is already there for the read below.
            still_locked = await self._redis.exists(lock)
            cached = await self._load(name)
            if cached is not None or not still_locked:
                return cached
        return None

    async def _load(self, name: str) -> CachedToken | None:
        stored = await self._redis.get(name)
        if stored is None:
            return None
        cached = self._decrypt(stored)
        if cached is None or self._clock.now() >= cached.refresh_at:
            return None
        return cached

    async def _store(self, name: str, cached: CachedToken) -> None:
        ttl = cached.refresh_at - self._clock.now()
        if ttl <= timedelta(0):
            return
        encrypted = self._vault.encrypt_json(
            {"token": cached.token.reveal(), "refresh_at": cached.refresh_at.isoformat()}
        )
        await self._redis.set(name, encrypted, px=max(1, int(ttl / timedelta(milliseconds=1))))

    def _decrypt(self, stored: bytes | str) -> CachedToken | None:
        """None when the stored value cannot be read with this process's keys (it is then fetched and replaced)."""
        text = stored.decode() if isinstance(stored, bytes) else stored
        try:
            values = self._vault.decrypt_json(text)
            return CachedToken(Secret(str(values["token"])), datetime.fromisoformat(str(values["refresh_at"])))
        except (VaultError, KeyError, ValueError):
            log.warning("a shared Daraja token could not be read (do the processes share DUKABOT_SECRET_KEYS?)")
            return None

    async def _quietly(self, step: Awaitable[object]) -> None:
        """Await a Redis step whose failure only costs sharing (the caller already has what it needs)."""
        try:
            await step
        except REDIS_ERRORS as error:
            self.health.failed(error, self._clock.now())
