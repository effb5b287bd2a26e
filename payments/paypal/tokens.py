"""PayPal's OAuth access tokens (client credentials), cached per ``(host, client id)`` and fetched again a margin
before they expire: one shared object of the process, ``paypal.tokens`` (``payments.paypal.process``), so every
provider object of a shop reuses one token. A provider built without it (a command, a test) gets a cache of its
own. Tokens are bearer credentials: kept as :class:`core.vault.Secret`, never logged."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.clock import Clock
from core.vault import Secret

SHARED_NAME = "paypal.tokens"
TokenKey = tuple[str, str, str]  # (base url, client id, a digest of the secret)


@dataclass(frozen=True, slots=True)
class CachedToken:
    token: Secret
    refresh_at: datetime


class PayPalTokens:
    def __init__(self, clock: Clock, *, margin: timedelta = timedelta(minutes=5)) -> None:
        self._clock = clock
        self._margin = margin
        self._entries: dict[TokenKey, CachedToken] = {}
        self._locks: dict[TokenKey, asyncio.Lock] = {}

    def _fresh(self, key: TokenKey) -> str | None:
        entry = self._entries.get(key)
        if entry is None or self._clock.now() >= entry.refresh_at:
            return None
        return entry.token.reveal()

    async def get(self, key: TokenKey, fetch: Callable[[], Awaitable[tuple[str, int]]]) -> str:
        """The cached token of ``key``, or one ``fetch`` gets (``(token, expires_in seconds)``); concurrent callers
        of a cold key wait for one fetch."""
        fresh = self._fresh(key)
        if fresh is not None:
            return fresh
        async with self._locks.setdefault(key, asyncio.Lock()):
            fresh = self._fresh(key)
            if fresh is not None:
                return fresh
            token, expires_in = await fetch()
            lifetime = timedelta(seconds=expires_in)
            margin = min(self._margin, lifetime / 2)  # a short-lived token is still used for half its life
            self._entries[key] = CachedToken(Secret(token), self._clock.now() + lifetime - margin)
            return token

    def invalidate(self, key: TokenKey) -> None:
        """Drop a token PayPal refused (401 on an API call): the next call fetches a new one."""
        self._entries.pop(key, None)
