"""A row that replaces a superseded row edits the message that took that row's place: the result of a push edits
"check your phone" even when that one went out as a new message in place of a "sending…" that was never sent."""

from __future__ import annotations

from core.clock import FakeClock
from core.db.engine import Database
from core.messages import Message
from core.outbox import OutboxStatus
from core.relay import TransientError
from tests.unit.test_relay import (  # noqa: F401 (the relay tests' fixtures and helpers)
    CUSTOMER,
    PAID,
    RecordingNotifier,
    notifier,
    owe,
    relay_for,
    result_replacing,
    row,
    tenant_id,
)

SENDING = "⏳ Sending the M-Pesa payment prompt"
CHECK_PHONE = "📲 The M-Pesa request is on your phone. Enter your M-Pesa PIN to pay."


async def test_the_result_edits_the_message_that_took_the_unsent_rows_place(
    database: Database,
    clock: FakeClock,
    notifier: RecordingNotifier,  # noqa: F811
    tenant_id: int,  # noqa: F811
) -> None:
    await owe(database, clock, tenant_id, CUSTOMER, "started:1", Message(SENDING))
    notifier.fail_chat(CUSTOMER, TransientError("502 Bad Gateway"))
    relay, _ = relay_for(database, notifier, clock)
    await relay.run_once()  # "sending…" fails once and waits for its retry
    await owe(database, clock, tenant_id, CUSTOMER, "started:1:answer", result_replacing(text=CHECK_PHONE))
    await relay.run_once()  # the push's answer supersedes "sending…" and goes out as a new message
    assert (await row(database, "started:1")).status == OutboxStatus.SUPERSEDED

    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", result_replacing())
    clock.advance(seconds=5)
    await relay.run_once()

    assert notifier.shown(CUSTOMER) == [PAID]  # one message, edited: no "enter your PIN" left above the receipt
    answer, receipt = await row(database, "started:1:answer"), await row(database, "receipt:1")
    assert receipt.sent_message_id == answer.sent_message_id is not None
