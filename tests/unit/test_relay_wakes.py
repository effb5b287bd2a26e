"""The dispatcher of the relay sleeps until the next row it put off falls due, not until its next poll: a row that
Telegram's 429 (or pacing) held back goes at its time, even with a poll a minute away."""

from __future__ import annotations

import asyncio

from core.clock import FakeClock, SystemClock
from core.db.engine import Database
from core.notify import RetryAfter
from core.relay import OutboxRelay
from tests.unit.test_relay import CUSTOMER, owe, tenant_id  # noqa: F401 (the relay tests' fixtures and helpers)
from tests.unit.test_relay_lanes import WAIT, StuckChatNotifier, until


async def test_a_row_held_back_by_a_429_goes_when_it_falls_due_not_at_the_next_poll(
    database: Database,
    clock: FakeClock,
    tenant_id: int,  # noqa: F811
) -> None:
    sender = StuckChatNotifier(clock)  # the fake clock stamps what it records; the relay runs on the real one
    sender.fail_chat(CUSTOMER, RetryAfter(0.2, "Too Many Requests: retry after 0.2"))
    relay = OutboxRelay(database, sender, SystemClock(), poll_interval=60.0)
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", "Your order A1 is paid")
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        # Refused once, put off for 0.2 s: the dispatcher's alarm, not its poll a minute away, sends it again.
        await until(sender, lambda: sender.texts_to(CUSTOMER) == ["Your order A1 is paid"], "the receipt")
        assert sender.calls_to(CUSTOMER) == 2
        assert relay.stats.rate_limited == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=WAIT)
    assert relay.stats.sent == 1  # recorded before the relay stopped
