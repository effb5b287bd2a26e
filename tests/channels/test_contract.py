"""The channel contract (bot/channel.py), run over every line of the registry (bot/channels.py) against the fake
Telegram: receiving (webhook bodies, long polling, taking over from a webhook), replying (a press answered, a menu sent
and edited in place, a photo), downloads, the bot's identity, and how refusals surface. The notifier's rendering and
error mapping are run over every channel by tests/integration/test_notifier.py, the replier by test_reply_json.py and
test_reply_pacing.py; whole journeys by the suites marked ``every_channel``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import channels
from bot.channel import BotIdentity, Channel, ChannelRefused, PollConflict, TokenRefused
from core import callbacks
from core.channel_limits import TELEGRAM
from core.inline import InlineAnswer, InlineQuery, InlineResult, OpenInBot
from core.messages import Button, Message, keyboard
from core.notify import PermanentError, RetryAfter, TransientError, Undeliverable
from flows.context import MAX_PROOF_BYTES
from flows.inbound import Inbound, Kind, Upload, UploadKind
from sandbox.telegram import FakeTelegramServer
from tests.support.channels import channel_at, serving

TENANT = 1
TOKEN = "7300001:AAH-channel-contract-token-abcdefghij"
NAMES = sorted(channels.ENTRIES)


@pytest.fixture(params=NAMES)
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(host="127.0.0.1", port=0) as server:
        server.fake.add_bot(TOKEN, "duka_contract_bot", "Duka")
        yield server


@pytest.fixture
async def channel(telegram: FakeTelegramServer, name: str) -> AsyncIterator[Channel]:
    async with serving(name, telegram.base_url, token=TOKEN, tenant_id=TENANT) as built:
        yield built


# ------------------------------------------------------------------------------------------------- the registry


def test_every_folder_is_one_registry_line_and_each_line_its_folder() -> None:
    bot_dir = Path(channels.__file__).parent
    folders = sorted(
        path.parent.name for path in bot_dir.glob("*/__init__.py") if "ENTRY = " in path.read_text(encoding="utf-8")
    )
    assert folders == NAMES == ["aiogram", "ptb"]
    for entry_name, entry in channels.ENTRIES.items():
        assert entry.name == entry_name
        assert entry.load.__module__ == f"bot.{entry_name}"


def test_an_unknown_channel_is_refused_by_name() -> None:
    with pytest.raises(channels.UnknownChannel, match="no chat channel 'whatsapp'; choose one of aiogram, ptb"):
        channel_at("whatsapp", "http://127.0.0.1:9")


def test_the_limits_hold_what_the_flows_make(name: str) -> None:
    limits = channels.ENTRIES[name].info.limits
    assert limits.callback_data_bytes >= callbacks.MAX_BYTES  # every button kind packs within it
    assert limits.download_bytes >= MAX_PROOF_BYTES  # a proof the flows accept can be fetched
    assert limits.caption >= 1024  # a product's description (admin/shops/catalog.py) with its name and price
    if channels.ENTRIES[name].info.network == "telegram":
        assert limits == TELEGRAM  # one network, one set of limits, whichever library


# ------------------------------------------------------------------------------------------------- receiving


async def test_a_webhook_body_is_read_into_the_flows_input(telegram: FakeTelegramServer, channel: Channel) -> None:
    user = telegram.fake.user(TOKEN, 5001, "Amina")
    update = await user.send_command("/start", "ref42")
    photo = await user.send_photo(b"\xff\xd8proof", caption="M-Pesa QK12")

    command = channel.parse(json.dumps(update).encode())
    upload = channel.parse(json.dumps(photo).encode())

    assert command is not None and command.update_id == update["update_id"] and command.incoming is not None
    assert (command.incoming.actor.chat_id, command.incoming.actor.display_name) == (5001, "Amina")
    assert (command.incoming.inbound.command, command.incoming.inbound.text) == ("start", "ref42")
    largest = photo["message"]["photo"][-1]
    assert upload is not None and upload.update_id == photo["update_id"] and upload.incoming is not None
    assert upload.incoming.inbound == Inbound(
        Kind.UPLOAD,
        text="M-Pesa QK12",
        upload=Upload(
            UploadKind.PHOTO, largest["file_id"], largest["file_unique_id"], largest.get("file_size"), "image/jpeg"
        ),
    )


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"update_id": "many"}', b'{"update_id": true}', b'{"update_id": 1e999}'],
    ids=["not-json", "a-list", "id-a-string", "id-a-bool", "infinity"],
)
def test_a_body_telegram_could_not_have_sent_is_refused(channel: Channel, body: bytes) -> None:
    assert channel.parse(body) is None


def test_an_inline_query_is_read_as_the_askers_words_and_page(channel: Channel) -> None:
    asked = {
        "update_id": 71,
        "inline_query": {
            "id": "4410001",
            "from": {"id": 5010, "is_bot": False, "first_name": "Neema", "language_code": "sw"},
            "query": "sukuma " + "x" * 400,  # longer than any app sends: cut to Telegram's 256
            "offset": "20" + "9" * 100,
            "chat_type": "private",
        },
    }
    received = channel.parse(json.dumps(asked).encode())
    assert received is not None and received.update_id == 71 and received.incoming is not None
    assert (received.incoming.actor.tg_user_id, received.incoming.actor.chat_id) == (5010, 5010)
    assert received.incoming.actor.language == "sw"
    assert received.incoming.inbound == Inbound.inline_query(
        InlineQuery("4410001", ("sukuma " + "x" * 400)[:256], ("20" + "9" * 100)[:64])
    )
    assert received.incoming.callback_query_id is None  # nothing for the replier to answer as a press


def test_an_update_of_a_kind_not_acted_on_is_read_as_nothing_to_do(channel: Channel) -> None:
    edited = {
        "update_id": 70,
        "edited_message": {"message_id": 3, "date": 1, "chat": {"id": 5, "type": "private"}, "text": "typo"},
    }
    received = channel.parse(json.dumps(edited).encode())
    assert received is not None and (received.update_id, received.incoming) == (70, None)


async def test_polling_takes_over_from_a_webhook_and_reads_each_update_once(
    telegram: FakeTelegramServer, channel: Channel
) -> None:
    account = telegram.fake.bot(TOKEN)
    await channel.set_webhook(TENANT, "https://shop.example/tg/duka", "s3cret")
    assert account.webhook is not None and account.webhook.secret_token == "s3cret"
    kinds = ["message", "callback_query", "pre_checkout_query", "inline_query"]
    assert account.webhook.allowed_updates == kinds
    await channel.take_over_polling(TENANT)
    assert account.webhook is None
    user = telegram.fake.user(TOKEN, 5002, "Baraka")
    await user.send_text("rice")
    await user.send_text("sugar")

    first = await channel.poll(TENANT, None, 0)
    again = await channel.poll(TENANT, first[-1].update_id + 1, 0)

    assert [r.incoming.inbound.text for r in first if r.incoming is not None] == ["rice", "sugar"]
    assert again == []
    assert account.polled_kinds == kinds  # Telegram keeps the last list given: polling asks for every kind read


async def test_polling_failures_are_the_contract_s(telegram: FakeTelegramServer, channel: Channel) -> None:
    telegram.fake.fail_next("getUpdates", 409, "Conflict: terminated by other getUpdates request")
    with pytest.raises(PollConflict):
        await channel.poll(TENANT, None, 0)
    telegram.fake.fail_next("getUpdates", 429, retry_after=4)
    with pytest.raises(RetryAfter) as waited:
        await channel.poll(TENANT, None, 0)
    assert waited.value.seconds == 4
    telegram.fake.fail_next("getUpdates", 502)
    with pytest.raises(TransientError):
        await channel.poll(TENANT, None, 0)
    telegram.fake.revoke(TOKEN)
    with pytest.raises(TokenRefused):
        await channel.poll(TENANT, None, 0)


async def test_a_refused_webhook_and_identity_say_why_without_the_token(
    telegram: FakeTelegramServer, channel: Channel
) -> None:
    assert await channel.identity(TENANT) == BotIdentity("duka_contract_bot", inline=False)
    telegram.fake.bot(TOKEN).inline_mode = True  # BotFather's /setinline
    assert await channel.identity(TENANT) == BotIdentity("duka_contract_bot", inline=True)
    telegram.fake.fail_next("setWebhook", 400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
    with pytest.raises(ChannelRefused, match=r"(?i)bad webhook: https url must be provided") as refused:
        await channel.set_webhook(TENANT, "http://shop.example/tg/duka", "s3cret")
    assert TOKEN not in refused.value.reason
    telegram.fake.revoke(TOKEN)
    with pytest.raises(ChannelRefused) as unauthorized:
        await channel.identity(TENANT)
    assert TOKEN not in unauthorized.value.reason and "AAH-channel" not in unauthorized.value.reason


# ------------------------------------------------------------------------------------------------- replying


async def test_a_press_is_answered_and_its_menu_edited_in_place(telegram: FakeTelegramServer, channel: Channel) -> None:
    user = telegram.fake.user(TOKEN, 5003, "Wanjiru")
    await user.send_command("/start")
    await channel.reply(TENANT, user.id, Message("Shop", keyboard([Button("Groceries", data="cat:0:0")])), None)
    press = await user.press("Groceries")

    await channel.answer_press(TENANT, press.query_id, "Groceries")
    await channel.reply(
        TENANT, user.id, Message("Groceries (page 1 of 1)", keyboard([Button("Back", data="shop")])), press.message_id
    )

    assert [(a.data, a.text) for a in user.callback_answers] == [("cat:0:0", "Groceries")]
    [shown] = user.messages
    assert (shown.message_id, shown.text, shown.buttons) == (
        press.message_id,
        "Groceries (page 1 of 1)",
        [[("Back", "shop")]],
    )


async def test_an_inline_query_is_answered_with_its_page_and_next_offset(
    telegram: FakeTelegramServer, channel: Channel
) -> None:
    user = telegram.fake.user(TOKEN, 5007, "Neema")
    link = OpenInBot("🛒 Open in Duka", "p_12")  # the channel makes the link: it knows its bot's name
    results = (
        InlineResult("12", "Sukuma wiki", "KES 30 · Groceries", "Sukuma wiki · KES 30\nAt Duka", link),
        InlineResult("13", "Sukari 1kg", "KES 190 · Groceries", "Sukari 1kg · KES 190\nAt Duka"),
    )
    pending = asyncio.ensure_future(user.ask_inline("su"))
    query_id = await _inline_query_id(telegram)

    await channel.answer_inline_query(TENANT, InlineAnswer(query_id, results, "20", cache_seconds=30))
    asked = await pending

    assert [(r.id, r.title, r.description, r.text) for r in asked.results] == [
        ("12", "Sukuma wiki", "KES 30 · Groceries", "Sukuma wiki · KES 30\nAt Duka"),
        ("13", "Sukari 1kg", "KES 190 · Groceries", "Sukari 1kg · KES 190\nAt Duka"),
    ]
    assert [[(b.text, b.url) for b in row] for row in asked.results[0].buttons] == [
        [("🛒 Open in Duka", "https://t.me/duka_contract_bot?start=p_12")]
    ]
    assert asked.results[1].buttons == ()
    assert (asked.next_offset, asked.cache_time, asked.is_personal) == ("20", 30, True)
    with pytest.raises(PermanentError):  # one answer per query, as Telegram: a second is refused
        await channel.answer_inline_query(TENANT, InlineAnswer(query_id, ()))


async def _inline_query_id(telegram: FakeTelegramServer) -> str:
    account = telegram.fake.bot(TOKEN)
    return await account.changed.wait_until(lambda: next(iter(account.inline_queries), None))


async def test_a_photo_reply_goes_out_as_a_new_message_with_its_caption(
    telegram: FakeTelegramServer, channel: Channel
) -> None:
    user = telegram.fake.user(TOKEN, 5004, "Juma")
    await user.send_command("/start")

    await channel.reply(TENANT, user.id, Message("Rice · KES 420", photo="https://cdn.duka.example/rice.jpg"), None)

    assert user.last.photo is not None and user.last.photo.source_url == "https://cdn.duka.example/rice.jpg"
    assert user.last.caption == "Rice · KES 420"


async def test_a_reply_to_a_blocked_chat_is_undeliverable(telegram: FakeTelegramServer, channel: Channel) -> None:
    user = telegram.fake.user(TOKEN, 5005, "Otieno")
    await user.send_command("/start")
    telegram.fake.block(user)
    with pytest.raises(Undeliverable):
        await channel.reply(TENANT, user.id, Message("Karibu"), None)


async def test_an_upload_is_downloaded_byte_for_byte(telegram: FakeTelegramServer, channel: Channel) -> None:
    user = telegram.fake.user(TOKEN, 5006, "Akinyi")
    sent = await user.send_document(b"%PDF-1.4 proof of payment", "proof.pdf", "application/pdf")

    content = await channel.download(TENANT, sent["message"]["document"]["file_id"])

    assert content == b"%PDF-1.4 proof of payment"
