"""SMS receipts through the outbox, on a real database, the real relay and Africa's Talking's simulator (in process):
a customer whose chat is undeliverable gets the receipt by SMS; a shop that wants SMS receipts always gets them with
the chat's; one SMS per payment; what Africa's Talking refuses, and orders without a usable number."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import delete, select, update

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Customer, NotifyMessage, Order, OutboxMessage, Payment
from core.messages import Message
from core.money import Money
from core.relay import OutboxRelay, Undeliverable
from core.vault import Vault
from notify.sms.sender import SmsSender
from notify.sms.settings import SmsSettings
from payments import notices, receipt_copies
from payments.base import Outcome
from sandbox.africastalking.simulator import AtSimulator, Sms
from tests.support.notify import set_channel
from tests.unit.test_relay import RecordingNotifier, VirtualSleep
from tests.unit.test_service_edges import CHAT, SUGAR, Till, till

PHONE = "+254712345678"
BLOCKED = Undeliverable("Forbidden: bot was blocked by the user")


@dataclass
class Rig:
    till: Till
    sim: AtSimulator
    notifier: RecordingNotifier
    relay: OutboxRelay
    sender: SmsSender
    vault: Vault

    async def set_sms(self, receipts: str = "fallback") -> None:
        settings = SmsSettings(self.sim.username, self.sim.api_key, "DUKA", receipts)
        await set_channel(self.till.database, self.vault, self.till.clock, self.till.shop.tenant_id, settings, receipts)

    async def pay(self) -> Payment:
        payment = await self.till.order({SUGAR: 1})
        await self.till.event(payment, Outcome.PAID, "paid-1", 19000)
        return payment

    async def deliver(self) -> None:
        for _ in range(6):  # the chat row, then the SMS row it owes, then the merchant's alert
            if await self.relay.run_once() == 0:
                return

    async def rows(self) -> dict[str, tuple[str, int, str | None]]:
        async with self.till.database.uow() as uow:
            found = await uow.session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == CHAT))
            return {row.dedupe_key: (row.status, row.attempts, row.last_error) for row in found}


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock) -> AsyncIterator[Rig]:
    shop = await till(database, vault, clock)
    sim = AtSimulator()
    notifier = RecordingNotifier(clock)
    async with httpx.AsyncClient(transport=sim.mock_transport()) as http:
        sender = SmsSender(database, vault, http, clock)
        relay = OutboxRelay(
            database,
            notifier,
            clock,
            sleep=VirtualSleep(clock),
            channels={"sms": sender},
            on_undeliverable=receipt_copies.after_undeliverable,
        )
        yield Rig(shop, sim, notifier, relay, sender, vault)


def receipt_text(code: str = "SE0001") -> str:
    return f"Mama Mboga Store: payment of KES 190 received for order {code}. Ref TXNPAID-1. Thank you!"


async def test_a_customer_who_blocked_the_bot_gets_the_receipt_by_sms(rig: Rig) -> None:
    await rig.set_sms()
    rig.notifier.always_fail(CHAT, BLOCKED)
    payment = await rig.pay()

    await rig.deliver()

    assert rig.sim.sent == [Sms("ATXid_sim00000001", "sandbox", PHONE, receipt_text(), "DUKA")]
    rows = await rig.rows()
    assert rows[f"receipt:{payment.id}"][0] == "undeliverable"
    assert rows[f"receipt:{payment.id}:sms"] == ("sent", 1, None)
    async with rig.till.database.uow() as uow:
        (sent,) = await uow.session.scalars(select(NotifyMessage))
        assert (sent.tenant_id, sent.channel, sent.provider_message_id, sent.recipient, sent.status) == (
            rig.till.shop.tenant_id,
            "sms",
            "ATXid_sim00000001",
            PHONE,
            "accepted",
        )


async def test_a_delivered_chat_receipt_owes_no_sms_when_the_shop_wants_sms_only_as_a_fallback(rig: Rig) -> None:
    await rig.set_sms("fallback")
    payment = await rig.pay()

    await rig.deliver()

    assert rig.sim.sent == []
    assert set(await rig.rows()) == {f"receipt:{payment.id}"}
    to_customer = [d.text.splitlines()[0] for d in rig.notifier.delivered if d.chat_id == CHAT]
    assert to_customer == ["✅ Payment received. Thank you!"]


async def test_sms_receipts_always_go_with_the_chat_one_per_payment(rig: Rig) -> None:
    await rig.set_sms("always")
    payment = await rig.pay()
    await rig.till.event(payment, Outcome.PAID, "paid-1", 19000)  # the provider says it twice

    await rig.deliver()

    assert [sms.text for sms in rig.sim.sent] == [receipt_text()]
    assert (await rig.rows())[f"receipt:{payment.id}:sms"] == ("sent", 1, None)
    assert [d.text.splitlines()[0] for d in rig.notifier.delivered if d.chat_id == CHAT] == [
        "✅ Payment received. Thank you!"
    ]


async def test_a_shop_without_sms_settings_owes_no_sms(rig: Rig) -> None:
    rig.notifier.always_fail(CHAT, BLOCKED)
    payment = await rig.pay()

    await rig.deliver()

    assert rig.sim.calls == 0
    assert set(await rig.rows()) == {f"receipt:{payment.id}"}


@pytest.mark.parametrize("phone", ["", "12", "+254 20 222 2222"])  # none, not a number, a landline
async def test_an_order_without_a_mobile_number_owes_no_sms(rig: Rig, phone: str) -> None:
    await rig.set_sms()
    rig.notifier.always_fail(CHAT, BLOCKED)
    payment = await rig.till.order({SUGAR: 1})
    async with rig.till.database.uow() as uow:
        await uow.session.execute(update(Order).values(contact_phone=phone))
        await uow.session.execute(update(Customer).values(phone=None))
        await uow.commit()
    await rig.till.event(payment, Outcome.PAID, "paid-1", 19000)

    await rig.deliver()

    assert rig.sim.calls == 0
    assert (await rig.rows())[f"receipt:{payment.id}"][0] == "undeliverable"
    assert f"receipt:{payment.id}:sms" not in await rig.rows()


@pytest.mark.parametrize(
    ("code", "name"), [(403, "InvalidPhoneNumber"), (406, "UserInBlacklist"), (409, "DoNotDisturbRejection")]
)
async def test_a_number_africas_talking_refuses_for_good_is_undeliverable_and_the_merchant_is_told(
    rig: Rig, code: int, name: str
) -> None:
    await rig.set_sms()
    rig.notifier.always_fail(CHAT, BLOCKED)
    rig.sim.refuse(PHONE, code)
    payment = await rig.pay()

    await rig.deliver()

    assert rig.sim.sent == []
    assert rig.sim.calls == 1  # never retried
    assert (await rig.rows())[f"receipt:{payment.id}:sms"] == (
        "undeliverable",
        1,
        f"Africa's Talking status {code} {name}",
    )
    alerts = [d.text for d in rig.notifier.delivered if d.chat_id == rig.till.shop.admin_id and "⚠️" in d.text]
    assert [alert.split("(")[1].split(")")[0] for alert in alerts] == [  # the chat receipt, then its SMS
        "Forbidden: bot was blocked by the user",
        f"Africa's Talking status {code} {name}",
    ]


async def test_insufficient_balance_is_retried_with_back_off_and_sent_once_topped_up(rig: Rig) -> None:
    await rig.set_sms("always")
    rig.sim.refuse(PHONE, 405)
    payment = await rig.pay()

    await rig.deliver()
    status, attempts, error = (await rig.rows())[f"receipt:{payment.id}:sms"]
    assert (status, attempts, error) == ("pending", 1, "Africa's Talking status 405 InsufficientBalance")

    rig.sim.refuse(PHONE, 101)  # the merchant topped up
    rig.till.clock.advance(seconds=3600)  # past any back-off
    await rig.deliver()

    assert [sms.text for sms in rig.sim.sent] == [receipt_text()]
    assert (await rig.rows())[f"receipt:{payment.id}:sms"] == (
        "sent",
        2,
        "Africa's Talking status 405 InsufficientBalance",
    )


async def test_africas_talking_down_then_up_loses_nothing_and_doubles_nothing(rig: Rig) -> None:
    await rig.set_sms("always")
    rig.sim.down(drop=True)
    payment = await rig.pay()

    await rig.deliver()
    assert (await rig.rows())[f"receipt:{payment.id}:sms"][:2] == ("pending", 1)

    rig.sim.up()
    rig.till.clock.advance(seconds=3600)
    await rig.deliver()

    assert [sms.to for sms in rig.sim.sent] == [PHONE]
    assert (await rig.rows())[f"receipt:{payment.id}:sms"][:2] == ("sent", 2)


async def test_a_send_accepted_before_the_relay_died_is_not_sent_again(rig: Rig) -> None:
    """The relay died after Africa's Talking accepted the SMS and its id was recorded, before SENT was committed:
    the row is due again, and its next send finds the record instead of sending a second SMS."""
    await rig.set_sms("always")
    payment = await rig.pay()
    async with rig.till.database.uow() as uow:
        row = await uow.session.scalar(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == f"receipt:{payment.id}:sms")
        )
        assert row is not None
        row_id, to = row.id, row.payload["deliver"]["to"]
    await rig.sender.deliver(rig.till.shop.tenant_id, row_id, {"channel": "sms", "to": to}, Message("x"))

    await rig.deliver()

    assert len(rig.sim.sent) == 1
    assert (await rig.rows())[f"receipt:{payment.id}:sms"][0] == "sent"


async def test_a_wrong_api_key_is_a_permanent_error_retried_a_few_times_then_dead_lettered(rig: Rig) -> None:
    await rig.set_sms("always")
    rig.sim.api_key = "atsk_rotated_key_0002"
    payment = await rig.pay()

    for _ in range(4):
        await rig.deliver()
        rig.till.clock.advance(seconds=1800)

    assert rig.sim.sent == []
    assert (await rig.rows())[f"receipt:{payment.id}:sms"] == (
        "dead",
        3,
        "Africa's Talking refused the username and API key (HTTP 401)",
    )


async def test_a_relay_that_died_before_the_send_was_recorded_sends_it_again_marked_as_a_repeat(rig: Rig) -> None:
    """The one window left: Africa's Talking accepted the SMS, and the relay died before it recorded the message id.
    The row's lease runs out with no result; the next claim knows its outcome is unknown, and the SMS goes again,
    marked as a repeat and still one message of 160 characters at most: what the chat relay allows, no more."""
    await rig.set_sms("always")
    payment = await rig.pay()
    async with rig.till.database.uow() as uow:
        row = await uow.session.scalar(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == f"receipt:{payment.id}:sms")
        )
        assert row is not None
        row.claimed_until = rig.till.clock.now()  # a claim whose lease ran out with nothing recorded
        await uow.commit()
    await rig.sim.mock_transport().handle_async_request(
        httpx.Request(
            "POST",
            "https://api.sandbox.africastalking.com/version1/messaging",
            headers={"apiKey": rig.sim.api_key},
            data={"username": rig.sim.username, "to": PHONE, "message": receipt_text()},
        )
    )
    rig.till.clock.advance(seconds=1)

    await rig.deliver()

    first, second = (sms.text for sms in rig.sim.sent)
    assert first == receipt_text()
    assert second.startswith("Repeated: this may have reached you already. Nothing was done twice.\n\nMama Mboga")
    assert len(second) <= 160
    assert (await rig.rows())[f"receipt:{payment.id}:sms"][0] == "sent"


async def test_two_transactions_owing_the_same_copy_at_once_write_one_row(rig: Rig) -> None:
    """Two relays finding the chat receipt undeliverable at once (or a paid event and a fallback): the dedupe key is
    the database's, so concurrent connections owe one SMS between them."""
    await rig.set_sms("always")
    payment = await rig.till.order({SUGAR: 1})
    await rig.till.event(payment, Outcome.PAID, "paid-1", 19000)
    async with rig.till.database.uow() as uow:
        await uow.session.execute(delete(OutboxMessage).where(OutboxMessage.dedupe_key.like("receipt:%:sms")))
        await uow.commit()

    async def owe() -> int:
        async with rig.till.database.uow() as uow:
            row = await uow.session.get(Payment, payment.id)
            assert row is not None
            ctx = await notices.context_for(uow.session, row)
            owed = await receipt_copies.owe_copies(
                uow.session, ctx, Money(19000, "KES"), rig.till.clock.now(), chat_failed=True
            )
            await uow.commit()
            return owed

    written = await asyncio.gather(owe(), owe())

    assert sorted(written) == [0, 1]
    async with rig.till.database.uow() as uow:
        keys = await uow.session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.like("%:sms")))
        assert list(keys) == [f"receipt:{payment.id}:sms"]
