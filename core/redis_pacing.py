"""``Pacing`` shared through Redis, so that several relay processes together keep Telegram's limits.

Each check-and-book is one Lua script, atomic in Redis: two processes cannot book the same chat slot or overfill a
bot's window. A 429 pause written by one process holds the others too. Times are the relays' own clocks (integer
microseconds since the epoch), as the outbox leases already assume: the processes' clocks must agree (NTP).

Keys, per tenant (the ``{tenant}`` braces keep one tenant's keys in one Redis Cluster slot, so a script may touch
them all together)::

    dukabot:pace:{7}:chat:555001:next     when the chat may be written to again
    dukabot:pace:{7}:chat:555001:paused   a 429 pause of the chat
    dukabot:pace:{7}:paused               a 429 pause of the whole bot
    dukabot:pace:{7}:sends                the bot's recent sends (a sorted set scored by the time each counts at)

A send counts from its booking until it is reported done, then at the time it was done (``core.pacing``): in the set
it is scored at its booking plus ``in_flight_cap`` while in flight (so it sorts after every send that is done, and
counts until then at most), and rescored at its end by ``sent``. Its member starts with its booking time.

Key TTLs only collect garbage: each value is compared with the caller's time, so a key that outlives its moment holds
nothing back. The TTLs carry a minute of slack so a key never expires before its moment on a clock running behind.

While Redis does not answer, pacing falls back to this process's own ``Pacer``, which mirrors every send and pause
this process makes; a Redis failure never raises into the relay, so it never loses or repeats a message.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from redis.asyncio import Redis

from core.pacing import Pacer, PacingLimits
from core.shared_state import KEY_PREFIX, REDIS_ERRORS, RedisHealth, from_micros, to_micros

_TTL_SLACK = timedelta(minutes=1)

# KEYS: 1 the chat's next slot, 2 the chat's pause, 3 the bot's pause, 4 the bot's recent sends.
# ARGV: 1 now, 2 the chat's next slot if this send is booked, 3 the bot's window, 4 how many sends the window holds,
#       5 a unique member naming this send (its booking time first), 6 "1" to book or "0" only to look, 7 and 8 the
#       TTLs (ms) of keys 1 and 4, 9 how soon to ask again when a send in flight holds the window, 10 the in-flight
#       cap (all times in microseconds).
# Returns the earliest time a send may go; when it is ``now`` and ARGV[6] is "1", the send is booked.
_SLOT_SCRIPT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local ready = now
for i = 1, 3 do
  local at = tonumber(redis.call('GET', KEYS[i]) or '0')
  if at > ready then ready = at end
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[4])
if count >= limit then
  local deciding = redis.call('ZRANGE', KEYS[4], count - limit, count - limit, 'WITHSCORES')
  local score = tonumber(deciding[2])
  local at = score + window
  if score > now then  -- still in flight: it counts at its answer, not known yet, and no earlier than its booking
    local booked = tonumber(string.match(deciding[1], '^(%d+):'))
    at = math.max(booked + window, now + tonumber(ARGV[9]))
  end
  if at > ready then ready = at end
end
if ready <= now and ARGV[6] == '1' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[7])
  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[10]), ARGV[5])
  redis.call('PEXPIRE', KEYS[4], ARGV[8])
end
return ready
"""

# KEYS: 1 the chat's next slot, 2 the bot's recent sends. ARGV: 1 when the send was done, 2 its member, 3 the chat's
# next slot from then, 4 the TTL (ms) of key 1. The send is rescored only if it is still there (XX).
_SENT_SCRIPT = """
redis.call('ZADD', KEYS[2], 'XX', ARGV[1], ARGV[2])
if tonumber(ARGV[3]) > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
end
return 0
"""

# KEYS: the pause keys to hold (the chat's, and the bot's for a whole-bot pause). ARGV: 1 until, 2 the TTL (ms).
# A pause only ever grows: a shorter 429 seen later does not cut a longer one short.
_PAUSE_SCRIPT = """
local hold_until = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  if hold_until > tonumber(redis.call('GET', key) or '0') then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
  end
end
return 0
"""


def _ttl_ms(span: timedelta) -> int:
    return max(1, int((span + _TTL_SLACK) / timedelta(milliseconds=1)))


