"""Rows whose earlier send may have reached the chat: a send that timed out at the Bot API, or a row claimed again
after a relay died holding it. Telegram has no idempotency key, so the next send of such a row goes out marked as a
repeat, and the doubt stays on the row (in ``last_error``) through later failures until it is sent."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import outbox
from core.clock import FakeClock
from core.db.engine import Database
from core.messages import Message
from core.outbox import OUTCOME_UNKNOWN, OutboxStatus
from core.relay import RetryAfter, TransientError
from core.vault import Vault
from tests.unit.test_relay import CUSTOMER, RecordingNotifier, make_tenant, owe, relay_for, row

RECEIPT = "✅ Payment received for order K7Q2"
REPEATED = outbox.as_repeat(Message(RECEIPT)).text


@pytest.fixture
def recording(clock: FakeClock) -> RecordingNotifier:
    return RecordingNotifier(clock)


@pytest.fixture
async def shop(database: Database, vault: Vault, clock: FakeClock) -> int:
    return await make_tenant(database, vault, clock)


async def test_a_send_that_timed_out_is_sent_again_marked_as_a_repeat(
    database: Database, clock: FakeClock, recording: RecordingNotifier, shop: int
) -> None:
    await owe(database, clock, shop, CUSTOMER, "receipt:1", RECEIPT)
    recording.fail_chat(CUSTOMER, TransientError("network: HTTP Client says - Request timeout error"))
    relay, _ = relay_for(database, recording, clock)

    await relay.run_once()
    waiting = await row(database, "receipt:1")
    assert waiting.status == OutboxStatus.PENDING
    assert waiting.last_error == OUTCOME_UNKNOWN + "network: HTTP Client says - Request timeout error"
    clock.advance(minutes=5)
    await relay.run_once()

    assert recording.texts_to(CUSTOMER) == [REPEATED]
    assert (await row(database, "receipt:1")).status == OutboxStatus.SENT


async def test_a_send_refused_outright_is_sent_again_unmarked(
    database: Database, clock: FakeClock, recording: RecordingNotifier, shop: int
) -> None:
    await owe(database, clock, shop, CUSTOMER, "receipt:1", RECEIPT)
    recording.fail_chat(CUSTOMER, TransientError("Bad Gateway"))  # a 502: Telegram did not carry it out
    relay, _ = relay_for(database, recording, clock)

    await relay.run_once()
    clock.advance(minutes=5)
    await relay.run_once()

    assert recording.texts_to(CUSTOMER) == [RECEIPT]


async def test_the_doubt_outlives_a_rate_limit_after_a_dead_relays_lease(
    database: Database, clock: FakeClock, recording: RecordingNotifier, shop: int
) -> None:
    await owe(database, clock, shop, CUSTOMER, "receipt:1", RECEIPT)
    async with database.uow() as uow:  # a relay claims the row and dies: whether it sent it, nobody knows
        await outbox.claim_due(uow.session, clock.now(), 10, timedelta(seconds=60))
        await uow.commit()
    clock.advance(seconds=61)
    recording.fail_chat(CUSTOMER, RetryAfter(3))
    relay, _ = relay_for(database, recording, clock, lease=60)

    await relay.run_once()  # claimed again, the doubt noted; then a 429
    assert (await row(database, "receipt:1")).last_error == OUTCOME_UNKNOWN + "rate limited: retry after 3s"
    clock.advance(seconds=4)
    await relay.run_once()

    assert recording.texts_to(CUSTOMER) == [REPEATED]
