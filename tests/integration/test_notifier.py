"""The TelegramNotifier driving each library's real Bot (aiogram, python-telegram-bot: the channel's own) against the
fake Telegram Bot API server: what the user sees, and how Telegram's failures reach the relay. Last, the relay itself
delivering through it, on a real database."""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.channel import Channel
from bot.telegram_render import CAPTION_LIMIT, TEXT_LIMIT, TelegramNotifier, split_text, utf16_len
from core import outbox
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import OutboxMessage, Tenant, TenantAdmin
from core.messages import Button, Message, keyboard
from core.outbox import OutboxStatus
from core.relay import OutboxRelay, PermanentError, RetryAfter, TransientError, Undeliverable
from core.vault import Vault
from sandbox.telegram import FakeTelegram, FakeTelegramServer, FakeUser
from tests.support.channels import adopt, channel_at, close_quickly, library_module
from tests.support.reset import empty_postgres

# One server and one loop for the module; each test gets its own channel, and its own bot token, hence its own
# isolated bot on the shared fake. Every case runs through each library.
pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.every_channel]

TENANT = 1
PAY_URL = "https://checkout.paystack.example/abc123"
_bot_numbers = itertools.count(6_100_001)
_user_ids = itertools.count(254_711_000_001)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(host="127.0.0.1", port=0) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def channel(server: FakeTelegramServer, telegram_library: str) -> AsyncIterator[Channel]:
    built = channel_at(telegram_library, server.base_url)
    yield built
    await close_quickly(built)


@pytest.fixture
def fake(server: FakeTelegramServer) -> Iterator[FakeTelegram]:
    yield server.fake
    leftover = server.fake.pending_failures
    assert not leftover, f"scripted failures left unused: {leftover}"


@pytest.fixture
def token(fake: FakeTelegram) -> str:
    token = f"{next(_bot_numbers)}:AAH-notifier-secret-{random.randrange(10**6)}"
    fake.add_bot(token, "duka_notify_bot", "Duka")
    return token


@pytest.fixture
def notifier(channel: Channel, token: str) -> TelegramNotifier:
    adopt(channel, TENANT, token)
    notifier = channel.notifier
    assert isinstance(notifier, TelegramNotifier)
    return notifier


async def customer(fake: FakeTelegram, token: str) -> FakeUser:
    user = fake.user(token, user_id=next(_user_ids), first_name="Amina")
    await user.send_command("/start")  # Telegram lets a bot write only to users who wrote to it
    return user


# --------------------------------------------------------------------------------------------------- rendering


async def test_text_with_callback_and_url_buttons(fake: FakeTelegram, token: str, notifier: TelegramNotifier) -> None:
    user = await customer(fake, token)
    message = Message(
        "Order A1 is paid: KES 1,500",
        keyboard(
            [Button("View order", data="order:1"), Button("Receipt", url="https://duka.example/r/A1")],
            [Button("My orders", data="orders")],
        ),
    )

    await notifier.send(TENANT, user.id, message)

    [sent] = user.messages
    assert sent.text == "Order A1 is paid: KES 1,500"
    assert sent.buttons == [
        [("View order", "order:1"), ("Receipt", "https://duka.example/r/A1")],
        [("My orders", "orders")],
    ]


async def test_photo_by_url_with_caption_and_buttons(
    fake: FakeTelegram, token: str, notifier: TelegramNotifier
) -> None:
    user = await customer(fake, token)
    message = Message(
        "Blue kikoi, KES 900", keyboard([Button("Add to cart", data="add:7")]), photo="https://duka.example/kikoi.jpg"
    )

    await notifier.send(TENANT, user.id, message)

    [sent] = user.messages
    assert sent.photo is not None and sent.photo.source_url == "https://duka.example/kikoi.jpg"
    assert sent.caption == "Blue kikoi, KES 900"
    assert sent.buttons == [[("Add to cart", "add:7")]]


async def test_photo_by_file_id_is_resent(fake: FakeTelegram, token: str, notifier: TelegramNotifier) -> None:
    user = await customer(fake, token)
    update = await user.send_photo(b"\x89PNG\r\n\x1a\nproof", caption="my M-Pesa proof")
    file_id = update["message"]["photo"][-1]["file_id"]

    await notifier.send(TENANT, user.id, Message("Proof received", photo=file_id))

    assert user.last.photo is not None and user.last.photo.file_id == file_id
    assert user.last.caption == "Proof received"


