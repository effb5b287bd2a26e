"""The outbox relay on a real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set), a scripted recording
notifier, a fake clock and a virtual sleep: what the chats receive and what the outbox rows say."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core import outbox
from core.clock import FakeClock, utc
from core.db.engine import Database
from core.db.tables import OutboxMessage, Tenant, TenantAdmin
from core.messages import Button, Message
from core.outbox import OutboxStatus
from core.relay import (
    NotifierError,
    OutboxRelay,
    PermanentError,
    RetryAfter,
    TransientError,
    Undeliverable,
)
from core.vault import Vault

ADMIN = 700001
CUSTOMER = 555001
OTHER_CUSTOMER = 555002


# --------------------------------------------------------------------------------------------------- fakes


@dataclass(frozen=True)
class Delivered:
    tenant_id: int
    chat_id: int
    text: str
    at: datetime


class RecordingNotifier:
    """Implements the Notifier port. Records deliveries with the clock's time; fails as scripted, either on a given
    call number (1-based, counting every call) or on the next calls to a given chat.

    Each chat is kept as Telegram shows it (message id -> text, in order): a send adds a message and returns its id,
    an edit changes a message in place. An edit of a message in ``uneditable`` is refused as Telegram's 400 would be,
    so the message goes out as new, as the port promises."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[tuple[int, int, str]] = []
        self.delivered: list[Delivered] = []
        self._on_call: dict[int, NotifierError] = {}
        self._per_chat: dict[int, list[NotifierError]] = {}
        self._always: dict[int, NotifierError] = {}
        self.gate: asyncio.Event | None = None  # when set, sends wait for it (to hold a send in flight)
        self.entered = asyncio.Event()
        self.chats: dict[int, dict[int, str]] = {}
        self.edits: list[tuple[int, int, str]] = []  # (chat, message id, new text)
        self.uneditable: set[int] = set()
        self._message_ids = itertools.count(1)

    def fail_call(self, number: int, error: NotifierError) -> None:
        self._on_call[number] = error

    def fail_chat(self, chat_id: int, *errors: NotifierError) -> None:
        self._per_chat.setdefault(chat_id, []).extend(errors)

    def always_fail(self, chat_id: int, error: NotifierError) -> None:
        self._always[chat_id] = error

    def calls_to(self, chat_id: int) -> int:
        return sum(1 for _, chat, _ in self.calls if chat == chat_id)

    def texts_to(self, chat_id: int) -> list[str]:
        return [d.text for d in self.delivered if d.chat_id == chat_id]

    def shown(self, chat_id: int) -> list[str]:
        """What the chat shows now, oldest message first, edits applied."""
        return list(self.chats.get(chat_id, {}).values())

    async def send(
        self,
        tenant_id: int,
        chat_id: int,
        message: Message,
        *,
        edit_message_id: int | None = None,
        anew: Message | None = None,
    ) -> int:
        self.calls.append((tenant_id, chat_id, message.text))
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        await asyncio.sleep(0)  # a real notifier awaits I/O: let other tasks run
        number = len(self.calls)
        if number in self._on_call:
            raise self._on_call.pop(number)
        if chat_id in self._always:
            raise self._always[chat_id]
        queued = self._per_chat.get(chat_id)
        if queued:
            raise queued.pop(0)
        chat = self.chats.setdefault(chat_id, {})
        if edit_message_id is not None and edit_message_id in chat and edit_message_id not in self.uneditable:
            chat[edit_message_id] = message.text
            self.edits.append((chat_id, edit_message_id, message.text))
            return edit_message_id
        message = anew or message
        self.delivered.append(Delivered(tenant_id, chat_id, message.text, self.clock.now()))
        message_id = next(self._message_ids)
        chat[message_id] = message.text
        return message_id


