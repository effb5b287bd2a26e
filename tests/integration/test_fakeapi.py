"""The fake Telegram Bot API, driven by a real aiogram Bot over HTTP so that aiogram itself vouches for every answer."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.methods import TelegramMethod
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from sandbox.telegram import SECRET_HEADER, FakeTelegram, FakeTelegramServer, FakeUser, create_app
from sandbox.telegram.account import BotAccount, PollTicket
from sandbox.telegram.formatting import parse_formatted

# One server, one loop and one aiogram HTTP session for the module: AiohttpSession.close() sleeps 250 ms, so a
# session per test would make this file slow. Each test gets its own bot token, hence its own isolated bot.
pytestmark = pytest.mark.asyncio(loop_scope="module")

MB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + b"fake image body" * 20
_bot_numbers = itertools.count(5_000_001)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(FakeTelegram(webhook_retry_delay=0.01)) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def session(server: FakeTelegramServer) -> AsyncIterator[AiohttpSession]:
    aiogram_session = AiohttpSession(api=server.api)
    yield aiogram_session
    await aiogram_session.close()


@pytest.fixture
def fake(server: FakeTelegramServer) -> Iterator[FakeTelegram]:
    yield server.fake
    leftover = server.fake.clear_failures()
    assert not leftover, f"scripted failures left unused: {leftover}"


@pytest.fixture
def token(fake: FakeTelegram) -> str:
    token = f"{next(_bot_numbers)}:AAF-test-secret"
    fake.add_bot(token, "duka_test_bot", "Duka")
    return token


@pytest.fixture
def bot(token: str, session: AiohttpSession) -> Bot:
    return Bot(token, session=session)  # the module fixture closes the shared session


@pytest_asyncio.fixture(loop_scope="module")
async def user(fake: FakeTelegram, token: str) -> FakeUser:
    customer = fake.user(token, user_id=254_700_000_001, first_name="Amina")
    await customer.send_command("/start")  # Telegram lets a bot write only to users who wrote to it
    return customer


@pytest_asyncio.fixture(loop_scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


class Receiver:
    """A webhook endpoint that records what arrives and fails the first `failures` deliveries."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.json()))
        if len(self.requests) <= self.failures:
            return web.Response(status=500)
        return web.json_response({})