async def test_a_caption_too_long_goes_as_photo_then_text(
    fake: FakeTelegram, token: str, notifier: TelegramNotifier
) -> None:
    user = await customer(fake, token)
    body = " ".join(["Kikoi"] * 300)  # 1799 characters: too long for a caption
    message = Message(body, keyboard([Button("Add to cart", data="add:7")]), photo="https://duka.example/kikoi.jpg")

    await notifier.send(TENANT, user.id, message)

    photo, words = user.messages
    assert photo.photo is not None and photo.caption is None and photo.buttons == []
    assert words.text == body
    assert words.buttons == [[("Add to cart", "add:7")]]


async def test_a_document_with_caption(fake: FakeTelegram, token: str, notifier: TelegramNotifier) -> None:
    user = await customer(fake, token)
    update = await user.send_document(b"%PDF-1.4 receipt", "receipt.pdf", "application/pdf")
    file_id = update["message"]["document"]["file_id"]

    await notifier.send(TENANT, user.id, Message("Receipt for A1", document=file_id))

    assert user.last.document is not None and user.last.document.file_id == file_id
    assert user.last.caption == "Receipt for A1"


async def test_long_text_is_split_with_the_keyboard_on_the_last_part(
    fake: FakeTelegram, token: str, notifier: TelegramNotifier
) -> None:
    user = await customer(fake, token)
    lines = [f"{n:04d}. Sukuma wiki, 1 bunch, KES 50" for n in range(400)]  # about 14,000 characters
    body = "\n".join(lines)

    await notifier.send(TENANT, user.id, Message(body, keyboard([Button("Pay", data="pay:1")])))

    parts = user.messages
    assert len(parts) == 4
    assert all(part.text is not None and len(part.text) <= TEXT_LIMIT for part in parts)
    assert "\n".join(part.text or "" for part in parts) == body  # cut at line breaks, nothing lost
    assert [part.buttons for part in parts] == [[], [], [], [[("Pay", "pay:1")]]]


# --------------------------------------------------------------------------------------------------- failures


async def test_429_becomes_retry_after_with_telegrams_seconds(
    fake: FakeTelegram, token: str, notifier: TelegramNotifier
) -> None:
    user = await customer(fake, token)
    fake.fail_next("sendMessage", 429, retry_after=7, chat_id=user.id)

    with pytest.raises(RetryAfter) as raised:
        await notifier.send(TENANT, user.id, Message("Order A1 is paid"))

    assert raised.value.seconds == 7
    assert user.messages == []
    await notifier.send(TENANT, user.id, Message("Order A1 is paid"))
    assert [m.text for m in user.messages] == ["Order A1 is paid"]


async def test_403_blocked_is_undeliverable(fake: FakeTelegram, token: str, notifier: TelegramNotifier) -> None:
    user = await customer(fake, token)
    fake.block(user)

    with pytest.raises(Undeliverable, match="blocked by the user"):
        await notifier.send(TENANT, user.id, Message("Order A1 is paid"))


async def test_chat_not_found_is_undeliverable(fake: FakeTelegram, token: str, notifier: TelegramNotifier) -> None:
    stranger = next(_user_ids)  # never wrote to the bot

    with pytest.raises(Undeliverable, match=r"(?i)chat not found"):  # PTB capitalises Telegram's words
        await notifier.send(TENANT, stranger, Message("hello"))


async def test_other_400_is_permanent(fake: FakeTelegram, token: str, notifier: TelegramNotifier) -> None:
    user = await customer(fake, token)
    fake.fail_next("sendPhoto", 400, "Bad Request: wrong file identifier/HTTP URL specified", chat_id=user.id)

    with pytest.raises(PermanentError, match=r"(?i)wrong file identifier"):
        await notifier.send(TENANT, user.id, Message("x", photo="https://duka.example/missing.jpg"))


async def test_5xx_is_transient(fake: FakeTelegram, token: str, notifier: TelegramNotifier) -> None:
    user = await customer(fake, token)
    fake.fail_next("sendMessage", 502, chat_id=user.id)

    with pytest.raises(TransientError):
        await notifier.send(TENANT, user.id, Message("Order A1 is paid"))


async def test_a_network_error_is_transient_and_never_shows_the_token(telegram_library: str) -> None:
    token = "6199999:AAH-secret-that-must-not-leak-0123456789"
    nowhere = channel_at(telegram_library, "http://127.0.0.1:9")  # nothing listens on port 9
    try:
        adopt(nowhere, TENANT, token)
        with pytest.raises(TransientError) as raised:
            await nowhere.notifier.send(TENANT, 42, Message("hello"))
    finally:
        await close_quickly(nowhere)

    assert token not in raised.value.reason
    assert "AAH-secret" not in raised.value.reason


