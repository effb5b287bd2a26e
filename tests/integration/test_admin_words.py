"""What the merchant reads on /admin, /testmode, /pending and the proof messages, through the real server and the fake
Telegram: no "(s)" plurals, a test mode that says where the shop is and what the button does, a live shop told when
a provider still takes no real money, and one decision on a proof confirmed once and shown on every copy of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.clock import utc
from core.db.engine import Database
from core.db.tables import AuditEntry, Order, Payment, Proof
from core.vault import Vault
from tests.support.app import FUNDI_CATALOG, ShopServer, place_order, send_proof, shop_server

TURN_ON = (
    "Turn test mode on? Payments then go to the providers' sandboxes with test credentials, customers see a TEST "
    "MODE banner, and new orders are test orders, left out of sales."
)
TURNED_ON = (
    "✅ Test mode is on: the shop is now in 🧪 TEST MODE. Customers see a TEST MODE banner; no real money moves."
)
TURNED_OFF = "✅ Test mode is off: the shop is now 🟢 LIVE and payments are real."
PAYSTACK_TEST_KEY = (
    "⚠️ LIVE, but Paystack uses a test key (sk_test_…): customers see TEST MODE on Paystack and pay nothing real. "
    "The live key (sk_live_…) is set with `dukabot provider set`."
)
MPESA_SANDBOX = (
    "⚠️ LIVE, but M-Pesa uses Safaricom's sandbox: customers pay nothing real by M-Pesa. "
    "The live Paybill and keys are set with `dukabot provider set`."
)
MPESA_SECRETS = {"consumer_key": "ck", "consumer_secret": "cs", "passkey": "pk"}


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


async def decided(database: Database, code: str, form: str) -> str:
    """When the newest proof of the order was decided, as read in Nairobi (the shop's zone), labelled."""
    async with database.uow() as uow:
        at = await uow.session.scalar(
            select(Proof.decided_at)
            .join(Payment, Payment.id == Proof.payment_id)
            .join(Order, Order.id == Payment.order_id)
            .where(Order.code == code)
            .order_by(Proof.id.desc())
            .limit(1)
        )
    assert at is not None
    return f"{utc(at).astimezone(ZoneInfo('Africa/Nairobi')):{form}} EAT"


def menu(mode: str, *warnings: str, proofs: int = 0) -> str:
    counts = [f"🧾 Proofs to review: {proofs}", "📦 Orders to ship: 0", "⚠️ Orders that need review: 0"]
    return "\n".join([f"🏪 Mama Mboga Store – {mode}", *warnings, *counts])


async def test_testmode_says_where_the_shop_is_and_what_the_button_does(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    await server.start()
    mama = server.person(shop, 9001, "Mama")

    asked = await mama.send("/testmode on")
    assert asked.text == f"Right now the shop is 🟢 LIVE.\n{TURN_ON}"
    question = asked.last
    assert [[text for text, _ in row] for row in question.buttons] == [["🧪 Yes, turn test mode on"], ["◀ Menu"]]

    # The question becomes the outcome: one plain confirmation, no toast on top, no button left to press.
    done = await mama.tap("🧪 Yes, turn test mode on", message=question)
    assert done.notice is None and done.text == TURNED_ON
    assert question.content == TURNED_ON and question.buttons == []
    assert (await mama.send("/admin")).text.startswith("🏪 Mama Mboga Store – 🧪 TEST MODE\n🧾 Proofs to review: 0")

    # The same button pressed again (a copy of the question, a double tap) changes nothing and says so.
    again = await mama.tap(message=question, data="tm.1:1")  # the press the question's button made
    already_on = "The shop is already in 🧪 TEST MODE; nothing changed. /testmode off makes it live."
    assert again.notice is None and again.text == already_on
    assert (await mama.send("/testmode on")).text == already_on

    off = await mama.send("/testmode")  # no argument: the other mode
    assert off.text == (
        "Right now the shop is in 🧪 TEST MODE: no real money moves.\n"
        "Turn test mode off? Payments then move real money again."
    )
    assert (await mama.tap("🟢 Yes, go live")).text == TURNED_OFF
    assert (await mama.send("/testmode off")).text == (
        "The shop is already 🟢 LIVE; nothing changed. /testmode on switches to test mode."
    )
    async with database.uow() as uow:
        actions = list(
            await uow.session.scalars(
                select(AuditEntry.action).where(AuditEntry.action.like("testmode%")).order_by(AuditEntry.id)
            )
        )
    assert actions == ["testmode.on", "testmode.off"]


async def test_a_live_shop_is_told_which_provider_takes_no_real_money(server: ShopServer) -> None:
    sandboxed = await server.add_shop(
        providers={
            "paystack": ({"secret_key": "sk_test_" + "1" * 40}, {"base_url": "http://127.0.0.1:9"}),
            "mpesa": (MPESA_SECRETS, {"shortcode": "174379", "base_url": "http://127.0.0.1:9"}),
        }
    )
    real = await server.add_shop(
        "fundi",
        "Fundi Electronics",
        admins=(9002,),
        catalog=FUNDI_CATALOG,
        providers={
            "paystack": ({"secret_key": "sk_live_" + "2" * 40}, {}),
            "mpesa": (MPESA_SECRETS, {"shortcode": "600111"}),
        },
    )
    await server.start()
    mama, fundi = server.person(sandboxed, 9001, "Mama"), server.person(real, 9002, "Fundi")

    assert (await mama.send("/admin")).text == menu("🟢 LIVE", PAYSTACK_TEST_KEY, MPESA_SANDBOX)
    assert (await fundi.send("/admin")).text == (
        "🏪 Fundi Electronics – 🟢 LIVE\n🧾 Proofs to review: 0\n📦 Orders to ship: 0\n⚠️ Orders that need review: 0"
    )
    assert (await mama.send("/testmode on")).text == "\n".join(
        ["Right now the shop is 🟢 LIVE.", PAYSTACK_TEST_KEY, MPESA_SANDBOX, TURN_ON]
    )
    # In test mode every provider is meant to be a sandbox: nothing to warn about.
    assert (await mama.tap("🧪 Yes, turn test mode on")).text == TURNED_ON
    assert (await mama.send("/admin")).text == menu("🧪 TEST MODE")
    # Going live again says at once that it is not live everywhere.
    await mama.send("/testmode off")
    assert (await mama.tap("🟢 Yes, go live")).text == "\n".join([TURNED_OFF, PAYSTACK_TEST_KEY, MPESA_SANDBOX])
    assert (await mama.send("/testmode off")).text == "\n".join(
        [
            "The shop is already 🟢 LIVE; nothing changed. /testmode on switches to test mode.",
            PAYSTACK_TEST_KEY,
            MPESA_SANDBOX,
        ]
    )


async def test_one_approval_is_confirmed_once_and_shown_on_every_copy_of_the_proof(
    server: ShopServer, database: Database
) -> None:
    shop = await server.add_shop(admins=(9001, 9002))
    await server.start()
    mama, baba = server.person(shop, 9001, "Mama"), server.person(shop, 9002, "Baba")
    for admin in (mama, baba):
        await admin.send("/start")
    customer = server.person(shop, 7001, "Amina")
    code = await place_order(customer, name="Amina Hassan")
    await send_proof(customer, "AMN1111111")
    await server.settle()

    posted = [admin.find(f"Proof of payment for order {code}") for admin in (mama, baba)]
    captions = [message.content for message in posted]
    assert (await mama.send("/admin")).text == menu("🟢 LIVE", proofs=1)
    pending = await mama.send_settled("/pending")
    assert pending.messages[0].content == "🧾 Proofs waiting for review: 1"
    listed = pending.last  # a copy of the proof with buttons of its own
    assert [[text for text, _ in row] for row in listed.buttons] == [["✅ Approve", "❌ Reject"]]
    listed_buttons, listed_caption = dict(listed.buttons[0]), listed.content
    chats = [len(admin.messages) for admin in (mama, baba)]

    pressed = await mama.tap("✅ Approve", message=posted[0])
    assert pressed.notice == f"✅ Approved. Order {code} is paid and the customer has been sent a receipt."
    assert pressed.messages == []
    await server.settle()
    # Nothing new in either admin's chat (no reply, no "order paid" alert): the proof, where it was posted, now says
    # who approved it and when, and offers nothing to press.
    assert [len(admin.messages) for admin in (mama, baba)] == chats
    day = await decided(database, code, "%d %b %H:%M")
    for message, caption in zip(posted, captions, strict=True):
        assert message.content == f"{caption}\n\n✅ Approved by Mama, {day}." and message.buttons == []
        assert message.photo is not None
    # The copy /pending listed is edited the same way: a list left in the chat offers no decided proof's buttons.
    assert listed.content == f"{listed_caption}\n\n✅ Approved by Mama, {day}." and listed.buttons == []
    assert customer.count("Payment received") == 1

    # A button pressed before its edit arrived (a press that crossed the edit) says who decided, and changes nothing;
    # a stale Reject asks for no reason.
    before = await server.snapshot()
    already = f"Already approved by Mama at {await decided(database, code, '%H:%M')} (order {code})."
    stale = await mama.tap(message=listed, data=listed_buttons["✅ Approve"])
    assert stale.notice == already and stale.messages == []
    reject = listed_buttons["❌ Reject"]
    assert reject is not None
    late = await baba.tap(message=posted[1], data=reject)
    assert late.notice == already and late.messages == []
    assert (await baba.send(f"/reject {code} wrong till")).text == already
    await server.settle()
    assert await server.snapshot() == before
    assert [len(admin.messages) for admin in (mama, baba)] == [chats[0], chats[1] + 1]  # only the /reject answer
    assert (await mama.send("/pending")).text == "No proofs are waiting for review. 🎉"


async def test_a_rejection_is_shown_on_the_proof_in_the_alert_group(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    await server.start()
    mama = server.person(shop, 9001, "Mama")
    await mama.send("/start")
    group = server.fake.group(shop.token, -100200300, "Mama Mboga staff")
    await mama.send("/alerts -100200300")
    customer = server.person(shop, 7002, "Baraka")
    code = await place_order(customer, name="Baraka Otieno")
    await send_proof(customer, "BRK1111111")
    await server.settle()
    posted = next(message for message in group.messages if f"Proof of payment for order {code}" in message.content)
    caption = posted.content

    answer = await mama.send(f"/reject {code} the till number is not ours")
    assert answer.text == f"❌ Rejected. The customer was told why and can upload a new proof for order {code}."
    await server.settle()
    day = await decided(database, code, "%d %b %H:%M")
    assert posted.content == f"{caption}\n\n❌ Rejected by Mama, {day}: the till number is not ours"
    assert posted.buttons == []
    assert mama.count(f"Proof of payment for order {code}") == 0  # it went to the group only, and stays there
    assert customer.count("could not accept your proof") == 1
