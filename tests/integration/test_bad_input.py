"""Bad input through the real server: each gets a clear answer in the chat (or an HTTP refusal), and no row changes.

"No row changes" is checked on every table but ``processed_updates`` (an update is recorded as seen even when it is
refused, so that a redelivery is not handled twice); a refused merchant command adds exactly one audit row.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db.engine import Database
from core.db.tables import AuditEntry, CartItem, Conversation, Order, Payment, ProcessedUpdate, Product, Proof
from core.vault import Vault
from tests.support.app import Person, Replies, Shop, ShopServer, place_order, send_proof, shop_server

STALE = "That button is no longer valid."
AGAIN = "Please choose one of the buttons below, or type its name."


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


@pytest.fixture
async def shop(server: ShopServer) -> Shop:
    shop = await server.add_shop()
    await server.start()
    return shop


async def unchanged(server: ShopServer, action: Awaitable[Replies]) -> Replies:
    """Runs ``action`` and checks that no table changed; what the bot answered."""
    await server.settle()
    before = await server.snapshot()
    replies = await action
    await server.settle()
    after = await server.snapshot()
    changed = {name for name in before if before[name] != after[name]}
    assert not changed, f"{replies} changed {changed}: {[(before[n], after[n]) for n in changed]}"
    return replies


async def step_of(database: Database, shop: Shop, person: Person) -> str:
    async with database.uow() as uow:
        step = await uow.session.scalar(
            select(Conversation.step).where(Conversation.tenant_id == shop.tenant_id, Conversation.chat_id == person.id)
        )
    assert step is not None
    return step


async def count(database: Database, table: Any) -> int:
    async with database.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(table)) or 0)


async def test_an_unknown_command(server: ShopServer, shop: Shop, database: Database) -> None:
    customer = server.person(shop, 6001)
    await customer.send("/start")
    unknown = await unchanged(server, customer.send("/frobnicate now"))
    assert unknown.text.startswith("Unknown command /frobnicate.\n\nMama Mboga Store\n/shop – browse products")
    # In the middle of checkout the question stays open.
    await customer.tap("Household")
    await customer.tap("Bar Soap 800g · KES 120")
    await customer.tap("➕ Add to cart")
    await customer.send("/cart")
    await customer.tap("✅ Checkout")
    await customer.send("Halima Yusuf")
    assert "Unknown command /pay." in await unchanged(server, customer.send("/pay"))
    assert await step_of(database, shop, customer) == "checkout.phone"
    assert "Delivery or pickup?" in await customer.send("0722 111 222")


async def test_text_where_a_button_is_expected(server: ShopServer, shop: Shop, database: Database) -> None:
    """Text that chooses no button asks the open question again, with its buttons (every step of it is in
    test_typed_answers.py); where nothing is asked, the help."""
    customer = server.person(shop, 6002)
    await customer.send("/help")
    assert "Sorry, I did not understand that." in await unchanged(server, customer.send("hello?"))
    await customer.send("/shop")
    await customer.tap("Household")
    await customer.tap("Bar Soap 800g · KES 120")
    await customer.tap("➕ Add to cart")
    await customer.send("/cart")
    await customer.tap("✅ Checkout")
    await customer.send("Halima Yusuf")
    await customer.send("0722 111 222")
    typed = await unchanged(server, customer.send("tomorrow maybe"))
    assert typed.text == f"{AGAIN}\n\nDelivery or pickup?"
    assert typed.last.buttons == [[("🚚 Delivery", "deliv.1:1"), ("🏪 Pickup", "deliv.1:0")]]
    assert await step_of(database, shop, customer) == "checkout.delivery"
    await customer.tap("🏪 Pickup")
    assert (await unchanged(server, customer.send("hmm"))).text.startswith(f"{AGAIN}\n\nPlease check your order:")
    assert await step_of(database, shop, customer) == "checkout.confirm"
    await customer.tap("✅ Confirm order")
    again = await unchanged(server, customer.send("pay later"))
    assert again.text.startswith(f"{AGAIN}\n\nOrder ") and again.text.endswith("How would you like to pay?")
    assert await count(database, Payment) == 0
    # A sticker is refused the same way: what was asked, again.
    sticker = await unchanged(server, customer.sticker())
    assert sticker.text.startswith("I can't use that here. Use the buttons, or type /help.\n\nOrder ")
    assert sticker.last.buttons == again.last.buttons


async def test_bad_quantities(server: ShopServer, shop: Shop, database: Database) -> None:
    customer = server.person(shop, 6003)
    await customer.send("/start")
    await customer.tap("Groceries")
    await customer.tap("Next ▶")
    await customer.tap("Sugar 1kg · KES 190")  # 3 in stock
    await customer.tap("➕ Add to cart")
    await customer.send("/cart")
    await customer.tap_in_row("Sugar", "Sugar 1kg · 1 × KES 190")
    for typed in ["0", "00", "-1", "10" + "0" * 8, "abc", "2.5", "1e3", "²", "3²"]:
        refused = await unchanged(server, customer.send(typed))
        assert refused.text == (
            "Please type a whole number from 1 to 3 (only 3 in stock), for example 2. "
            "To take it out of the cart, press ✕."
        ), typed
        assert await step_of(database, shop, customer) == "cart.quantity", typed
    assert "Sorry, only 3 left in stock." in await unchanged(server, customer.send("4"))
    assert "× 3 = KES 570" in await customer.send("3")
    # The buttons keep to the same limits: a 4th sugar is refused with a notice.
    more = await unchanged(server, customer.tap_in_row("Sugar", "+"))
    assert more.notice == "Sorry, only 3 left in stock." and not more.messages
    # Above the per-product limit, for a product with no stock count.
    await customer.send("/shop")
    await customer.tap("Groceries")
    await customer.tap("Kericho Tea 500g · KES 350")
    await customer.tap("➕ Add to cart")
    await customer.send("/cart")
    await customer.tap_in_row("Kericho", "Kericho Tea 500g · 1 × KES 350")
    assert "You can order at most 99 of one product." in await unchanged(server, customer.send("100"))
    async with database.uow() as uow:
        quantities = dict((await uow.session.execute(select(Product.name, CartItem.quantity).join(Product))).all())
    assert quantities == {"Sugar 1kg": 3, "Kericho Tea 500g": 1}
    # Taking a product out is the ✕ button.
    removed = await customer.tap_in_row("Kericho", "✕")
    assert removed.text == "🛒 Your cart:\n• Sugar 1kg × 3 = KES 570\nTotal: KES 570"


async def test_phone_numbers_that_do_not_parse_or_are_not_mobile(
    server: ShopServer, shop: Shop, database: Database
) -> None:
    customer = server.person(shop, 6004)
    await customer.send("/start")
    await customer.tap("Household")
    await customer.tap("Bar Soap 800g · KES 120")
    await customer.tap("➕ Add to cart")
    await customer.send("/cart")
    await customer.tap("✅ Checkout")
    await customer.send("Halima Yusuf")
    abroad = "A number from another country? Type it with its country code, like +254 712 123 456."
    answers = {
        "call me maybe": "That does not look like a phone number. Please type it like 0712 123 456.",
        "12345": "That number is not valid. Please check it and type it like 0712 123 456.",
        "020 2222222": "Please give a mobile number, like 0712 123 456.",  # a Nairobi landline
        "0803 123 4567": "That number is not valid. Please check it and type it like 0712 123 456.",  # Nigerian
    }
    for typed, answer in answers.items():
        refused = await unchanged(server, customer.send(typed))
        assert refused.text == f"{answer}\n{abroad}", typed
        assert await step_of(database, shop, customer) == "checkout.phone"
    assert "Delivery or pickup?" in await customer.send("+254 722 111 222")


async def test_phone_numbers_are_read_in_the_shops_region(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop("lagos-kitchen", "Lagos Kitchen", region="NG", currency="NGN")
    await server.start()
    customer = server.person(shop, 6005)
    await customer.send("/start")
    await customer.tap("Household")
    await customer.tap("Bar Soap 800g · NGN 120")
    await customer.tap("➕ Add to cart")
    await customer.send("/cart")
    await customer.tap("✅ Checkout")
    await customer.send("Chidi Okafor")
    refused = await unchanged(server, customer.send("0712 345 678"))  # a Kenyan mobile written the Kenyan way
    assert refused.text == (
        "That number is not valid. Please check it and type it like 0802 123 4567.\n"
        "A number from another country? Type it with its country code, like +234 802 123 4567."
    )
    await customer.send("0803 123 4567")
    assert "Phone: 0803 123 4567" in await customer.tap("🏪 Pickup")


async def test_proofs_that_cannot_be_checked(server: ShopServer, shop: Shop, database: Database) -> None:
    customer = server.person(shop, 6006)
    code = await place_order(customer)
    await customer.tap("💵 Pay by hand and upload proof")
    assert (await unchanged(server, customer.sticker())).text == (
        "Stickers, voice notes and videos cannot be checked. Please send a photo or a document of the receipt."
    )
    assert "Stickers, voice notes and videos cannot be checked." in await unchanged(server, customer.voice())
    for size in (25 * 1024 * 1024, 20 * 1024 * 1024 + 1):
        huge = await unchanged(server, customer.document("statement.pdf", caption="QK7ABC1234", size=size))
        assert huge.text == (
            "That file is too large (the limit is 20 MB). Please send a smaller photo or a screenshot."
        )
    assert "Please send the receipt as a photo or a document." in await unchanged(server, customer.send("QK7ABC1234"))
    assert await step_of(database, shop, customer) == "pay.proof"
    # A good file, then a reference that is not one.
    assert "type the payment reference" in await customer.document("statement.pdf")
    assert "Please type the reference as shown on the receipt" in await unchanged(server, customer.send("??"))
    assert await count(database, Proof) == 0
    assert f"Your proof for order {code} was sent to the shop." in await customer.send("QK7ABC1234")
    async with database.uow() as uow:
        proof = await uow.session.scalar(select(Proof))
        assert proof is not None and (proof.file_kind, proof.reference_text) == ("document", "QK7ABC1234")


async def test_buttons_from_old_messages(server: ShopServer, shop: Shop, database: Database) -> None:
    merchant = server.person(shop, 9001)
    await merchant.send("/start")
    customer = server.person(shop, 6007)
    await place_order(customer)
    placed = customer.messages[-1]
    summary = customer.find("Please check your order")
    # The summary's buttons, after the order was placed.
    again = await unchanged(server, customer.tap("✅ Confirm order", message=summary))
    assert again.notice == STALE and not again.messages
    choice = customer.find("Delivery or pickup?")
    assert (await unchanged(server, customer.tap("🚚 Delivery", message=choice))).notice == STALE
    assert await count(database, Order) == 1

    # The order is paid; its payment and cancel buttons are from an order that has moved on.
    await customer.tap("💵 Pay by hand and upload proof", message=placed)
    await customer.photo(caption="QK7ABC1234")
    await server.settle()
    await merchant.tap("✅ Approve")
    await server.settle()
    code = customer.find("Payment received").content.split("Order: ", 1)[1].split("\n", 1)[0]
    pay = await unchanged(server, customer.tap("💵 Pay by hand and upload proof", message=placed))
    assert pay.text == f"Order {code} cannot be paid now: it is paid."
    cancel = await unchanged(server, customer.tap("✖ Cancel order", message=placed))
    assert cancel.text == f"Order {code} cannot be cancelled: it is paid."
    orders_now = (await customer.send("/orders")).last.buttons  # the list of orders no longer offers to pay
    assert [[label for label, _ in row] for row in orders_now] == [[f"🔁 Order {code} again"]]


async def test_the_pay_button_while_a_proof_is_under_review(server: ShopServer, shop: Shop, database: Database) -> None:
    customer = server.person(shop, 6008)
    await place_order(customer)
    placed = customer.messages[-1]
    await send_proof(customer, "QK7ABC1234")
    again = await unchanged(server, customer.tap("💵 Pay by hand and upload proof", message=placed))
    assert "is being checked by the shop" in again.text


async def test_tampered_callback_data(server: ShopServer, shop: Shop, database: Database) -> None:
    # Another customer's order, payment and product ids: real ids, but not this customer's.
    other = server.person(shop, 6009)
    await place_order(other)
    await send_proof(other, "OTHER12345")
    async with database.uow() as uow:
        order_id = await uow.session.scalar(select(Order.id))
        payment_id = await uow.session.scalar(select(Payment.id))
    customer = server.person(shop, 6010)
    await customer.send("/start")
    menu = customer.messages[-1]
    forged = [
        "add.1:999999",
        "prod.1:999999",
        "cat.1:99:0",
        "cat.1:0:99",
        "cat.1:0:-1",
        "rm.1:-1",
        "add.1:1:2",
        "add",  # the form before versions, but without its product: malformed then as now
        "add:1:2",
        "prod.1:abc",
        "deliv.1:7",
        "confirm.1",  # not at this step
        "usephone.1",
        f"pm.1:{order_id}:1",
        f"pm.1:{order_id}:9",
        f"cxl.1:{order_id}",
        f"retry.1:{order_id}",
        f"proof.1:{payment_id}",
        "x" * 64,
        "DROP TABLE orders",
        "shop.1:1",
    ]
    for data in forged:
        answer = await unchanged(server, customer.tap(message=menu, data=data))
        assert answer.notice == STALE or answer.text == STALE, (data, answer)
    async with database.uow() as uow:
        assert await uow.session.scalar(select(Order.status)) == "awaiting_payment"
        assert await uow.session.scalar(select(Payment.status)) == "under_review"


async def test_updates_for_an_unknown_shop_or_without_the_secret(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    other = await server.add_shop("fundi", "Fundi Electronics", admins=[9101])
    await server.start()
    customer = server.person(shop, 6011)
    update = {
        "update_id": 4242,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": customer.id, "type": "private", "first_name": "Eve"},
            "from": {"id": customer.id, "is_bot": False, "first_name": "Eve"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    await server.settle()
    before = await server.snapshot(skip=())
    assert await server.post_update("no-such-shop", update, shop.webhook_secret) == (404, "unknown tenant")
    assert await server.post_update(shop.slug, update, None) == (401, "wrong secret token")
    assert await server.post_update(shop.slug, update, "guessed-secret") == (401, "wrong secret token")
    assert await server.post_update(shop.slug, update, other.webhook_secret) == (401, "wrong secret token")
    assert await server.post_update(shop.slug, update, shop.webhook_secret.upper()) == (401, "wrong secret token")
    for body in (b"{not json", b"[]", b'{"update_id": "many"}'):  # the right secret, but not an update
        assert await server.post_update(shop.slug, body, shop.webhook_secret) == (400, "not a Telegram update")
    assert await server.snapshot(skip=()) == before  # processed_updates included: nothing was processed
    assert customer.messages == []

    # The same through Telegram: a webhook registered with the wrong secret gets nowhere.
    await server.set_webhook(shop, "not-the-secret")
    await customer.user.send_command("/start")
    await server.idle()
    delivery = server.fake.bot(shop.token).deliveries[-1]
    assert delivery.statuses == [401, 401, 401]
    assert customer.messages == []
    assert await server.snapshot(skip=()) == before
    # With the shop's own secret the next update goes through.
    await server.set_webhook(shop, shop.webhook_secret)
    assert "Welcome to Mama Mboga Store" in await customer.send("/start")
    async with database.uow() as uow:
        processed = list(await uow.session.scalars(select(ProcessedUpdate.update_id)))
    assert 4242 not in processed and len(processed) == 1


async def test_merchant_commands_from_a_non_admin(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop(admins=[9001])
    other = await server.add_shop("fundi", "Fundi Electronics", admins=[9101])
    await server.start()
    customer = server.person(shop, 6012)
    code = await place_order(customer)
    await send_proof(customer, "QK7ABC1234")
    async with database.uow() as uow:
        proof_id = await uow.session.scalar(select(Proof.id))
    # The admin of another shop is nobody here.
    outsider = server.person(shop, other.admins[0], "Fundi")
    await outsider.send("/start")
    attempts: list[tuple[Person, str, str]] = [
        (customer, "/pending", "pending"),
        (customer, f"/approve {code}", "approve"),
        (customer, f"/reject {code} fake", "reject"),
        (customer, "/admin", "admin"),
        (customer, f"/order {code}", "order"),
        (outsider, f"/approve {code}", "approve"),
    ]
    for person, command, target in attempts:
        await server.settle()
        before = await server.snapshot(skip=("processed_updates", "audit_log"))
        refused = await person.send(command)
        assert refused.text == "This command is for the shop's admins.", target
        assert await server.snapshot(skip=("processed_updates", "audit_log")) == before
        async with database.uow() as uow:
            entry = await uow.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
        assert entry is not None
        assert (entry.tenant_id, entry.actor_tg_id, entry.action, entry.target, entry.allowed) == (
            shop.tenant_id,
            person.id,
            "refused",
            target,
            False,
        )
    # The merchant's buttons, forged by a customer.
    for data in (f"ap.1:{proof_id}", f"rj.1:{proof_id}", "mo.1:1"):
        await server.settle()
        before = await server.snapshot(skip=("processed_updates", "audit_log"))
        refused = await customer.tap(message=customer.messages[-1], data=data)
        assert refused.notice == "This command is for the shop's admins."
        assert await server.snapshot(skip=("processed_updates", "audit_log")) == before
    async with database.uow() as uow:
        refusals = list(await uow.session.scalars(select(AuditEntry.target).where(AuditEntry.allowed.is_(False))))
        assert await uow.session.scalar(select(Proof.status)) == "submitted"
        assert await uow.session.scalar(select(Payment.status)) == "under_review"
    assert refusals == [
        "pending",
        "approve",
        "reject",
        "admin",
        "order",
        "approve",
        f"ap.1:{proof_id}",
        f"rj.1:{proof_id}",
        "mo.1:1",
    ]
    assert await step_of(database, shop, customer) == "idle"


@pytest.mark.parametrize("webhooks", [True, False], ids=["webhook", "polling"])
async def test_an_update_the_server_cannot_handle_does_not_block_the_shop(
    database: Database, vault: Vault, tmp_path: Path, webhooks: bool
) -> None:
    async with shop_server(database, vault, tmp_path, webhooks=webhooks) as server:
        shop = await server.add_shop()
        await server.start()
        # No real Telegram user has such an id; here it stands for any update whose handling fails every time.
        broken = server.person(shop, 2**63, "Overflow")
        customer = server.person(shop, 6013)
        await broken.user.send_command("/start")
        assert "Welcome to Mama Mboga Store" in await customer.send("/start")
        errors = server.errors.take()
        assert broken.messages == []
        if (
            webhooks
        ):  # refused at the edge, unread (ids past 64 bits are no Telegram update): tried a few times, dropped
            assert server.fake.bot(shop.token).deliveries[0].statuses == [400, 400, 400]
            assert errors == []
        else:  # the poller tried it a few times too, instead of trying it forever ahead of everybody else's
            assert errors and all("update" in error for error in errors), errors
            assert len(errors) == 4 and "skipped after 3 tries" in errors[-1]
        assert await count(database, ProcessedUpdate) == 1