async def test_an_empty_message_is_refused_without_a_call(
    fake: FakeTelegram, token: str, notifier: TelegramNotifier
) -> None:
    with pytest.raises(PermanentError):
        await notifier.send(TENANT, 42, Message("   "))
    assert fake.calls_for(token)["sendMessage"] == 0


# --------------------------------------------------------------------------------------------------- pure helpers


async def test_render_keyboard(telegram_library: str) -> None:
    render_keyboard = library_module(telegram_library, "notifier").render_keyboard
    assert render_keyboard(()) is None
    markup = render_keyboard(keyboard([Button("Pay", data="pay:1")], [Button("Site", url="https://duka.example")]))
    assert markup is not None
    [[pay], [site]] = markup.inline_keyboard
    assert (pay.text, pay.callback_data, pay.url) == ("Pay", "pay:1", None)
    assert (site.text, site.callback_data, site.url) == ("Site", None, "https://duka.example")


async def test_split_text_counts_utf16_and_never_cuts_a_character() -> None:
    body = "🛒" * 3000  # 6000 UTF-16 units
    parts = split_text(body)
    assert "".join(parts) == body
    assert all(utf16_len(part) <= TEXT_LIMIT for part in parts)
    assert split_text("short") == ["short"]
    assert split_text(" \n ") == []
    assert utf16_len("x" * CAPTION_LIMIT) == CAPTION_LIMIT


# --------------------------------------------------------------------------------------------------- with the relay


async def test_the_relay_delivers_through_telegram_and_reports_a_blocked_customer(
    fake: FakeTelegram, token: str, channel: Channel, database_url: str, vault: Vault
) -> None:
    # The `database` fixture lives on the per-test loop; this module runs on one module loop, so build our own.
    database = Database(database_url)
    clock = FakeClock()
    try:
        if database.dialect == "postgresql":
            async with database.engine.begin() as connection:
                await empty_postgres(connection)
        amina, baraka, merchant = [await customer(fake, token) for _ in range(3)]
        fake.block(baraka)
        async with database.uow() as uow:
            shop = Tenant(
                slug="duka",
                name="Duka",
                currency="KES",
                region="KE",
                bot_token_enc=vault.encrypt(token),
                webhook_secret_enc=vault.encrypt("s"),
                created_at=clock.now(),
            )
            uow.session.add(shop)
            await uow.session.flush()
            uow.session.add(TenantAdmin(tenant_id=shop.id, tg_user_id=merchant.id, created_at=clock.now()))
            for chat, key in ((amina.id, "receipt:1"), (baraka.id, "receipt:2")):
                await outbox.enqueue(
                    uow.session,
                    tenant_id=shop.id,
                    chat_id=chat,
                    dedupe_key=key,
                    message=Message(f"Your order {key} is paid"),
                    now=clock.now(),
                )
            await uow.commit()
        adopt(channel, shop.id, token)
        relay = OutboxRelay(database, channel.notifier, clock)

        await relay.run_once()  # the receipts; the blocked one becomes an alert for the merchant
        await relay.run_once()  # the alert

        assert [m.text for m in amina.messages] == ["Your order receipt:1 is paid"]
        [alert] = merchant.messages
        assert str(baraka.id) in (alert.text or "")
        async with database.uow() as uow:
            statuses = dict((await uow.session.execute(select(OutboxMessage.dedupe_key, OutboxMessage.status))).all())
        assert statuses["receipt:1"] == OutboxStatus.SENT
        assert statuses["receipt:2"] == OutboxStatus.UNDELIVERABLE
        assert relay.stats.sent == 2 and relay.stats.undeliverable == 1
    finally:
        await database.dispose()


# --------------------------------------------------------------------------------------------------- editing in place


async def test_a_text_message_is_edited_in_place_with_the_new_buttons(
    fake: FakeTelegram, token: str, notifier: TelegramNotifier
) -> None:
    user = await customer(fake, token)
    first = await notifier.send(
        TENANT, user.id, Message("📲 Check your phone for order A1", keyboard([Button("Pay online", url=PAY_URL)]))
    )
    assert first == user.last.message_id

    edited = await notifier.send(
        TENANT,
        user.id,
        Message("✅ Order A1 is paid", keyboard([Button("My orders", data="orders")])),
        edit_message_id=first,
    )

    assert edited == first
    [shown] = user.messages
    assert shown.message_id == first and shown.edit_date is not None
    assert shown.text == "✅ Order A1 is paid"
    assert shown.buttons == [[("My orders", "orders")]]
    assert fake.calls_for(token)["editMessageText"] == 1 and fake.calls_for(token)["sendMessage"] == 1


