"""State shared by several ``dukabot serve`` processes through Redis (``DUKABOT_REDIS_URL``), when one is configured.

Redis is optional and never the only copy of anything that matters: what lives there (send pacing, providers'
access tokens) can be rebuilt by each process on its own. So every Redis-backed component falls back to its
in-process behaviour while Redis does not answer, and ``RedisHealth`` keeps that quiet: one warning when an outage
starts, one line when it ends, and Redis left alone for a few seconds after each failure, so a dead Redis costs one
timeout now and then instead of one per message.

Every key starts with ``KEY_PREFIX``, so dukabot can share a Redis with other programs.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

KEY_PREFIX = "dukabot:"

# What a Redis call raises when Redis is unreachable, slow or refuses a command (OSError covers raw socket errors).
REDIS_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def connect(url: str, *, timeout: float = 1.0) -> Redis:
    """A client for ``url``. Connecting is lazy (the first command connects). A short ``timeout`` and no retries
    inside redis-py (whose default retries with back-off for seconds) keep an unreachable Redis from holding a send or
    a payment: the callers fall back to local state at once instead."""
    client: Redis = Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), retries=0),
        health_check_interval=30,
    )
    return client


def to_micros(moment: datetime) -> int:
    """A time as whole microseconds since the epoch: exact, and small enough for Lua's doubles (below 2**53)."""
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    return _EPOCH + micros * _MICROSECOND


class RedisHealth:
    """Whether a component should try Redis now; one warning per outage, never one per call.

    ``what`` names the component in the logs. After a failure, ``usable`` is False for ``retry_after`` (on the
    caller's clock), then Redis is tried again. Log lines carry the error's class only: a Redis error's text can
    hold the server's address, and the URL can hold a password.
    """

    def __init__(self, what: str, *, retry_after: timedelta = timedelta(seconds=5)) -> None:
        self._what = what
        self._retry_after = retry_after
        self._down_since: datetime | None = None
        self._retry_at: datetime | None = None

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def usable(self, now: datetime) -> bool:
        return self._retry_at is None or now >= self._retry_at

    def failed(self, error: BaseException, now: datetime) -> None:
        if self._down_since is None:
            self._down_since = now
            logger.warning(
                "Redis is not answering (%s): %s works on this process's own state until it is back",
                type(error).__name__,
                self._what,
            )
        self._retry_at = now + self._retry_after

    def succeeded(self) -> None:
        if self._down_since is not None:
            logger.warning("Redis answers again: %s is shared again", self._what)
        self._down_since = self._retry_at = None
