"""A repeat's mark (``outbox.as_repeat``) is in the language its row was written for: the message notes it, the
outbox payload keeps it, and the relay that finds the row's outcome unknown marks it in that language."""

from __future__ import annotations

from datetime import timedelta

from core import outbox
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Customer, Order, Payment, Tenant
from core.messages import Message
from core.vault import Vault
from payments import notices
from tests.unit.test_relay import CUSTOMER, RecordingNotifier, make_tenant, relay_for

SW_MARK = "🔁 Imetumwa tena: huenda ujumbe huu ulishakufikia. Hakuna kilichofanywa mara mbili.\n\n"


def test_the_language_goes_with_the_payload_and_a_message_without_one_is_marked_in_english() -> None:
    kept = Message.from_payload(Message("Umelipa", language="sw").to_payload())
    assert kept == Message("Umelipa", language="sw")
    assert outbox.as_repeat(kept).text == SW_MARK + "Umelipa"
    assert outbox.as_repeat(Message("paid")).text.startswith("🔁 Repeated: this may have reached you already.")
    assert "language" not in Message("paid").to_payload()


def test_payment_notices_note_their_readers_language() -> None:
    tenant = Tenant(id=1, language="fr")
    ctx = notices.Context(tenant, Order(), Payment(), Customer(chat_id=CUSTOMER, language="sw"))
    assert notices.for_customer(ctx, "receipt:1", Message("Umelipa")).message.language == "sw"
    assert notices.read_in(Message("x", language="en"), "sw").language == "en"  # the writer's word stands


async def test_a_row_whose_send_may_have_arrived_is_marked_in_its_readers_language(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    tenant_id = await make_tenant(database, vault, clock)
    notifier = RecordingNotifier(clock)
    async with database.uow() as uow:
        message = Message("Umelipa", language="sw")
        await outbox.enqueue(
            uow.session, tenant_id=tenant_id, chat_id=CUSTOMER, dedupe_key="receipt:1", message=message, now=clock.now()
        )
        await outbox.claim_due(uow.session, clock.now(), 10, timedelta(seconds=60))  # a relay that died after
        await uow.commit()

    relay, _ = relay_for(database, notifier, clock, lease=60)
    clock.advance(seconds=61)
    assert await relay.run_once() == 1
    assert notifier.texts_to(CUSTOMER) == [SW_MARK + "Umelipa"]