class RedisPacer:
    """``Pacing`` whose state lives in Redis, shared by every relay that uses the same Redis and ``prefix``."""

    def __init__(self, redis: Redis, limits: PacingLimits, *, prefix: str = KEY_PREFIX) -> None:
        self.limits = limits
        self._redis = redis
        self._prefix = prefix
        self._slot = redis.register_script(_SLOT_SCRIPT)
        self._pause = redis.register_script(_PAUSE_SCRIPT)
        self._sent = redis.register_script(_SENT_SCRIPT)
        self._flying: dict[tuple[int, int, datetime], str] = {}  # the members of this process's sends in flight
        self._local = Pacer(limits)  # this process's own sends and pauses: the fallback while Redis is away
        self.health = RedisHealth("outbox relay pacing")

    async def try_reserve(self, tenant_id: int, chat_id: int, now: datetime) -> datetime | None:
        member = f"{to_micros(now)}:{uuid.uuid4().hex}"
        ready = await self._shared_slot(tenant_id, chat_id, now, book=member)
        if ready is None:  # Redis is away
            return await self._local.try_reserve(tenant_id, chat_id, now)
        if ready > now:
            return ready
        self._local.book(tenant_id, chat_id, now)
        self._flying[(tenant_id, chat_id, now)] = member
        return None

    async def sent(self, tenant_id: int, chat_id: int, *, booked: datetime, done: datetime) -> None:
        self._local.done(tenant_id, chat_id, booked=booked, done=done)
        member = self._flying.pop((tenant_id, chat_id, booked), None)
        if member is None or not self.health.usable(done):
            return
        done = max(done, booked)
        chat_next, sends = self._keys(tenant_id, chat_id)[0], self._keys(tenant_id, chat_id)[3]
        interval = self.limits.chat_interval(chat_id)
        try:
            await self._sent(
                keys=[chat_next, sends],
                args=[to_micros(done), member, to_micros(done + interval), _ttl_ms(interval)],
            )
        except REDIS_ERRORS as error:
            self.health.failed(error, done)
        else:
            self.health.succeeded()

    async def ready_at(self, tenant_id: int, chat_id: int, now: datetime) -> datetime:
        ready = await self._shared_slot(tenant_id, chat_id, now, book=None)
        return ready if ready is not None else await self._local.ready_at(tenant_id, chat_id, now)

    async def pause(self, tenant_id: int, chat_id: int, *, now: datetime, until: datetime, whole_bot: bool) -> None:
        await self._local.pause(tenant_id, chat_id, now=now, until=until, whole_bot=whole_bot)
        if not self.health.usable(now):
            return
        chat_paused, bot_paused = self._keys(tenant_id, chat_id)[1:3]
        try:
            await self._pause(
                keys=[chat_paused, bot_paused] if whole_bot else [chat_paused],
                args=[to_micros(until), _ttl_ms(until - now)],
            )
        except REDIS_ERRORS as error:
            self.health.failed(error, now)
        else:
            self.health.succeeded()

    def prune(self, now: datetime) -> None:
        self._local.prune(now)  # Redis forgets by itself (key TTLs)
        cap = timedelta(seconds=self.limits.in_flight_cap)
        for key in [key for key in self._flying if key[2] + cap <= now]:  # never reported: counted until the cap
            del self._flying[key]

    async def _shared_slot(self, tenant_id: int, chat_id: int, now: datetime, *, book: str | None) -> datetime | None:
        """The script's answer: the earliest time the send may go (booked as the member ``book`` when that is
        ``now`` and ``book`` is given), or None when Redis is away."""
        if not self.health.usable(now):
            return None
        interval = self.limits.chat_interval(chat_id)
        window = self.limits.bot_window
        cap = timedelta(seconds=self.limits.in_flight_cap)
        try:
            ready = await self._slot(
                keys=self._keys(tenant_id, chat_id),
                args=[
                    to_micros(now),
                    to_micros(now + interval),
                    window // timedelta(microseconds=1),
                    self.limits.bot_limit,
                    book or "",
                    "1" if book else "0",
                    _ttl_ms(interval),
                    _ttl_ms(window + cap),
                    timedelta(seconds=self.limits.recheck) // timedelta(microseconds=1),
                    cap // timedelta(microseconds=1),
                ],
            )
        except REDIS_ERRORS as error:
            self.health.failed(error, now)
            return None
        self.health.succeeded()
        return from_micros(int(ready))

    def _keys(self, tenant_id: int, chat_id: int) -> list[str]:
        tenant = f"{self._prefix}pace:{{{tenant_id}}}"
        chat = f"{tenant}:chat:{chat_id}"
        return [f"{chat}:next", f"{chat}:paused", f"{tenant}:paused", f"{tenant}:sends"]