async def test_an_edit_without_buttons_removes_the_old_ones(
    fake: FakeTelegram, token: str, notifier: TelegramNotifier
) -> None:
    user = await customer(fake, token)
    first = await notifier.send(TENANT, user.id, Message("Pay for A1", keyboard([Button("Pay online", url=PAY_URL)])))

    await notifier.send(TENANT, user.id, Message("✅ Order A1 is paid"), edit_message_id=first)

    [shown] = user.messages
    assert shown.text == "✅ Order A1 is paid" and shown.buttons == []  # the spent payment link is gone


async def test_a_photo_caption_is_edited_in_place(fake: FakeTelegram, token: str, notifier: TelegramNotifier) -> None:
    user = await customer(fake, token)
    photo = "https://duka.example/kikoi.jpg"
    first = await notifier.send(
        TENANT, user.id, Message("Blue kikoi, KES 900", keyboard([Button("Add to cart", data="add:7")]), photo=photo)
    )

    edited = await notifier.send(
        TENANT,
        user.id,
        Message("Blue kikoi: sold out", keyboard([Button("Notify me", data="notify:7")]), photo=photo),
        edit_message_id=first,
    )

    assert edited == first
    [shown] = user.messages
    assert shown.photo is not None and shown.photo.source_url == photo
    assert shown.caption == "Blue kikoi: sold out"
    assert shown.buttons == [[("Notify me", "notify:7")]]
    assert fake.calls_for(token)["editMessageCaption"] == 1 and fake.calls_for(token)["sendPhoto"] == 1


async def test_an_edit_telegram_refuses_is_sent_as_a_new_message_once(
    fake: FakeTelegram, token: str, notifier: TelegramNotifier
) -> None:
    user = await customer(fake, token)
    first = await notifier.send(TENANT, user.id, Message("📲 Check your phone for order A1"))
    fake.fail_next("editMessageText", 400, "Bad Request: message can't be edited", chat_id=user.id)

    second = await notifier.send(TENANT, user.id, Message("✅ Order A1 is paid"), edit_message_id=first)

    assert second is not None and second != first
    assert [m.text for m in user.messages] == ["📲 Check your phone for order A1", "✅ Order A1 is paid"]
    assert user.last.message_id == second
    assert fake.calls_for(token)["sendMessage"] == 2


async def test_a_text_cannot_replace_a_photo_in_place_so_it_is_sent_as_new(
    fake: FakeTelegram, token: str, notifier: TelegramNotifier
) -> None:
    user = await customer(fake, token)
    first = await notifier.send(TENANT, user.id, Message("Blue kikoi", photo="https://duka.example/kikoi.jpg"))

    second = await notifier.send(TENANT, user.id, Message("✅ Order A1 is paid"), edit_message_id=first)

    assert second != first
    assert [m.content for m in user.messages] == ["Blue kikoi", "✅ Order A1 is paid"]


async def test_an_edit_of_a_deleted_message_is_sent_as_new(
    fake: FakeTelegram, token: str, notifier: TelegramNotifier
) -> None:
    user = await customer(fake, token)

    sent = await notifier.send(TENANT, user.id, Message("✅ Order A1 is paid"), edit_message_id=987_654)

    assert sent == user.last.message_id
    assert [m.text for m in user.messages] == ["✅ Order A1 is paid"]


async def test_not_modified_counts_as_delivered(fake: FakeTelegram, token: str, notifier: TelegramNotifier) -> None:
    user = await customer(fake, token)
    message = Message("✅ Order A1 is paid", keyboard([Button("My orders", data="orders")]))
    first = await notifier.send(TENANT, user.id, message)

    again = await notifier.send(TENANT, user.id, message, edit_message_id=first)  # a retry after a lost answer

    assert again == first
    assert [m.text for m in user.messages] == ["✅ Order A1 is paid"]
    assert fake.calls_for(token)["sendMessage"] == 1


async def test_an_edit_refused_by_a_blocked_chat_is_undeliverable(
    fake: FakeTelegram, token: str, notifier: TelegramNotifier
) -> None:
    user = await customer(fake, token)
    first = await notifier.send(TENANT, user.id, Message("📲 Check your phone for order A1"))
    fake.block(user)

    with pytest.raises(Undeliverable):
        await notifier.send(TENANT, user.id, Message("✅ Order A1 is paid"), edit_message_id=first)
    assert fake.calls_for(token)["sendMessage"] == 1  # no new message tried after a 403
