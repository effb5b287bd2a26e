"""The OAuth token cache shared by every Daraja client of a process."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.clock import Clock, SystemClock
from core.vault import Secret
from payments.mpesa.wire import AccessToken

TokenKey = tuple[str, str]  # (base_url, consumer_key)


@dataclass(slots=True)
class _Entry:
    token: Secret
    refresh_at: datetime


class TokenCache:
    """One bearer token per ``(base_url, consumer_key)``, shared by every client of the process.

    Concurrent callers wait on one :class:`asyncio.Lock` per key, so a cold cache costs one OAuth call. A token is
    refreshed ``safety_margin`` before it expires (at most half its lifetime), and dropped by :meth:`invalidate`
    when Daraja answers ``404.001.03``. Build one per process (and event loop) in the composition root.
    """

    def __init__(self, clock: Clock | None = None, *, safety_margin: timedelta = timedelta(seconds=60)) -> None:
        self._clock = clock or SystemClock()
        self._margin = safety_margin
        self._entries: dict[TokenKey, _Entry] = {}
        self._locks: dict[TokenKey, asyncio.Lock] = {}

    def _fresh(self, key: TokenKey) -> str | None:
        entry = self._entries.get(key)
        if entry is None or self._clock.now() >= entry.refresh_at:
            return None
        return entry.token.reveal()

    async def get(self, key: TokenKey, fetch: Callable[[], Awaitable[AccessToken]]) -> str:
        token = self._fresh(key)
        if token is not None:
            return token
        async with self._locks.setdefault(key, asyncio.Lock()):
            token = self._fresh(key)
            if token is not None:
                return token
            fetched = await fetch()
            lifetime = timedelta(seconds=fetched.expires_in)
            margin = min(self._margin, lifetime / 2)
            self._entries[key] = _Entry(Secret(fetched.access_token), self._clock.now() + lifetime - margin)
            return fetched.access_token

    def invalidate(self, key: TokenKey, token: str | None = None) -> None:
        """Forget the token of ``key``; with ``token``, only if it is still the cached one (so a token that a
        concurrent caller just refreshed is kept)."""
        entry = self._entries.get(key)
        if entry is not None and (token is None or entry.token.reveal() == token):
            del self._entries[key]

    def __repr__(self) -> str:
        return f"TokenCache(keys={len(self._entries)})"
