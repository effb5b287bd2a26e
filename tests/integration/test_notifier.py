"""The TelegramNotifier driving a real aiogram Bot against the fake Telegram Bot API server: what the user sees, and
how Telegram's failures reach the relay. Last, the relay itself delivering through it, on a real database."""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import select

from bot.notifier import CAPTION_LIMIT, TEXT_LIMIT, TelegramNotifier, render_keyboard, split_text, utf16_len
from core import outbox
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import OutboxMessage, Tenant, TenantAdmin
from core.messages import Button, Message, keyboard
from core.outbox import OutboxStatus
from core.relay import OutboxRelay, PermanentError, RetryAfter, TransientError, Undeliverable
from core.vault import Vault
from sandbox.telegram import FakeTelegram, FakeTelegramServer, FakeUser
from tests.support.reset import empty_postgres

# One server, one loop and one aiogram HTTP session for the module. Each test gets its own bot token, hence its own
# isolated bot on the shared fake.
pytestmark = pytest.mark.asyncio(loop_scope="module")

TENANT = 1
PAY_URL = "https://checkout.paystack.example/abc123"
_bot_numbers = itertools.count(6_100_001)
_user_ids = itertools.count(254_711_000_001)


class Directory:
    """A BotDirectory: tenant id -> aiogram Bot."""

    def __init__(self, bots: dict[int, Bot]) -> None:
        self.bots = bots

    async def bot_for(self, tenant_id: int) -> Bot:
        return self.bots[tenant_id]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(host="127.0.0.1", port=0) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def session(server: FakeTelegramServer) -> AsyncIterator[AiohttpSession]:
    aiogram_session = AiohttpSession(api=TelegramAPIServer.from_base(server.base_url))
    yield aiogram_session
    await close_quickly(aiogram_session)


async def close_quickly(session: AiohttpSession) -> None:
    """AiohttpSession.close() sleeps 250 ms for TLS connections to wind down; plain HTTP to localhost needs none."""
    if session._session is not None:
        await session._session.close()


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
def bot(token: str, session: AiohttpSession) -> Bot:
    return Bot(token, session=session)  # the module fixture closes the shared session


@pytest.fixture
def notifier(bot: Bot) -> TelegramNotifier:
    return TelegramNotifier(Directory({TENANT: bot}))


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

    with pytest.raises(Undeliverable, match="chat not found"):
        await notifier.send(TENANT, stranger, Message("hello"))


async def test_other_400_is_permanent(fake: FakeTelegram, token: str, notifier: TelegramNotifier) -> None:
    user = await customer(fake, token)
    fake.fail_next("sendPhoto", 400, "Bad Request: wrong file identifier/HTTP URL specified", chat_id=user.id)

    with pytest.raises(PermanentError, match="wrong file identifier"):
        await notifier.send(TENANT, user.id, Message("x", photo="https://duka.example/missing.jpg"))


async def test_5xx_is_transient(fake: FakeTelegram, token: str, notifier: TelegramNotifier) -> None:
    user = await customer(fake, token)
    fake.fail_next("sendMessage", 502, chat_id=user.id)

    with pytest.raises(TransientError):
        await notifier.send(TENANT, user.id, Message("Order A1 is paid"))


async def test_a_network_error_is_transient_and_never_shows_the_token(session: AiohttpSession) -> None:
    token = "6199999:AAH-secret-that-must-not-leak-0123456789"
    nowhere = AiohttpSession(api=TelegramAPIServer.from_base("http://127.0.0.1:9"))  # nothing listens on port 9
    try:
        notifier = TelegramNotifier(Directory({TENANT: Bot(token, session=nowhere)}))
        with pytest.raises(TransientError) as raised:
            await notifier.send(TENANT, 42, Message("hello"))
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


async def test_render_keyboard() -> None:
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
    fake: FakeTelegram, token: str, bot: Bot, database_url: str, vault: Vault
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
        relay = OutboxRelay(database, TelegramNotifier(Directory({shop.id: bot})), clock)

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
