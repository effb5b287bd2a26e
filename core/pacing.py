"""Send pacing for everything a bot sends (the outbox relay and the direct replies share one ``Pacing``): how often
one chat and one bot may be written to, and the pauses 429s impose.

Telegram allows a bot about one message a second per chat, one every few seconds per group, and about thirty a second
in all; past that it answers 429 with ``retry_after``. ``Pacing`` is the port the relay asks before each send;
``Pacer`` (here) keeps the state in this process, ``core.redis_pacing.RedisPacer`` shares it between the processes
that use one Redis. Times are the relay's own clock, passed in as ``now``, so tests drive pacing with a fake clock.

What Telegram counts is when a message reaches it, which is some time after the send was booked and before its answer
came back. So a send counts from its booking until it is reported done (``Pacing.sent``), and then at the time it was
done: a bot's 31st send is booked only a full window after the answer to the send it displaces, and a chat's next
send only an interval after the answer to its last. However long a send is in flight, no window at Telegram's end
ever holds more than the limit (``tests/unit/test_pacing.py``, ``tests/integration/test_pacing_at_the_bot_api.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from core.clock import Clock


@dataclass(frozen=True, slots=True)
class PacingLimits:
    """Per chat: one send per ``per_chat_interval`` seconds (``per_group_interval`` for group chats, whose ids are
    negative). Per bot (one per tenant): at most ``per_bot_rate`` sends in any sliding window of one second (of
    ``bot_window`` when the rate is below one a second). ``bot_burst``, when set, is how many sends the bot's window
    holds instead (the window is then ``bot_burst / per_bot_rate`` seconds): tests that run Telegram's clock faster
    keep its shape, 30 sends in a fifth of a second for a rate of 150."""

    per_chat_interval: float = 1.0
    per_group_interval: float = 3.0
    per_bot_rate: float = 30.0
    bot_burst: int | None = None
    # A send never reported done (its sender died) counts as done this long after it was booked.
    in_flight_cap: float = 60.0
    # When the send that holds a full window is still in flight, a sender asks again this much later (its answer
    # is due any moment; the time it will count at is not known yet).
    recheck: float = 0.02

    def __post_init__(self) -> None:
        if self.per_bot_rate <= 0:
            raise ValueError("per_bot_rate must be positive")
        if self.bot_burst is not None and self.bot_burst < 1:
            raise ValueError("bot_burst must be at least 1")

    def chat_interval(self, chat_id: int) -> timedelta:
        seconds = max(self.per_chat_interval, self.per_group_interval) if chat_id < 0 else self.per_chat_interval
        return timedelta(seconds=seconds)

    @property
    def bot_limit(self) -> int:
        """How many sends the window holds."""
        return self.bot_burst if self.bot_burst is not None else max(1, int(self.per_bot_rate))

    @property
    def bot_window(self) -> timedelta:
        return timedelta(seconds=self.bot_limit / self.per_bot_rate)


class Pacing(Protocol):
    """What the relay and the direct replies ask before a send and tell after one (and after a 429)."""

    limits: PacingLimits

    async def try_reserve(self, tenant_id: int, chat_id: int, now: datetime) -> datetime | None:
        """Book a send to this chat at ``now`` and return None when pacing allows it; otherwise book nothing and
        return the earliest time the send may go. Checking and booking are one step, so two callers (two tasks, or
        two processes sharing the state) never book the same slot."""
        ...

    async def ready_at(self, tenant_id: int, chat_id: int, now: datetime) -> datetime:
        """The earliest time a message to this chat may go out (``now`` or later); books nothing."""
        ...

    async def sent(self, tenant_id: int, chat_id: int, *, booked: datetime, done: datetime) -> None:
        """The send booked at ``booked`` (by ``try_reserve``) is over at ``done``: answered, refused or given up. It
        counts in its bot's window at ``done`` from now on (until now it counted as in flight), and the chat's next
        send waits its interval from ``done``. Every send booked must be reported, whatever its outcome."""
        ...

    async def pause(self, tenant_id: int, chat_id: int, *, now: datetime, until: datetime, whole_bot: bool) -> None:
        """Hold this chat, and with ``whole_bot`` every chat of the tenant's bot, until ``until`` (a 429)."""
        ...

    def prune(self, now: datetime) -> None:
        """Forget local state that no longer holds anything back (called once per relay pass)."""
        ...


@dataclass(frozen=True, slots=True)
class Booked:
    """A send's slot, booked at ``at`` (what ``Pacing.sent`` is told as ``booked``)."""

    at: datetime


@dataclass(slots=True)
class _Send:
    """One send in a bot's window: booked at ``booked``, done at ``done`` (None: still in flight)."""

    booked: datetime
    done: datetime | None = None

    def counts_at(self, cap: timedelta) -> datetime:
        """Until when the send holds its place in the window, less the window: when it was done; in flight, ``cap``
        after its booking (it counts until it is reported; a sender that died never reports it)."""
        return self.done if self.done is not None else self.booked + cap


def _window_ready(sends: Sequence[_Send], limits: PacingLimits, now: datetime) -> datetime | None:
    """When a bot whose window holds ``sends`` (the ones that still count at ``now``) may send again; None: now."""
    if len(sends) < limits.bot_limit:
        return None
    cap = timedelta(seconds=limits.in_flight_cap)
    ordered = sorted(sends, key=lambda send: (send.done is None, send.counts_at(cap)))
    deciding = ordered[len(ordered) - limits.bot_limit]  # the send the next one would push out of the window
    if deciding.done is not None:
        return deciding.done + limits.bot_window
    # Still in flight: it will count at its answer, not known yet, and no earlier than its booking.
    return max(deciding.booked + limits.bot_window, now + timedelta(seconds=limits.recheck))


