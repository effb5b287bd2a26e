"""Broadcasts through the real server and the fake Bot API, on both databases: the merchant composes one in the chat
(a photo, a product button, the audience), sees the preview and the count, sends it once however often Send is
pressed, and watches one progress message edited in place. Each consenting customer gets it once; one who sent
/stop (before, or in the middle of the broadcast) gets nothing; a chat that blocked the bot is marked and skipped next
time; a customer's /broadcast is refused and changes nothing. And a broadcast to many customers never holds back a
receipt, nor breaks Telegram's limits, counted at the fake's end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.buttons import BroadcastAction
from core.clock import SystemClock, utc
from core.db.engine import Database
from core.db.tables import Broadcast, BroadcastRecipient, Customer
from core.vault import Vault
from tests.support.app import Person, ShopServer, eventually, place_order, send_proof, shop_server
from tests.support.flood import regulars, shorter_second

PROGRESS = "📣 Broadcast #"


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


async def broadcasts(database: Database) -> list[Broadcast]:
    async with database.uow() as uow:
        return list(await uow.session.scalars(select(Broadcast).order_by(Broadcast.id)))


async def done(server: ShopServer, database: Database, broadcast_id: int) -> Broadcast:
    """The broadcast once the feeder finished it and the relay delivered every message owed."""

    async def finished() -> bool:
        async with database.uow() as uow:
            return await uow.session.scalar(select(Broadcast.status).where(Broadcast.id == broadcast_id)) == "done"

    await eventually(finished, f"broadcast {broadcast_id} to finish")
    await server.settle()
    found = [b for b in await broadcasts(database) if b.id == broadcast_id]
    assert len(found) == 1
    return found[0]


async def test_a_broadcast_composed_in_the_chat_reaches_each_consenting_customer_once(
    server: ShopServer, database: Database
) -> None:
    shop = await server.add_shop()
    began = SystemClock().now()
    await server.start()
    merchant = server.person(shop, 9001, "Mama")
    amina, baraka, chebet, daudi = (
        server.person(shop, 5001 + n, name) for n, name in enumerate(("Amina", "Baraka", "Chebet", "Daudi"))
    )
    for person in (merchant, amina, baraka, chebet, daudi):
        await person.send("/start")

    # A customer cannot broadcast: the merchant's refusal, and nothing is made.
    refused = await amina.send("/broadcast")
    assert refused.text == "This command is for the shop's admins."
    assert await broadcasts(database) == []

    stopped = await baraka.send("/stop")
    assert "no more offers or news from Mama Mboga Store" in stopped.text
    assert stopped.last.markup.inline[0][0].text == "🔔 Get offers again"
    assert "You already get no offers" in (await baraka.send("/stop")).text
    server.fake.block(chebet.user)  # Chebet blocked the bot: the broadcast learns it from Telegram's 403

    assert "Send the message your customers will get" in (await merchant.send("/broadcast")).text
    assert "A broadcast is a text, or a photo" in (await merchant.sticker()).text
    assert "Add a button under it?" in (await merchant.photo(caption="Fresh mangoes today! 🥭")).text
    await merchant.tap("🛍 A product")
    assert 'No product "NOPE"' in (await merchant.send("NOPE")).text
    assert "Who gets it?" in (await merchant.send("GRO-RICE-2KG")).text
    preview = await merchant.tap("Everyone")
    sample, ask = preview.messages
    assert sample.caption == "Fresh mangoes today! 🥭"
    assert [b.text for row in sample.markup.inline for b in row] == ["🛍 Pishori Rice 2kg", "🔕 Stop offers"]
    assert "It goes to 3 customers: Everyone." in ask.content  # Amina, Chebet, Daudi: Baraka stopped offers

    sending = await merchant.tap("✅ Send")
    assert sending.notice == "Sending to 3 customers…"
    again = await merchant.tap("✅ Send", message=ask)  # a double press sends nothing twice
    assert "no longer a draft" in again.text
    [broadcast] = await broadcasts(database)
    # A customer pressing a composer button (copied data) is refused as for any merchant button.
    pressed = await amina.tap(message=amina.messages[-1], data=BroadcastAction(broadcast.id, 7, 0).pack())
    assert pressed.notice == "This command is for the shop's admins."
    finished = await done(server, database, broadcast.id)

    assert (finished.total, finished.sent, finished.blocked, finished.failed) == (3, 2, 1, 0)
    for person in (amina, daudi):
        assert person.count("Fresh mangoes today!") == 1
    assert baraka.count("Fresh mangoes") == 0 and chebet.count("Fresh mangoes") == 0
    progress = [m for m in merchant.messages if PROGRESS in m.content]
    assert len(progress) == 1  # one message, edited in place
    assert progress[0].content == (f"📣 Broadcast #{broadcast.id}: sent 2, blocked 1, failed 0, left 0.\n✅ Done.")
    assert progress[0].edit_date is not None and progress[0].edit_date >= progress[0].date
    async with database.uow() as uow:
        unreachable = await uow.session.scalar(select(Customer.unreachable_at).where(Customer.tg_user_id == chebet.id))
    assert unreachable is not None and began <= utc(unreachable) <= SystemClock().now()  # marked when Telegram said 403

    # The broadcast's buttons: the product, and stopping offers.
    assert "Pishori Rice 2kg" in (await amina.tap("🛍 Pishori Rice 2kg")).text
    assert "no more offers" in (await daudi.tap("🔕 Stop offers")).text
    # Baraka starts offers again with a plain /start, which still greets him.
    back = await baraka.send("/start")
    assert "🔔 Offers from Mama Mboga Store are on again." in back.text
    assert back.messages[0].content.startswith("Karibu, Baraka! Welcome to Mama Mboga Store.")

    # The next broadcast: Chebet is skipped (blocked), Daudi stopped, Baraka is back. Cancelled: nothing is sent.
    await merchant.send("/broadcast")
    await merchant.send("Weekend offer")
    await merchant.tap("No button")
    await merchant.tap("Everyone")
    assert "It goes to 2 customers" in merchant.messages[-1].content
    assert "nothing was sent" in (await merchant.tap("✖ Cancel")).text
    assert "no longer a draft" in (await merchant.tap("✅ Send", message=merchant.messages[-2])).text
    await server.settle()
    assert amina.count("Weekend offer") == 0 and baraka.count("Weekend offer") == 0
    assert [b.status for b in await broadcasts(database)] == ["done", "cancelled"]

    # Chebet unblocks the bot and writes: reachable again, in the same step (no statement for anyone else).
    server.fake.unblock(chebet.user)
    await chebet.send("/shop")
    async with database.uow() as uow:
        unreachable = await uow.session.scalar(select(Customer.unreachable_at).where(Customer.tg_user_id == chebet.id))
    assert unreachable is None


SECOND = 0.2  # Telegram's second, five times faster (as in test_pacing_at_the_bot_api)
PER_BOT = 30
MANY = 300  # 3 s at the feeder's rate: the /stop and the approval land mid-broadcast even on a slow machine
FIRST = 7_000_000


async def test_a_broadcast_to_many_never_holds_back_a_receipt_nor_breaks_telegrams_limits(
    server: ShopServer, database: Database
) -> None:
    shop = await server.add_shop()
    flood = shorter_second(server, second=SECOND, per_bot=PER_BOT)
    users = regulars(server, shop.token, MANY, FIRST)
    async with database.uow() as uow:
        now = SystemClock().now()
        for user in users:
            uow.session.add(
                Customer(tenant_id=shop.tenant_id, tg_user_id=user.id, chat_id=user.id, display_name="", created_at=now)
            )
        await uow.commit()
    await server.start()
    merchant = server.person(shop, 9001, "Mama")
    buyer = server.person(shop, 5001, "Wanjiru")
    await merchant.send("/start")
    code = await place_order(buyer)
    await send_proof(buyer, "QK7H2M9XZP")
    await server.settle()

    await merchant.send("/broadcast")
    await merchant.send("Fresh stock just in!")
    await merchant.tap("No button")
    await merchant.tap("Everyone")
    assert f"It goes to {MANY + 1} customers" in merchant.messages[-1].content
    await merchant.tap("✅ Send")
    # In the middle of the broadcast: the last customer in line stops offers, and the buyer's payment is approved.
    last = server.person(shop, users[-1].id, "Customer last")
    await last.send("/stop")
    assert "✅ Approved." in await merchant.send(f"/approve {code}")
    approved_at = flood.timer()  # the receipt is owed (committed) by now
    await eventually(lambda: _has(buyer, "✅ Payment received."), "the buyer's receipt")
    receipt_at = flood.timer()
    [broadcast] = await broadcasts(database)
    finished = await done(server, database, broadcast.id)

    bot_id = server.fake.bot(shop.token).id
    bulk = [s.at for s in flood.accepted(bot_id) if int(s.chat_id) >= FIRST]
    # The receipt was not queued behind the broadcast: few of its messages went out between the receipt being owed
    # and its arrival (no more than the feeder keeps owed at once: two thirds of a window), and the broadcast was
    # still going when it arrived. (Owed all at once, a third of the broadcast went out first, in a run that way.)
    assert sum(approved_at < at < receipt_at for at in bulk) <= PER_BOT * 2 // 3
    assert sum(at > receipt_at for at in bulk) > 0
    assert (finished.sent, finished.skipped, finished.blocked, finished.failed) == (MANY, 1, 0, 0)
    assert users[-1].messages[-1].content.startswith("🔕") and not any(
        "Fresh stock" in m.content for m in users[-1].messages
    )
    assert all(sum("Fresh stock" in m.content for m in user.messages) == 1 for user in users[:-1])
    assert buyer.count("Fresh stock just in!") == 1
    # Counted where Telegram counts: no 429, no window of the bot over its limit, no chat written twice in a second.
    assert flood.refused() == 0
    assert flood.busiest_window(bot_id) <= PER_BOT
    assert flood.busiest_chat_window(bot_id, SECOND) == 1
    async with database.uow() as uow:
        once = await uow.session.scalar(
            select(func.count()).select_from(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast.id)
        )
    assert once == MANY + 1


async def _has(person: Person, words: str) -> bool:
    return person.count(words) > 0