class VirtualSleep:
    """The relay's injectable wait: lets every other ready task run first, then moves the fake clock to the end of
    the wait (never backwards), so concurrent waits overlap as they would in real time. Never really sleeps."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        target = self.clock.now() + timedelta(seconds=seconds)
        for _ in range(20):
            await asyncio.sleep(0)
        if self.clock.now() < target:
            self.clock.advance(seconds=(target - self.clock.now()).total_seconds())


# --------------------------------------------------------------------------------------------------- helpers


async def make_tenant(
    database: Database,
    vault: Vault,
    clock: FakeClock,
    *,
    slug: str = "duka",
    admins: tuple[int, ...] = (ADMIN,),
    alert_chat_id: int | None = None,
) -> int:
    async with database.uow() as uow:
        tenant = Tenant(
            slug=slug,
            name="Duka",
            currency="KES",
            region="KE",
            bot_token_enc=vault.encrypt("123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            webhook_secret_enc=vault.encrypt("secret"),
            alert_chat_id=alert_chat_id,
            created_at=clock.now(),
        )
        uow.session.add(tenant)
        await uow.session.flush()
        for admin in admins:
            uow.session.add(TenantAdmin(tenant_id=tenant.id, tg_user_id=admin, created_at=clock.now()))
        await uow.commit()
        return tenant.id


async def owe(
    database: Database, clock: FakeClock, tenant_id: int, chat_id: int, key: str, message: Message | str
) -> bool:
    body = Message(message) if isinstance(message, str) else message
    async with database.uow() as uow:
        created = await outbox.enqueue(
            uow.session, tenant_id=tenant_id, chat_id=chat_id, dedupe_key=key, message=body, now=clock.now()
        )
        await uow.commit()
    return created


async def rows(database: Database) -> list[OutboxMessage]:
    async with database.uow() as uow:
        found = list(await uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        uow.session.expunge_all()  # plain snapshots: leaving the unit of work must not expire them
    return found


async def row(database: Database, key: str) -> OutboxMessage:
    async with database.uow() as uow:
        found = await uow.session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))
        uow.session.expunge_all()
    assert found is not None, key
    return found


def relay_for(
    database: Database, notifier: RecordingNotifier, clock: FakeClock, **options: Any
) -> tuple[OutboxRelay, VirtualSleep]:
    sleep = VirtualSleep(clock)
    options.setdefault("rng", random.Random(7))
    return OutboxRelay(database, notifier, clock, sleep=sleep, **options), sleep


@pytest.fixture
def notifier(clock: FakeClock) -> RecordingNotifier:
    return RecordingNotifier(clock)


@pytest.fixture
async def tenant_id(database: Database, vault: Vault, clock: FakeClock) -> int:
    return await make_tenant(database, vault, clock)


# --------------------------------------------------------------------------------------------------- delivery


async def test_a_message_is_sent_once_and_marked_sent(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    message = Message("Order A1 is paid", ((Button("View", data="mo:1"),),))
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", message)
    relay, _ = relay_for(database, notifier, clock)

    assert await relay.run_once() == 1
    assert await relay.run_once() == 0

    assert notifier.delivered == [Delivered(tenant_id, CUSTOMER, "Order A1 is paid", clock.now())]
    [sent] = await rows(database)
    assert sent.status == OutboxStatus.SENT
    assert sent.attempts == 1
    assert sent.sent_at is not None and utc(sent.sent_at) == clock.now()
    assert sent.claimed_until is None
    assert relay.stats.as_dict() == {
        "claimed": 1,
        "sent": 1,
        "retried": 0,
        "rate_limited": 0,
        "undeliverable": 0,
        "dead": 0,
        "deferred": 0,
        "alerts": 0,
        "errors": 0,
    }


async def test_duplicate_dedupe_keys_give_one_row_and_one_message(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    assert await owe(database, clock, tenant_id, CUSTOMER, "receipt:7", "paid") is True
    assert await owe(database, clock, tenant_id, CUSTOMER, "receipt:7", "paid again") is False
    relay, _ = relay_for(database, notifier, clock)

    await relay.run_once()

    assert len(await rows(database)) == 1
    assert notifier.texts_to(CUSTOMER) == ["paid"]


async def test_a_crash_after_claim_before_send_still_delivers_exactly_once(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", "paid")
    # A relay claims the row, commits the claim, and dies before sending.
    async with database.uow() as uow:
        claimed = await outbox.claim_due(uow.session, clock.now(), 10, timedelta(seconds=60))
        await uow.commit()
    assert [c.chat_id for c in claimed] == [CUSTOMER]

    relay, _ = relay_for(database, notifier, clock, lease=60)
    clock.advance(seconds=30)
    assert await relay.run_once() == 0  # the dead relay's lease still holds
    assert notifier.calls == []

    clock.advance(seconds=31)
    assert await relay.run_once() == 1
    clock.advance(seconds=120)
    assert await relay.run_once() == 0

    # Once, marked as a repeat: no result was recorded, so the relay cannot tell it from a send that went through.
    assert notifier.texts_to(CUSTOMER) == [outbox.as_repeat(Message("paid")).text]
    assert (await row(database, "receipt:1")).status == OutboxStatus.SENT


async def test_run_loop_delivers_when_woken(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    relay, _ = relay_for(database, notifier, clock, poll_interval=30)
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:0", "ordered")
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.wait_for(notifier.entered.wait(), timeout=5)  # the first pass claimed its one row
        notifier.entered.clear()
        # Owed after that pass claimed: only a second pass sends it, and without wake() none comes for 30 s.
        await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", "paid")
        relay.wake()
        await asyncio.wait_for(notifier.entered.wait(), timeout=5)
        assert [text for _, _, text in notifier.calls] == ["ordered", "paid"]
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=2)


# --------------------------------------------------------------------------------------------------- failures


async def test_429_is_waited_out_without_counting_an_attempt(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    start = clock.now()
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", "paid")
    notifier.fail_chat(CUSTOMER, RetryAfter(5))
    relay, _ = relay_for(database, notifier, clock)

    await relay.run_once()
    waiting = await row(database, "receipt:1")
    assert waiting.status == OutboxStatus.PENDING
    assert waiting.attempts == 0
    assert utc(waiting.next_attempt_at) == start + timedelta(seconds=5)
    assert relay.stats.rate_limited == 1

    clock.advance(seconds=4.9)
    assert await relay.run_once() == 0
    assert notifier.delivered == []

    clock.advance(seconds=0.1)
    await relay.run_once()
    assert [(d.text, d.at) for d in notifier.delivered] == [("paid", start + timedelta(seconds=5))]
    done = await row(database, "receipt:1")
    assert done.status == OutboxStatus.SENT
    assert done.attempts == 1  # the successful try only


async def test_429_pauses_the_bot_until_retry_after(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    start = clock.now()
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", "first")
    notifier.fail_chat(CUSTOMER, RetryAfter(10))
    relay, _ = relay_for(database, notifier, clock)
    await relay.run_once()

    clock.advance(seconds=2)
    await owe(database, clock, tenant_id, OTHER_CUSTOMER, "receipt:2", "second")
    await relay.run_once()
    assert notifier.delivered == []  # same bot: held back until the 429 has been waited out
    held = await row(database, "receipt:2")
    assert held.status == OutboxStatus.PENDING
    assert held.attempts == 0
    assert utc(held.next_attempt_at) == start + timedelta(seconds=10)

    clock.advance(seconds=8)
    await relay.run_once()
    assert sorted(d.text for d in notifier.delivered) == ["first", "second"]
    assert all(d.at >= start + timedelta(seconds=10) for d in notifier.delivered)


async def test_403_is_undeliverable_never_retried_and_the_merchant_is_told(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", "Your order A1 is paid")
    notifier.always_fail(CUSTOMER, Undeliverable("Forbidden: bot was blocked by the user"))
    relay, _ = relay_for(database, notifier, clock)

    await relay.run_once()
    blocked = await row(database, "receipt:1")
    assert blocked.status == OutboxStatus.UNDELIVERABLE
    assert blocked.last_error == "Forbidden: bot was blocked by the user"
    alert = await row(database, f"relay:undeliverable:{blocked.id}:to:{ADMIN}")
    assert alert.chat_id == ADMIN
    assert alert.status == OutboxStatus.PENDING
    assert relay.stats.undeliverable == 1
    assert relay.stats.alerts == 1

    await relay.run_once()
    clock.advance(hours=5)
    await relay.run_once()

    assert notifier.calls_to(CUSTOMER) == 1  # never retried
    [told] = notifier.texts_to(ADMIN)
    assert str(CUSTOMER) in told
    assert len(await rows(database)) == 2


async def test_rows_after_a_403_in_the_same_chat_are_not_sent_again(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", "one")
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:2", "two")
    notifier.always_fail(CUSTOMER, Undeliverable("Forbidden: bot was blocked by the user"))
    relay, _ = relay_for(database, notifier, clock)

    await relay.run_once()

    assert notifier.calls_to(CUSTOMER) == 1
    assert (await row(database, "receipt:2")).status == OutboxStatus.UNDELIVERABLE


async def test_a_blocked_merchant_chat_gets_no_alert_about_itself(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    await owe(database, clock, tenant_id, ADMIN, "merchant:paid:1", "Order A1 paid")
    notifier.always_fail(ADMIN, Undeliverable("Forbidden: bot was blocked by the user"))
    relay, _ = relay_for(database, notifier, clock)

    await relay.run_once()
    clock.advance(hours=1)
    await relay.run_once()

    assert [r.dedupe_key for r in await rows(database)] == ["merchant:paid:1"]
    assert (await row(database, "merchant:paid:1")).status == OutboxStatus.UNDELIVERABLE
    assert notifier.calls_to(ADMIN) == 1


async def test_a_network_error_backs_off_then_succeeds(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    start = clock.now()
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", "paid")
    notifier.fail_call(1, TransientError("HTTP Client says - ClientConnectorError"))
    relay, _ = relay_for(database, notifier, clock, backoff_base=4)

    await relay.run_once()
    waiting = await row(database, "receipt:1")
    assert waiting.status == OutboxStatus.PENDING
    assert waiting.attempts == 1
    assert start + timedelta(seconds=2) <= utc(waiting.next_attempt_at) <= start + timedelta(seconds=4)
    assert relay.stats.retried == 1

    assert await relay.run_once() == 0  # not due yet: nothing is hammered
    assert notifier.delivered == []

    clock.advance(seconds=4)
    await relay.run_once()
    assert notifier.texts_to(CUSTOMER) == ["paid"]
    done = await row(database, "receipt:1")
    assert done.status == OutboxStatus.SENT
    assert done.attempts == 2


async def test_back_off_grows_and_is_capped(database: Database, clock: FakeClock, notifier: RecordingNotifier) -> None:
    relay, _ = relay_for(database, notifier, clock, backoff_base=5, backoff_cap=60)
    for failures, ceiling in [(1, 5), (2, 10), (3, 20), (4, 40), (5, 60), (9, 60)]:
        for _ in range(20):
            assert ceiling / 2 <= relay.backoff(failures) <= ceiling


async def test_after_max_attempts_a_row_is_dead_and_the_merchant_is_alerted(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", "Your order A1 is paid")
    notifier.always_fail(CUSTOMER, TransientError("Telegram server says - Bad Gateway"))
    relay, _ = relay_for(database, notifier, clock, max_attempts=3)

    for _ in range(6):
        await relay.run_once()
        clock.advance(hours=1)

    dead = await row(database, "receipt:1")
    assert dead.status == OutboxStatus.DEAD
    assert dead.attempts == 3
    assert notifier.calls_to(CUSTOMER) == 3
    alert = await row(database, f"relay:dead:{dead.id}:to:{ADMIN}")
    assert alert.status == OutboxStatus.SENT
    [told] = notifier.texts_to(ADMIN)
    assert str(CUSTOMER) in told
    assert relay.stats.dead == 1
    assert relay.stats.retried == 2


async def test_a_dead_letter_alert_goes_to_the_alert_group_when_set(
    database: Database, vault: Vault, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    group = -1001234567
    tenant_id = await make_tenant(database, vault, clock, slug="group", alert_chat_id=group)
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", "paid")
    notifier.always_fail(CUSTOMER, PermanentError("Bad Request: message text is empty"))
    relay, _ = relay_for(database, notifier, clock, max_attempts=8, max_permanent_attempts=2)

    for _ in range(4):
        await relay.run_once()
        clock.advance(hours=1)

    dead = await row(database, "receipt:1")
    assert dead.status == OutboxStatus.DEAD
    assert notifier.calls_to(CUSTOMER) == 2  # a 400 is retried, but only a little
    assert [r.chat_id for r in await rows(database) if r.dedupe_key.startswith("relay:")] == [group]
    assert len(notifier.texts_to(group)) == 1
    assert notifier.texts_to(ADMIN) == []


async def test_a_dead_alert_is_not_alerted_about_again(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", "paid")
    notifier.always_fail(CUSTOMER, TransientError("down"))
    notifier.always_fail(ADMIN, TransientError("down"))
    relay, _ = relay_for(database, notifier, clock, max_attempts=2)

    for _ in range(8):
        await relay.run_once()
        clock.advance(hours=1)

    statuses = {r.dedupe_key: r.status for r in await rows(database)}
    first = await row(database, "receipt:1")
    assert statuses == {"receipt:1": OutboxStatus.DEAD, f"relay:dead:{first.id}:to:{ADMIN}": OutboxStatus.DEAD}


# --------------------------------------------------------------------------------------------------- pacing


async def test_messages_to_one_chat_are_spaced_and_other_chats_are_not_held_back(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    start = clock.now()
    await owe(database, clock, tenant_id, CUSTOMER, "a:1", "a1")
    await owe(database, clock, tenant_id, CUSTOMER, "a:2", "a2")
    await owe(database, clock, tenant_id, CUSTOMER, "a:3", "a3")
    await owe(database, clock, tenant_id, OTHER_CUSTOMER, "b:1", "b1")
    relay, sleep = relay_for(database, notifier, clock)

    assert await relay.run_once() == 4

    times = {d.text: d.at for d in notifier.delivered}
    assert notifier.texts_to(CUSTOMER) == ["a1", "a2", "a3"]  # in order
    assert times["a2"] - times["a1"] >= timedelta(seconds=1)
    assert times["a3"] - times["a2"] >= timedelta(seconds=1)
    assert times["b1"] == start
    assert sleep.waits  # the pacing waited through the injected sleep, not in real time


async def test_messages_per_bot_are_limited_per_second(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    start = clock.now()
    for chat in range(1, 6):
        await owe(database, clock, tenant_id, 800000 + chat, f"m:{chat}", f"m{chat}")
    relay, _ = relay_for(database, notifier, clock, per_bot_rate=2)

    await relay.run_once()

    times = sorted(d.at for d in notifier.delivered)
    assert len(times) == 5
    for i in range(len(times) - 2):  # never more than 2 in any one-second window
        assert times[i + 2] - times[i] >= timedelta(seconds=1)
    assert times[:2] == [start, start]


async def test_rows_that_would_wait_too_long_are_given_back_uncounted_and_in_order(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    start = clock.now()
    for n in range(1, 5):
        await owe(database, clock, tenant_id, CUSTOMER, f"a:{n}", f"a{n}")
    relay, sleep = relay_for(database, notifier, clock, max_hold=0.5)

    await relay.run_once()  # a1 goes; a2 would have to wait 1 s, more than the relay holds a row: back to the table
    assert notifier.texts_to(CUSTOMER) == ["a1"]
    assert sleep.waits == []
    assert relay.stats.deferred == 3
    for key in ("a:2", "a:3", "a:4"):
        held = await row(database, key)
        assert (held.status, held.attempts, held.claimed_until) == (OutboxStatus.PENDING, 0, None)
        assert utc(held.next_attempt_at) == start + timedelta(seconds=1)

    for _ in range(5):
        clock.advance(seconds=1)
        await relay.run_once()

    assert notifier.texts_to(CUSTOMER) == ["a1", "a2", "a3", "a4"]
    assert all(r.attempts == 1 and r.status == OutboxStatus.SENT for r in await rows(database))
    times = [d.at for d in notifier.delivered]
    assert all(b - a >= timedelta(seconds=1) for a, b in itertools.pairwise(times))


# --------------------------------------------------------------------------------------------------- several relays


async def test_no_second_send_while_a_lease_holds(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", "paid")
    other_db = Database(database.url)
    try:
        slow, _ = relay_for(database, notifier, clock)
        other_notifier = RecordingNotifier(clock)
        other, _ = relay_for(other_db, other_notifier, clock)
        notifier.gate = asyncio.Event()
        in_flight = asyncio.create_task(slow.run_once())
        await asyncio.wait_for(notifier.entered.wait(), timeout=5)

        clock.advance(seconds=20)  # well inside the lease
        assert await other.run_once() == 0
        notifier.gate.set()
        await asyncio.wait_for(in_flight, timeout=5)
        assert await other.run_once() == 0
    finally:
        await other_db.dispose()

    assert notifier.texts_to(CUSTOMER) == ["paid"]
    assert other_notifier.calls == []


async def test_two_relays_running_concurrently_never_send_a_row_twice(
    database: Database, vault: Vault, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    second_tenant = await make_tenant(database, vault, clock, slug="second", admins=(ADMIN + 1,))
    expected: list[str] = []
    for n in range(40):
        tenant = tenant_id if n % 2 else second_tenant
        chat = 900000 + n % 20  # three messages per chat: pacing and deferral are exercised too
        await owe(database, clock, tenant, chat, f"m:{n}", f"m{n}")
        expected.append(f"m{n}")
    other_db = Database(database.url)
    try:
        first, _ = relay_for(database, notifier, clock, batch=10)
        second, _ = relay_for(other_db, notifier, clock, batch=10)
        for _ in range(30):
            await asyncio.gather(first.run_once(), second.run_once(), first.run_once(), second.run_once())
            if len(notifier.delivered) == len(expected):
                break
            clock.advance(seconds=1)
    finally:
        await other_db.dispose()

    assert Counter(d.text for d in notifier.delivered) == Counter(expected)  # each exactly once
    assert len(notifier.calls) == len(expected)
    assert {r.status for r in await rows(database)} == {OutboxStatus.SENT}
    assert first.stats.sent + second.stats.sent == len(expected)


# --------------------------------------------------------------------------------------------------- logs


async def test_logs_carry_ids_but_never_message_text_or_tokens(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Your M-Pesa PIN reminder"  # stands for any customer-facing text
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    await owe(database, clock, tenant_id, CUSTOMER, "a:1", secret)
    await owe(database, clock, tenant_id, OTHER_CUSTOMER, "b:1", secret)
    notifier.fail_chat(CUSTOMER, TransientError(f"HTTP Client says - https://api.telegram.org/bot{token}/sendMessage"))
    notifier.always_fail(OTHER_CUSTOMER, Undeliverable("Forbidden: bot was blocked by the user"))
    relay, _ = relay_for(database, notifier, clock)

    with caplog.at_level(logging.DEBUG, logger="core.relay"):
        for _ in range(3):
            await relay.run_once()
            clock.advance(minutes=5)

    assert str(CUSTOMER) in caplog.text
    assert secret not in caplog.text
    assert token not in caplog.text
    assert all(token not in (r.last_error or "") for r in await rows(database))


async def test_an_unexpected_notifier_exception_is_retried_like_a_transient_error(
    database: Database, clock: FakeClock, tenant_id: int
) -> None:
    class Broken:
        async def send(
            self,
            tenant_id: int,
            chat_id: int,
            message: Message,
            *,
            edit_message_id: int | None = None,
            anew: Message | None = None,
        ) -> int:
            raise KeyError("no bot for this tenant")

    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", "paid")
    relay = OutboxRelay(database, Broken(), clock, sleep=VirtualSleep(clock))

    await relay.run_once()

    waiting = await row(database, "receipt:1")
    assert waiting.status == OutboxStatus.PENDING
    assert waiting.attempts == 1
    assert waiting.last_error == "unexpected KeyError"


async def test_an_unreadable_row_is_set_aside_and_does_not_hold_up_the_others(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    from sqlalchemy import update

    await owe(database, clock, tenant_id, 77, "broken", "first")
    await owe(database, clock, tenant_id, 78, "fine", "second")
    async with database.uow() as uow:
        await uow.session.execute(
            update(OutboxMessage).where(OutboxMessage.dedupe_key == "broken").values(payload={"no": "text"})
        )
        await uow.commit()
    relay, _ = relay_for(database, notifier, clock)
    await relay.run_once()
    assert [text for _, _, text in notifier.calls] == ["second"]
    broken = await row(database, "broken")
    assert broken.status == OutboxStatus.DEAD and "unreadable payload" in (broken.last_error or "")


# --------------------------------------------------------------------------------------------------- replacing in place

CHECK_PHONE = "📲 Check your phone: KES 420 for order A1"
PAID = "✅ Payment received for order A1"


def result_replacing(key: str = "started:1", text: str = PAID) -> Message:
    return Message(text, ((Button("My orders", data="orders"),),), replaces=key)


async def test_a_replacement_edits_the_message_it_replaces(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    await owe(database, clock, tenant_id, CUSTOMER, "started:1", CHECK_PHONE)
    relay, _ = relay_for(database, notifier, clock)
    await relay.run_once()
    started = await row(database, "started:1")
    assert started.sent_message_id == 1

    clock.advance(seconds=30)
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", result_replacing())
    await relay.run_once()

    assert notifier.shown(CUSTOMER) == [PAID]  # the chat shows the result where "check your phone" was
    assert notifier.edits == [(CUSTOMER, started.sent_message_id, PAID)]
    receipt = await row(database, "receipt:1")
    assert receipt.status == OutboxStatus.SENT
    assert receipt.sent_message_id == started.sent_message_id  # a later replacement of the receipt edits it too
    assert (await row(database, "started:1")).status == OutboxStatus.SENT
    assert relay.stats.sent == 2


async def test_a_replacement_owed_with_the_row_it_replaces_goes_after_it_and_edits_it(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    await owe(database, clock, tenant_id, CUSTOMER, "started:1", CHECK_PHONE)
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", result_replacing())
    relay, _ = relay_for(database, notifier, clock)

    assert await relay.run_once() == 2  # one batch: the chat's rows in order, the second a second later

    assert [text for _, _, text in notifier.calls] == [CHECK_PHONE, PAID]
    assert notifier.shown(CUSTOMER) == [PAID]
    assert len(notifier.edits) == 1


async def test_a_replacement_before_the_earlier_row_is_sent_goes_as_new_and_the_earlier_never(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    await owe(database, clock, tenant_id, CUSTOMER, "started:1", CHECK_PHONE)
    notifier.fail_chat(CUSTOMER, TransientError("502 Bad Gateway"))
    relay, _ = relay_for(database, notifier, clock)
    await relay.run_once()  # "check your phone" fails once and waits for its retry
    assert (await row(database, "started:1")).status == OutboxStatus.PENDING

    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", result_replacing())
    await relay.run_once()
    for _ in range(5):  # long past the earlier row's back-off
        clock.advance(minutes=10)
        await relay.run_once()

    assert notifier.shown(CUSTOMER) == [PAID]  # never both: stale news is not sent after the result
    assert notifier.edits == []
    assert notifier.calls_to(CUSTOMER) == 2  # the failed try and the result
    started = await row(database, "started:1")
    assert started.status == OutboxStatus.SUPERSEDED and started.sent_message_id is None
    receipt = await row(database, "receipt:1")
    assert receipt.status == OutboxStatus.SENT and receipt.sent_message_id is not None
    assert relay.stats.alerts == 0 and relay.stats.dead == 0


async def test_a_replacement_of_an_unknown_or_undelivered_row_is_sent_as_new(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", result_replacing("started:404"))
    await owe(database, clock, tenant_id, OTHER_CUSTOMER, "started:2", CHECK_PHONE)
    notifier.fail_chat(OTHER_CUSTOMER, PermanentError("Bad Request: wrong file identifier"))
    relay, _ = relay_for(database, notifier, clock, max_permanent_attempts=1)
    await relay.run_once()
    assert (await row(database, "started:2")).status == OutboxStatus.DEAD

    await owe(database, clock, tenant_id, OTHER_CUSTOMER, "receipt:2", result_replacing("started:2"))
    clock.advance(seconds=5)
    await relay.run_once()

    assert notifier.shown(CUSTOMER) == [PAID]
    assert notifier.shown(OTHER_CUSTOMER) == [PAID]
    assert notifier.edits == []


async def test_a_refused_edit_is_sent_as_new_exactly_once(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    await owe(database, clock, tenant_id, CUSTOMER, "started:1", CHECK_PHONE)
    relay, _ = relay_for(database, notifier, clock)
    await relay.run_once()
    started = await row(database, "started:1")
    assert started.sent_message_id == 1
    notifier.uneditable.add(started.sent_message_id)  # too old to edit, or deleted by the customer
    clock.advance(seconds=30)
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", result_replacing())
    notifier.fail_chat(CUSTOMER, TransientError("network: ServerDisconnectedError"))  # the first try goes nowhere

    for _ in range(4):
        await relay.run_once()
        clock.advance(minutes=5)

    assert notifier.shown(CUSTOMER) == [CHECK_PHONE, PAID]  # the old message stays, the result comes once
    assert notifier.texts_to(CUSTOMER).count(PAID) == 1
    assert [text for _, _, text in notifier.calls].count(PAID) == 2  # the failed try, then the one that went out
    receipt = await row(database, "receipt:1")
    assert receipt.status == OutboxStatus.SENT
    assert receipt.sent_message_id not in (None, started.sent_message_id)


async def test_a_replacement_waits_while_another_relay_holds_the_row_it_replaces(
    database: Database, clock: FakeClock, notifier: RecordingNotifier, tenant_id: int
) -> None:
    await owe(database, clock, tenant_id, CUSTOMER, "started:1", CHECK_PHONE)
    async with database.uow() as uow:  # another relay claims "check your phone" and dies before sending it
        await outbox.claim_due(uow.session, clock.now(), 10, timedelta(seconds=60))
        await uow.commit()
    await owe(database, clock, tenant_id, CUSTOMER, "receipt:1", result_replacing())
    relay, _ = relay_for(database, notifier, clock, lease=60)

    # The chat is held by the other relay's lease: none of its rows is claimed, so the result cannot overtake the
    # row it replaces.
    assert await relay.run_once() == 0
    assert notifier.calls == []
    waiting = await row(database, "receipt:1")
    assert (waiting.status, waiting.attempts, waiting.claimed_until) == (OutboxStatus.PENDING, 0, None)

    clock.advance(seconds=61)  # the dead relay's lease runs out: both go, in order
    assert await relay.run_once() == 2

    # "check your phone" goes marked as a repeat: the dead relay recorded no result for it.
    assert [text for _, _, text in notifier.calls] == [outbox.as_repeat(Message(CHECK_PHONE)).text, PAID]
    assert notifier.shown(CUSTOMER) == [PAID]


async def test_replaces_survives_the_outbox_payload() -> None:
    message = result_replacing()
    payload = message.to_payload()
    assert payload["replaces"] == "started:1"
    assert Message.from_payload(payload) == message
    assert "replaces" not in Message("plain").to_payload()  # rows without it keep their old shape