async def start_site(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def long_poll_waiting(account: BotAccount) -> PollTicket:
    """Until a getUpdates call of this bot is waiting for updates (the fake wakes its waiters when one starts)."""
    async with asyncio.timeout(5):
        return await account.changed.wait_until(lambda: account.poll)


def inline_keyboard(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=list(rows))


# Identity and authentication


async def test_get_me_describes_the_registered_bot(bot: Bot, token: str) -> None:
    me = await bot.get_me()

    assert (me.id, me.username, me.first_name, me.is_bot) == (int(token.split(":")[0]), "duka_test_bot", "Duka", True)


async def test_unknown_token_is_unauthorized(session: AiohttpSession) -> None:
    stranger = Bot("4040404:not-registered", session=session)

    with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
        await stranger.get_me()


async def test_unknown_method_is_not_found(bot: Bot, server: FakeTelegramServer, http: aiohttp.ClientSession) -> None:
    with pytest.raises(TelegramNotFound):
        await bot.get_chat(chat_id=1)  # a real method the fake does not implement

    async with http.post(f"{server.base_url}/bot{bot.token}/sendTelepathy") as response:
        assert response.status == 404
        assert await response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_several_bots_keep_separate_chats(fake: FakeTelegram, session: AiohttpSession) -> None:
    tokens = [f"{next(_bot_numbers)}:AAF-shop-{name}" for name in ("a", "b")]
    for name, shop_token in zip(("a", "b"), tokens, strict=True):
        fake.add_bot(shop_token, f"shop_{name}_bot")
    amina_a = fake.user(tokens[0], user_id=42)
    await amina_a.send_text("hi shop a")

    await Bot(tokens[0], session=session).send_message(42, "Karibu to shop A")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await Bot(tokens[1], session=session).send_message(42, "never talked to shop B")

    assert [message.text for message in amina_a.messages] == ["Karibu to shop A"]
    assert fake.user(tokens[1], user_id=42).messages == []


# Sending and reading messages


async def test_send_message_with_inline_keyboard(bot: Bot, user: FakeUser) -> None:
    keyboard = inline_keyboard(
        [InlineKeyboardButton(text="Add to cart", callback_data="add:sku-1")],
        [InlineKeyboardButton(text="Website", url="https://duka.example/shop")],
    )

    sent = await bot.send_message(
        user.id, "<b>Sukuma wiki</b> &amp; ugali: KES 150", parse_mode="HTML", reply_markup=keyboard
    )

    assert isinstance(sent, Message)
    assert sent.text == "Sukuma wiki & ugali: KES 150"
    assert sent.entities is not None and sent.entities[0].type == "bold" and sent.entities[0].length == 11
    assert sent.from_user is not None and sent.from_user.is_bot
    assert sent.chat.type == "private" and sent.chat.first_name == "Amina"
    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump(exclude_none=True) == keyboard.model_dump(exclude_none=True)
    assert user.last.text == "Sukuma wiki & ugali: KES 150"
    assert user.last.buttons == [[("Add to cart", "add:sku-1")], [("Website", "https://duka.example/shop")]]


async def test_reply_keyboard_shows_until_removed(bot: Bot, user: FakeUser) -> None:
    share = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Share phone", request_contact=True)]])

    sent = await bot.send_message(user.id, "We need your number for M-Pesa", reply_markup=share)
    assert sent.reply_markup is None  # Telegram echoes inline keyboards only
    assert user.keyboard == [["Share phone"]]

    await bot.send_message(user.id, "Thanks", reply_markup=ReplyKeyboardRemove())
    assert user.keyboard is None


@pytest.mark.parametrize(
    ("kwargs", "description"),
    [
        ({"text": " "}, "message text is empty"),
        ({"text": "x" * 4097}, "message is too long"),
        ({"text": "Total: KES 1,500.00", "parse_mode": "MarkdownV2"}, "Character '.' is reserved"),
        ({"text": "<b>unclosed", "parse_mode": "HTML"}, "Can't find end tag"),
        ({"text": "1 < 2 <script>", "parse_mode": "HTML"}, "Unsupported start tag"),
        (
            {
                "text": "Pick one",
                "reply_markup": inline_keyboard([InlineKeyboardButton(text="Too long", callback_data="x" * 65)]),
            },
            "BUTTON_DATA_INVALID",
        ),
    ],
)
async def test_telegram_validation(bot: Bot, user: FakeUser, kwargs: dict[str, Any], description: str) -> None:
    with pytest.raises(TelegramBadRequest, match=description):
        await bot.send_message(chat_id=user.id, **kwargs)

    assert user.messages == []


async def test_markdown_v2_is_parsed_into_plain_text(bot: Bot, user: FakeUser) -> None:
    sent = await bot.send_message(
        user.id, r"*Paid* KES 1,500\.00 [receipt](https://duka.example/r/1)", parse_mode="MarkdownV2"
    )

    assert sent.text == "Paid KES 1,500.00 receipt"
    assert [(entity.type, entity.offset, entity.length) for entity in sent.entities or []] == [
        ("bold", 0, 4),
        ("text_link", 18, 7),
    ]


@pytest.mark.parametrize(
    ("source", "parse_mode", "text", "entities"),
    [
        ("🛒 <i>Cart</i>", "HTML", "🛒 Cart", [("italic", 3, 4)]),  # offsets count UTF-16 code units
        ('<a href="https://duka.example/?a=1&amp;b=2">pay</a>', "HTML", "pay", [("text_link", 0, 3)]),
        ('<pre><code class="language-json">{}</code></pre>', "HTML", "{}", [("pre", 0, 2)]),
        (
            r"__u__ ||s|| ~x~ `a\\b`",  # inside code only ` and \ need escaping
            "MarkdownV2",
            "u s x a\\b",
            [("underline", 0, 1), ("spoiler", 2, 1), ("strikethrough", 4, 1), ("code", 6, 3)],
        ),
        ("*bold* and _it_", "Markdown", "bold and it", [("bold", 0, 4), ("italic", 9, 2)]),
    ],
)
async def test_parse_modes(source: str, parse_mode: str, text: str, entities: list[tuple[str, int, int]]) -> None:
    plain, parsed = parse_formatted(source, parse_mode)

    assert plain == text
    assert [(entity["type"], entity["offset"], entity["length"]) for entity in parsed] == entities


async def test_sending_to_a_chat_that_never_wrote_is_chat_not_found(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(987654321, "hello?")


async def test_group_alerts(bot: Bot, fake: FakeTelegram, token: str) -> None:
    alerts = fake.group(token, -1001234567890, "Duka alerts")

    sent = await bot.send_message(alerts.chat.id, "New order #17: KES 2,300")

    assert sent.chat.type == "supergroup" and sent.chat.title == "Duka alerts"
    assert (await alerts.wait_for("New order")).message_id == sent.message_id


# Files


async def test_photo_upload_can_be_downloaded_and_resent_by_file_id(bot: Bot, user: FakeUser) -> None:
    keyboard = inline_keyboard([InlineKeyboardButton(text="Buy", callback_data="buy:1")])

    first = await bot.send_photo(user.id, BufferedInputFile(PNG, "mango.png"), caption="Mangoes", reply_markup=keyboard)
    assert first.photo is not None
    file_id = first.photo[-1].file_id
    again = await bot.send_photo(user.id, file_id)
    by_url = await bot.send_photo(user.id, "https://cdn.duka.example/mango.jpg")

    assert again.photo is not None and again.photo[-1].file_unique_id == first.photo[-1].file_unique_id
    assert [(size.width, size.height) for size in by_url.photo or []] == [(1280, 960)]
    file = await bot.get_file(file_id)
    assert file.file_path is not None and file.file_size == len(PNG)
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == PNG
    assert [(message.caption, message.photo is not None) for message in user.messages] == [
        ("Mangoes", True),
        (None, True),
        (None, True),
    ]
    assert user.messages[0].buttons == [[("Buy", "buy:1")]]


async def test_document_upload_keeps_name_and_type(bot: Bot, user: FakeUser) -> None:
    sent = await bot.send_document(user.id, BufferedInputFile(b"%PDF-1.7 receipt", "receipt-17.pdf"), caption="Receipt")

    assert sent.document is not None
    assert (sent.document.file_name, sent.document.mime_type) == ("receipt-17.pdf", "application/pdf")
    assert user.last.document is not None and user.last.document.data == b"%PDF-1.7 receipt"
    with pytest.raises(TelegramBadRequest, match="can't use file of type Document as Photo"):
        await bot.send_photo(user.id, sent.document.file_id)


async def test_user_uploads_reach_the_bot_and_big_files_cannot_be_fetched(
    bot: Bot, fake: FakeTelegram, token: str
) -> None:
    customer = fake.user(token, first_name="Baraka")
    await customer.send_photo(PNG, caption="M-Pesa screenshot")
    await customer.send_document(b"%PDF small", "proof.pdf", "application/pdf")
    await customer.send_document(b"%PDF", "huge.pdf", "application/pdf", declared_size=25 * MB)

    photo_update, small_update, huge_update = await bot.get_updates()

    assert photo_update.message is not None and photo_update.message.photo is not None
    assert photo_update.message.caption == "M-Pesa screenshot"
    photo_file = await bot.get_file(photo_update.message.photo[-1].file_id)
    assert photo_file.file_path is not None
    photo = await bot.download_file(photo_file.file_path)
    assert photo is not None and photo.read() == PNG
    assert small_update.message is not None and small_update.message.document is not None
    assert small_update.message.document.file_name == "proof.pdf"
    proof = await bot.download(small_update.message.document)  # getFile, then the file URL
    assert proof is not None and proof.read() == b"%PDF small"
    assert huge_update.message is not None and huge_update.message.document is not None
    assert huge_update.message.document.file_size == 25 * MB
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(huge_update.message.document.file_id)


async def test_stickers_voice_notes_and_contacts_parse(bot: Bot, fake: FakeTelegram, token: str) -> None:
    customer = fake.user(token, first_name="Chebet")
    await customer.send_sticker()
    await customer.send_voice(duration=3)
    await customer.share_contact("+254700000123")

    sticker, voice, contact = [update.message for update in await bot.get_updates()]

    assert sticker is not None and sticker.sticker is not None and sticker.sticker.type == "regular"
    assert voice is not None and voice.voice is not None and voice.voice.duration == 3
    assert contact is not None and contact.contact is not None
    assert (contact.contact.phone_number, contact.contact.user_id) == ("+254700000123", customer.id)


async def test_file_download_of_unknown_path_is_not_found(
    bot: Bot, server: FakeTelegramServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{server.base_url}/file/bot{bot.token}/documents/nope.pdf") as response:
        assert response.status == 404


# Edits


async def test_edits_update_the_current_state(bot: Bot, user: FakeUser) -> None:
    keyboard = inline_keyboard([InlineKeyboardButton(text="Pay", callback_data="pay:17")])
    sent = await bot.send_message(user.id, "Order #17", reply_markup=keyboard)

    edited = await bot.edit_message_text("Order #17 (paid)", chat_id=user.id, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.edit_date is not None
    assert user.last.text == "Order #17 (paid)"
    assert user.last.buttons == []  # an edit without reply_markup drops the keyboard, as in Telegram

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Order #17 (paid)", chat_id=user.id, message_id=sent.message_id)

    await bot.edit_message_reply_markup(chat_id=user.id, message_id=sent.message_id, reply_markup=keyboard)
    assert user.last.buttons == [[("Pay", "pay:17")]]

    with pytest.raises(TelegramBadRequest, match="there is no caption"):
        await bot.edit_message_caption(chat_id=user.id, message_id=sent.message_id, caption="nope")
    assert await bot.delete_message(user.id, sent.message_id) is True
    assert user.messages == []
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("gone", chat_id=user.id, message_id=sent.message_id)


async def test_edit_caption(bot: Bot, user: FakeUser) -> None:
    sent = await bot.send_photo(user.id, BufferedInputFile(PNG, "p.png"), caption="Proof received")

    await bot.edit_message_caption(chat_id=user.id, message_id=sent.message_id, caption="Proof approved")

    assert user.last.caption == "Proof approved"


# Receiving updates


async def test_get_updates_long_polls_and_confirms_with_offset(bot: Bot, user: FakeUser, fake: FakeTelegram) -> None:
    [start] = await bot.get_updates()
    assert start.message is not None and start.message.text == "/start"
    assert start.message.entities is not None and start.message.entities[0].type == "bot_command"

    poll = asyncio.create_task(bot.get_updates(offset=start.update_id + 1, timeout=5))
    await long_poll_waiting(fake.bot(bot.token))
    await user.send_text("Do you deliver to Kisumu?")
    [question] = await poll  # answered by the update: a poll that ran out would answer []

    assert question.message is not None and question.message.text == "Do you deliver to Kisumu?"
    assert await bot.get_updates(offset=question.update_id + 1) == []


async def test_get_updates_returns_empty_after_timeout(bot: Bot) -> None:
    started = time.monotonic()

    assert await bot.get_updates(timeout=1) == []
    assert 0.9 < time.monotonic() - started < 2


async def test_polling_conflicts_with_webhooks(bot: Bot, fake: FakeTelegram) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await long_poll_waiting(fake.bot(bot.token))

    await bot.set_webhook("http://127.0.0.1:9/never-called")
    with pytest.raises(TelegramConflictError, match="terminated by setWebhook request"):
        await poll
    with pytest.raises(TelegramConflictError, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()


async def test_newer_get_updates_terminates_the_older(bot: Bot, fake: FakeTelegram) -> None:
    older = asyncio.create_task(bot.get_updates(timeout=5))
    await long_poll_waiting(fake.bot(bot.token))

    newer = asyncio.create_task(bot.get_updates(timeout=0))

    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await older
    assert await newer == []


async def test_webhook_delivery_with_secret_and_retries(bot: Bot, fake: FakeTelegram, token: str) -> None:
    receiver = Receiver(failures=1)
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner, base = await start_site(app)
    try:
        customer = fake.user(token, first_name="Daudi")
        assert await bot.set_webhook(f"{base}/hook", secret_token="tenant-7_secret") is True
        await customer.send_text("hello webhook")
        await fake.wait_delivered(token)
        info = await bot.get_webhook_info()
    finally:
        await bot.delete_webhook()
        await runner.cleanup()

    [delivery] = fake.bot(token).deliveries
    assert delivery.statuses == [500, 200] and delivery.delivered
    assert [headers.get(SECRET_HEADER) for headers, _ in receiver.requests] == ["tenant-7_secret"] * 2
    assert receiver.requests[-1][1]["message"]["text"] == "hello webhook"
    assert info.url == f"{base}/hook" and info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"


async def test_webhook_gives_up_and_keeps_order(bot: Bot, fake: FakeTelegram, token: str) -> None:
    receiver = Receiver(failures=3)  # the whole first update (3 attempts) fails
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner, base = await start_site(app)
    try:
        customer = fake.user(token, first_name="Eshe")
        await bot.set_webhook(f"{base}/hook")
        await customer.send_text("first")
        await customer.send_text("second")
        await fake.wait_delivered(token)
    finally:
        await bot.delete_webhook()
        await runner.cleanup()

    assert [(d.update["message"]["text"], d.statuses) for d in fake.bot(token).deliveries] == [
        ("first", [500, 500, 500]),
        ("second", [200]),
    ]
    assert SECRET_HEADER not in receiver.requests[0][0]  # no secret was set


# Acting as a user against a real aiogram Dispatcher


def shop_dispatcher() -> Dispatcher:
    dispatcher = Dispatcher()

    @dispatcher.message(CommandStart())
    async def start(message: Message) -> None:
        keyboard = inline_keyboard(
            [InlineKeyboardButton(text="Add to cart", callback_data="add:mango")],
            [InlineKeyboardButton(text="Open website", url="https://duka.example")],
        )
        await message.answer("Karibu! Mangoes: KES 50", reply_markup=keyboard)

    @dispatcher.callback_query(F.data.startswith("add:"))
    async def add(query: CallbackQuery) -> None:
        await query.answer("Added")
        if isinstance(query.message, Message):
            await query.message.edit_text("Cart: 1 x mango")

    @dispatcher.message(F.text == "ping")
    async def ping(message: Message) -> TelegramMethod[Any]:
        return message.answer("pong")  # returned, not awaited: aiogram replies inside the webhook answer

    return dispatcher


async def test_user_presses_buttons_of_a_polling_bot(bot: Bot, fake: FakeTelegram, token: str) -> None:
    dispatcher = shop_dispatcher()
    polling = asyncio.create_task(
        dispatcher.start_polling(bot, polling_timeout=1, handle_signals=False, close_bot_session=False)
    )
    try:
        customer = fake.user(token, first_name="Fatuma")
        await customer.send_command("/start")
        welcome = await customer.wait_for("Karibu")
        assert welcome.buttons[0] == [("Add to cart", "add:mango")]

        with pytest.raises(ValueError, match="url button"):
            await customer.press("Open website")
        press = await customer.press("Add to cart")
        answer = await customer.wait_for_answer(press)
        cart = await customer.wait_for(lambda message: message.text == "Cart: 1 x mango")
    finally:
        await dispatcher.stop_polling()
        await polling

    assert answer.text == "Added" and answer.data == "add:mango"
    assert cart.message_id == welcome.message_id and cart.buttons == []
    with pytest.raises(LookupError, match="no inline button"):
        await customer.press("Add to cart")  # the edit removed the keyboard


async def test_user_talks_to_a_webhook_bot(bot: Bot, fake: FakeTelegram, token: str) -> None:
    dispatcher = shop_dispatcher()
    app = web.Application()
    handler = SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token="s3cret")
    app.router.add_post("/tg/{tenant}", handler.handle)  # registered by hand: the handler would close our session
    runner, base = await start_site(app)
    try:
        await bot.set_webhook(f"{base}/tg/7", secret_token="s3cret")
        customer = fake.user(token, first_name="Gathoni")
        await customer.send_command("/start")
        assert "Karibu" in (await customer.wait_for("Karibu")).content
        await customer.send_text("ping")
        pong = await customer.wait_for("pong")
    finally:
        await bot.delete_webhook()
        await runner.cleanup()

    assert pong.text == "pong"
    assert fake.calls_for(token)["sendMessage"] == 2
    assert all(delivery.statuses == [200] for delivery in fake.bot(token).deliveries)


async def test_forged_callback_and_wait_for_timeout(fake: FakeTelegram, token: str, bot: Bot, user: FakeUser) -> None:
    sent = await bot.send_message(
        user.id,
        "Order #9",
        reply_markup=inline_keyboard([InlineKeyboardButton(text="Cancel", callback_data="cancel:9")]),
    )
    message = user.messages[-1]

    press = await user.press(message=message, callback_data="refund:9")  # no such button: a tampered callback
    updates = await bot.get_updates()

    assert updates[-1].callback_query is not None and updates[-1].callback_query.data == "refund:9"
    assert press.message_id == sent.message_id
    with pytest.raises(TimeoutError, match="no bot message matching 'never'"):
        await user.wait_for("never", timeout=0.05)


async def test_callback_queries_are_answered_once(bot: Bot, user: FakeUser) -> None:
    await bot.send_message(
        user.id, "Confirm order?", reply_markup=inline_keyboard([InlineKeyboardButton(text="Yes", callback_data="yes")])
    )
    press = await user.press("Yes")
    query = (await bot.get_updates())[-1].callback_query
    assert query is not None and query.id == press.query_id and query.message is not None

    assert await bot.answer_callback_query(query.id, text="Confirmed", show_alert=True) is True
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)
    assert [(answer.text, answer.show_alert) for answer in user.callback_answers] == [("Confirmed", True)]


async def test_inline_queries_take_one_answer_within_telegram_s_limits(bot: Bot, user: FakeUser) -> None:
    def article(result_id: str) -> InlineQueryResultArticle:
        text = InputTextMessageContent(message_text=f"Product {result_id}")
        return InlineQueryResultArticle(id=result_id, title=f"Product {result_id}", input_message_content=text)

    asking = asyncio.ensure_future(user.ask_inline("sukuma"))
    query = (await bot.get_updates(timeout=1))[-1].inline_query
    assert query is not None and (query.query, query.offset, query.from_user.id) == ("sukuma", "", user.id)

    for results, offset, refusal in [
        ([article(str(n)) for n in range(51)], "", "RESULTS_TOO_MUCH"),
        ([article("1"), article("1")], "", "RESULT_ID_DUPLICATE"),
        ([article("1")], "9" * 65, "NEXT_OFFSET_INVALID"),
    ]:
        with pytest.raises(TelegramBadRequest, match=refusal):
            await bot.answer_inline_query(query.id, results, next_offset=offset)
    assert await bot.answer_inline_query(query.id, [article("1")], next_offset="20", is_personal=True) is True
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_inline_query(query.id, [])
    asked = await asking
    assert ([r.title for r in asked.results], asked.next_offset, asked.is_personal) == (["Product 1"], "20", True)


# Scripted failures


async def test_scripted_429_surfaces_as_retry_after(bot: Bot, fake: FakeTelegram, token: str, user: FakeUser) -> None:
    fake.fail_next("sendMessage", 429, retry_after=7, token=token)

    with pytest.raises(TelegramRetryAfter) as raised:
        await bot.send_message(user.id, "Your order shipped")
    await bot.send_message(user.id, "Your order shipped")

    assert raised.value.retry_after == 7
    assert fake.calls_for(token)["sendMessage"] == 2
    assert [message.text for message in user.messages] == ["Your order shipped"]


async def test_scripted_failures_target_a_chat(bot: Bot, fake: FakeTelegram, token: str, user: FakeUser) -> None:
    alerts = fake.group(token, -4001, "Alerts")
    fake.fail_next("sendMessage", 500, chat_id=user.id, times=2, token=token)

    await bot.send_message(alerts.chat.id, "unaffected")
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(user.id, "flaky")
    await bot.send_message(user.id, "finally")

    assert [message.text for message in user.messages] == ["finally"]


async def test_blocked_user_answers_403_until_unblocked(
    bot: Bot, fake: FakeTelegram, token: str, user: FakeUser
) -> None:
    fake.block(user)

    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(user.id, "Your order shipped")
    with pytest.raises(RuntimeError, match="blocked the bot"):
        await user.send_text("hello")
    fake.unblock(user)
    await bot.send_message(user.id, "Your order shipped")

    member_updates = [update.my_chat_member for update in await bot.get_updates() if update.my_chat_member]
    assert [update.new_chat_member.status for update in member_updates] == ["kicked", "member"]


async def test_chat_actions_are_recorded(bot: Bot, user: FakeUser) -> None:
    assert await bot.send_chat_action(user.id, "upload_document") is True

    assert [action.action for action in user.chat_actions] == ["upload_document"]


# Raw HTTP: the request encodings Telegram accepts


async def test_request_encodings(
    server: FakeTelegramServer, token: str, user: FakeUser, http: aiohttp.ClientSession
) -> None:
    url = f"{server.base_url}/bot{token}"
    keyboard = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}

    async with http.get(f"{url}/getMe") as response:
        assert (await response.json())["result"]["username"] == "duka_test_bot"
    async with http.post(f"{url}/sendMessage", json={"chat_id": user.id, "text": "json", "reply_markup": keyboard}):
        pass
    form = {"chat_id": str(user.id), "text": "form", "reply_markup": json.dumps(keyboard)}
    async with http.post(f"{url}/sendMessage", data=form):
        pass
    async with http.get(f"{url}/sendMessage", params={"chat_id": str(user.id), "text": "query"}) as response:
        body = await response.json()

    assert body["ok"] is True and body["result"]["text"] == "query"
    assert [(message.text, message.buttons) for message in user.messages] == [
        ("json", [[("OK", "ok")]]),
        ("form", [[("OK", "ok")]]),
        ("query", []),
    ]
    async with http.post(f"{url}/sendMessage", json={"chat_id": user.id}) as response:
        assert response.status == 400
        assert await response.json() == {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: message text is empty",
        }


async def test_retry_after_envelope(
    server: FakeTelegramServer, fake: FakeTelegram, token: str, http: aiohttp.ClientSession
) -> None:
    fake.fail_next("getMe", 429, retry_after=3, token=token)

    async with http.post(f"{server.base_url}/bot{token}/getMe") as response:
        assert response.status == 429
        assert await response.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 3",
            "parameters": {"retry_after": 3},
        }


async def test_in_process_with_aiohttp_test_utilities() -> None:
    fake = FakeTelegram()
    fake.add_bot("77:in-process", "inproc_bot")
    async with TestClient(TestServer(create_app(fake))) as client:
        response = await client.post("/bot77:in-process/sendMessage", json={"chat_id": 1, "text": "hi"})
        assert (await response.json())["description"] == "Bad Request: chat not found"
        response = await client.post("/bot77:in-process/getMe")
        assert (await response.json())["result"]["id"] == 77
    assert fake.calls == {"sendMessage": 1, "getMe": 1}


async def test_shutdown_releases_a_waiting_long_poll(http: aiohttp.ClientSession) -> None:
    fake = FakeTelegram()
    fake.add_bot("88:shutdown", "shutdown_bot")
    server = FakeTelegramServer(fake)
    await server.start()
    poll = asyncio.create_task(http.post(f"{server.base_url}/bot88:shutdown/getUpdates", json={"timeout": 30}))
    ticket = await long_poll_waiting(fake.bot("88:shutdown"))

    await server.stop()
    response = await poll

    assert await response.json() == {"ok": True, "result": []}
    assert ticket.released  # let go by the shutdown, not by its 30 s running out
