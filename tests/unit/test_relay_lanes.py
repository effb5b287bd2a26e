"""Chats are lanes: a chat whose send is stuck or paced holds up no other chat's message, and the relay keeps claiming
while it waits; the merchant's "order paid" alerts that come close together become one message, edited into a list."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from core import outbox
from core.clock import FakeClock
from core.db.engine import Database
from core.messages import Button, Message
from core.outbox import COALESCE_PAID, OutboxStatus
from tests.unit.test_relay import (  # noqa: F401 (the relay tests' fixtures and helpers)
    ADMIN,
    CUSTOMER,
    OTHER_CUSTOMER,
    RecordingNotifier,
    notifier,
    owe,
    relay_for,
    row,
    rows,
    tenant_id,
)

WAIT = 5.0  # seconds a condition may take to come true before the test fails (never a speed assertion)


class StuckChatNotifier(RecordingNotifier):
    """Sends to ``stuck`` chats enter and then wait for ``release``, like a Bot API call that does not answer."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.stuck: set[int] = set()
        self.release = asyncio.Event()
        self.stuck_entered = asyncio.Event()
        self.sent = asyncio.Condition()  # notified after every send, so a test waits for what it looks at

    async def send(
        self,
        shop: int,
        chat_id: int,
        message: Message,
        *,
        edit_message_id: int | None = None,
        anew: Message | None = None,
    ) -> int:
        if chat_id in self.stuck:
            self.stuck_entered.set()
            await self.release.wait()
        try:
            return await super().send(shop, chat_id, message, edit_message_id=edit_message_id, anew=anew)
        finally:
            async with self.sent:
                self.sent.notify_all()


async def until(sender: StuckChatNotifier, check: Callable[[], bool], what: str) -> None:
    """Waits, send by send, until ``check`` holds; failing after ``WAIT``."""
    try:
        async with asyncio.timeout(WAIT), sender.sent:
            await sender.sent.wait_for(check)
    except TimeoutError:
        raise AssertionError(f"gave up waiting for {what}") from None


def paid(code: str) -> Message:
    return Message(
        f"💰 Order {code} is paid: KES 420 by M-Pesa from Amina.",
        ((Button("📄 View order", data=f"vo:{code}"),),),
    )


async def owe_paid(database: Database, clock: FakeClock, shop: int, code: str) -> None:
    async with database.uow() as uow:
        await outbox.enqueue(
            uow.session,
            tenant_id=shop,
            chat_id=ADMIN,
            dedupe_key=f"paid:{code}:to:{ADMIN}",
            message=paid(code),
            now=clock.now(),
            coalesce=COALESCE_PAID,
        )
        await uow.commit()


async def test_a_receipt_goes_out_while_the_merchants_chat_is_stuck_on_a_send(
    database: Database,
    clock: FakeClock,
    tenant_id: int,  # noqa: F811
) -> None:
    stuck = StuckChatNotifier(clock)
    stuck.stuck.add(ADMIN)
    relay, _ = relay_for(database, stuck, clock, poll_interval=30)
    await owe(database, clock, tenant_id, ADMIN, "paid:1:to:admin", "Order A1 is paid")
    await owe(database, clock, tenant_id, ADMIN, "paid:2:to:admin", "Order A2 is paid")
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.wait_for(stuck.stuck_entered.wait(), timeout=WAIT)  # the merchant's lane is in a send
        # Receipts owed after that: each chat's lane claims and sends them, the merchant's send still unanswered.
        await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", "Your order A1 is paid")
        await owe(database, clock, tenant_id, OTHER_CUSTOMER, "receipt:2", "Your order A2 is paid")
        relay.wake()
        await until(stuck, lambda: len(stuck.delivered) == 2, "both receipts")
        assert sorted(d.chat_id for d in stuck.delivered) == [CUSTOMER, OTHER_CUSTOMER]
        assert stuck.texts_to(ADMIN) == []
        assert (await row(database, "paid:2:to:admin")).claimed_until is None  # behind the stuck row, not claimed

        stuck.release.set()
        await until(stuck, lambda: len(stuck.texts_to(ADMIN)) == 2, "the merchant's alerts")
        assert stuck.texts_to(ADMIN) == ["Order A1 is paid", "Order A2 is paid"]  # in order
    finally:
        stuck.release.set()
        stop.set()
        await asyncio.wait_for(task, timeout=WAIT)