class Pacer:
    """``Pacing`` with the state in this process: relays in other processes do not see it.

    Every method runs without awaiting anything, so concurrent tasks of one event loop cannot book the same slot.
    """

    def __init__(self, limits: PacingLimits) -> None:
        self.limits = limits
        self._chat_next: dict[tuple[int, int], datetime] = {}
        self._chat_paused: dict[tuple[int, int], datetime] = {}
        self._bot_paused: dict[int, datetime] = {}
        self._bot_sends: dict[int, list[_Send]] = {}

    async def try_reserve(self, tenant_id: int, chat_id: int, now: datetime) -> datetime | None:
        ready = self._ready_at(tenant_id, chat_id, now)
        if ready > now:
            return ready
        self.book(tenant_id, chat_id, now)
        return None

    async def ready_at(self, tenant_id: int, chat_id: int, now: datetime) -> datetime:
        return self._ready_at(tenant_id, chat_id, now)

    async def pause(self, tenant_id: int, chat_id: int, *, now: datetime, until: datetime, whole_bot: bool) -> None:
        key = (tenant_id, chat_id)
        current = self._chat_paused.get(key)
        if current is None or until > current:
            self._chat_paused[key] = until
        current = self._bot_paused.get(tenant_id)
        if whole_bot and (current is None or until > current):
            self._bot_paused[tenant_id] = until

    async def sent(self, tenant_id: int, chat_id: int, *, booked: datetime, done: datetime) -> None:
        self.done(tenant_id, chat_id, booked=booked, done=done)

    def book(self, tenant_id: int, chat_id: int, now: datetime) -> None:
        """Record a send booked at ``now`` whatever the limits say (``RedisPacer`` mirrors the sends Redis booked
        here, so this process still paces its own sends if Redis goes away)."""
        key = (tenant_id, chat_id)
        self._chat_next[key] = max(self._chat_next.get(key, now), now + self.limits.chat_interval(chat_id))
        self._bot_sends.setdefault(tenant_id, []).append(_Send(now))

    def done(self, tenant_id: int, chat_id: int, *, booked: datetime, done: datetime) -> None:
        """``sent``, without awaiting (``RedisPacer`` mirrors it here)."""
        done = max(done, booked)
        key = (tenant_id, chat_id)
        self._chat_next[key] = max(self._chat_next.get(key, done), done + self.limits.chat_interval(chat_id))
        for send in self._bot_sends.get(tenant_id, ()):
            if send.done is None and send.booked == booked:
                send.done = done
                return

    def prune(self, now: datetime) -> None:
        """Forget what no longer holds anything back, so the maps do not grow with every chat ever served."""
        for table in (self._chat_next, self._chat_paused):
            for key in [k for k, at in table.items() if at <= now]:
                del table[key]
        for tenant_id in [t for t, at in self._bot_paused.items() if at <= now]:
            del self._bot_paused[tenant_id]
        for tenant_id in list(self._bot_sends):
            if not self._counting(tenant_id, now):
                del self._bot_sends[tenant_id]

    def _ready_at(self, tenant_id: int, chat_id: int, now: datetime) -> datetime:
        key = (tenant_id, chat_id)
        ready = now
        for candidate in (
            self._chat_next.get(key),
            self._chat_paused.get(key),
            self._bot_paused.get(tenant_id),
            self._bot_window_ready(tenant_id, now),
        ):
            if candidate is not None and candidate > ready:
                ready = candidate
        return ready

    def _counting(self, tenant_id: int, now: datetime) -> list[_Send]:
        """The bot's sends that still count at ``now`` (the others are forgotten)."""
        sends = self._bot_sends.get(tenant_id)
        if not sends:
            return []
        horizon, cap = now - self.limits.bot_window, timedelta(seconds=self.limits.in_flight_cap)
        sends[:] = [send for send in sends if send.counts_at(cap) > horizon]
        return sends

    def _bot_window_ready(self, tenant_id: int, now: datetime) -> datetime | None:
        return _window_ready(self._counting(tenant_id, now), self.limits, now)


async def wait_for_slot(
    pacing: Pacing,
    tenant_id: int,
    chat_id: int,
    clock: Clock,
    *,
    lease_end: datetime,
    margin: timedelta,
    max_hold: timedelta,
    stopping: asyncio.Event,
    sleep: Callable[[float], Awaitable[None]],
) -> Booked | datetime:
    """Wait until pacing lets a send to the chat go and book its slot (``Booked``: report the send's end with
    ``Pacing.sent``), or say until when to give the row back: when the wait would pass ``max_hold``, or leave less
    than ``margin`` of the row's lease (``lease_end``) for the send, or ``stopping`` is set (the waits end with it)."""
    while True:
        now = clock.now()
        if stopping.is_set():
            return now
        if now + margin > lease_end:  # too late in the lease to start a send safely: give it back, uncounted
            return max(now, await pacing.ready_at(tenant_id, chat_id, now))
        ready = await pacing.try_reserve(tenant_id, chat_id, now)
        if ready is None:
            return Booked(now)
        if ready - now > max_hold or ready + margin > lease_end:
            return ready
        await _pause(sleep, (ready - now).total_seconds(), stopping)


async def _pause(sleep: Callable[[float], Awaitable[None]], seconds: float, stopping: asyncio.Event) -> None:
    """Wait for pacing; a relay that is stopping stops waiting."""
    if stopping.is_set():
        return
    sleeping = asyncio.ensure_future(sleep(seconds))
    stopped = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({sleeping, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in (sleeping, stopped):
            waiter.cancel()
        await asyncio.gather(sleeping, stopped, return_exceptions=True)