async def test_a_paced_chat_gives_its_rows_back_and_others_are_sent_at_once(
    database: Database,
    clock: FakeClock,
    notifier: RecordingNotifier,  # noqa: F811
    tenant_id: int,  # noqa: F811
) -> None:
    start = clock.now()
    for n in range(1, 4):
        await owe(database, clock, tenant_id, ADMIN, f"alert:{n}", f"alert {n}")
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", "receipt")
    relay, _ = relay_for(database, notifier, clock, per_chat_interval=30)

    await relay.run_once()

    assert [(d.text, d.at) for d in notifier.delivered] == [("alert 1", start), ("receipt", start)]
    for key in ("alert:2", "alert:3"):  # held back together, unclaimed, until the chat's next slot
        held = await row(database, key)
        assert (held.status, held.claimed_until, held.attempts) == (OutboxStatus.PENDING, None, 0)
        assert held.next_attempt_at.replace(tzinfo=start.tzinfo) == start + timedelta(seconds=30)
    assert relay.stats.deferred == 2

    # An alert owed while the chat waits its turn is not claimed only to be given back: it waits with the others.
    await owe(database, clock, tenant_id, ADMIN, "alert:4", "alert 4")
    await owe(database, clock, tenant_id, OTHER_CUSTOMER, "receipt:2", "second receipt")
    assert await relay.run_once() == 1
    assert notifier.texts_to(OTHER_CUSTOMER) == ["second receipt"]
    assert (await row(database, "alert:4")).claimed_until is None
    assert relay.stats.deferred == 2


async def test_orders_paid_close_together_make_one_merchant_message_edited_into_a_list(
    database: Database,
    clock: FakeClock,
    notifier: RecordingNotifier,  # noqa: F811
    tenant_id: int,  # noqa: F811
) -> None:
    relay, _ = relay_for(database, notifier, clock)
    await owe_paid(database, clock, tenant_id, "A1")
    await relay.run_once()
    assert notifier.shown(ADMIN) == [paid("A1").text]  # alone, it goes as it is

    clock.advance(seconds=2)
    for code in ("A2", "A3", "A4"):
        await owe_paid(database, clock, tenant_id, code)
    await relay.run_once()

    lines = [f"{n}. {paid(code).text}" for n, code in enumerate(("A1", "A2", "A3", "A4"), 1)]
    assert notifier.shown(ADMIN) == ["\n".join(["💰 4 orders paid in the last minute:", *lines])]
    assert len(notifier.delivered) == 1 and len(notifier.edits) == 1  # one message, one edit for three orders
    alerts = [r for r in await rows(database) if r.chat_id == ADMIN]
    assert {(r.status, r.sent_message_id) for r in alerts} == {(OutboxStatus.SENT, 1)}
    assert relay.stats.sent == 4


async def test_a_list_keeps_each_orders_button_and_a_late_order_starts_a_new_message(
    database: Database,
    clock: FakeClock,
    notifier: RecordingNotifier,  # noqa: F811
    tenant_id: int,  # noqa: F811
) -> None:
    buttons: list[tuple[Button, ...]] = []

    class Keeping(RecordingNotifier):
        async def send(
            self,
            shop: int,
            chat_id: int,
            message: Message,
            *,
            edit_message_id: int | None = None,
            anew: Message | None = None,
        ) -> int:
            buttons[:] = list(message.buttons)
            return await super().send(shop, chat_id, message, edit_message_id=edit_message_id, anew=anew)

    keeping = Keeping(clock)
    relay, _ = relay_for(database, keeping, clock)
    await owe_paid(database, clock, tenant_id, "B1")
    await owe_paid(database, clock, tenant_id, "B2")
    await relay.run_once()  # both due at once: one new message listing both
    assert len(keeping.delivered) == 1 and keeping.edits == []
    assert buttons == [(Button("📄 View order · 1", data="vo:B1"),), (Button("📄 View order · 2", data="vo:B2"),)]

    clock.advance(seconds=61)  # the list began more than a minute ago: a new order gets a message of its own
    await owe_paid(database, clock, tenant_id, "B3")
    await relay.run_once()
    assert keeping.shown(ADMIN)[1] == paid("B3").text
    assert len(keeping.delivered) == 2


async def test_a_chat_being_delivered_by_one_relay_is_left_alone_by_another(
    database: Database,
    clock: FakeClock,
    tenant_id: int,  # noqa: F811
) -> None:
    stuck = StuckChatNotifier(clock)
    stuck.stuck.add(CUSTOMER)
    for n in range(1, 4):
        await owe(database, clock, tenant_id, CUSTOMER, f"m:{n}", f"m{n}")
    await owe(database, clock, tenant_id, OTHER_CUSTOMER, "other:1", "other")
    other_db = Database(database.url)
    try:
        first, _ = relay_for(database, stuck, clock)
        second_notifier = RecordingNotifier(clock)
        second, _ = relay_for(other_db, second_notifier, clock)
        in_flight = asyncio.create_task(first.run_once())
        await asyncio.wait_for(stuck.stuck_entered.wait(), timeout=WAIT)  # m1 is being sent by the first relay

        assert await second.run_once() == 0  # the other chat went with the first relay's claim; this one is held
        assert second_notifier.calls == []

        stuck.release.set()
        await asyncio.wait_for(in_flight, timeout=WAIT)
    finally:
        stuck.release.set()
        await other_db.dispose()
    assert stuck.texts_to(CUSTOMER) == ["m1", "m2", "m3"]
    assert stuck.texts_to(OTHER_CUSTOMER) == ["other"]
