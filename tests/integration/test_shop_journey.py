"""The whole shop journey through the real server: a customer browses, fills a cart, checks out and uploads a proof of
payment; the merchant approves it in the chat and the customer gets a receipt. On webhooks and on long polling, for
one shop and for two shops served at once, and across restarts of the server at every step of the conversation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db.engine import Database
from core.db.tables import CartItem, Conversation, Customer, Order, OutboxMessage, Payment, Product, Proof
from core.vault import Vault
from tests.support import shop_times
from tests.support.app import (
    FUNDI_CATALOG,
    FUNDI_INSTRUCTIONS,
    Person,
    Shop,
    ShopServer,
    order_code,
    shop_server,
)


@pytest.fixture
async def server(
    request: pytest.FixtureRequest, database: Database, vault: Vault, tmp_path: Path
) -> AsyncIterator[ShopServer]:
    """The server on webhooks, or on long polling for tests marked with ``BOTH_WAYS``."""
    mode = getattr(request, "param", "webhook")
    async with shop_server(database, vault, tmp_path, webhooks=mode == "webhook") as running:
        yield running


BY_HAND = "💵 Pay by hand and upload proof"
BOTH_WAYS = pytest.mark.parametrize("server", ["webhook", "polling"], indirect=True)


async def step_of(database: Database, shop: Shop, person: Person) -> str:
    async with database.uow() as uow:
        step = await uow.session.scalar(
            select(Conversation.step).where(Conversation.tenant_id == shop.tenant_id, Conversation.chat_id == person.id)
        )
    assert step is not None
    return step


async def cart_of(database: Database, shop: Shop, person: Person) -> dict[str, int]:
    async with database.uow() as uow:
        rows = await uow.session.execute(
            select(Product.name, CartItem.quantity)
            .join(CartItem, CartItem.product_id == Product.id)
            .join(Customer, Customer.id == CartItem.customer_id)
            .where(Customer.tenant_id == shop.tenant_id, Customer.tg_user_id == person.id)
        )
        return {name: quantity for name, quantity in rows}


async def orders_of(database: Database, shop: Shop) -> list[Order]:
    async with database.uow() as uow:
        return list(await uow.session.scalars(select(Order).where(Order.tenant_id == shop.tenant_id)))


@pytest.mark.every_channel  # python-telegram-bot too; the other journeys here on aiogram only
@BOTH_WAYS
async def test_a_customer_buys_and_the_merchant_approves_the_proof(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    await server.start()
    merchant = server.person(shop, 9001, "Mama")
    customer = server.person(shop, 5001, "Wanjiru")
    # Telegram lets a bot write only to people who wrote to it first: the merchant opens the chat.
    assert "You are an admin of this shop" in await merchant.send("/start")

    # /start: the greeting names the shop, and the categories follow.
    start = await customer.send("/start")
    assert "Karibu, Wanjiru! Welcome to Mama Mboga Store." in start.messages[0].content
    assert start.last.content == "Mama Mboga Store – choose a category:"
    assert [text for row in start.last.buttons for text, _ in row] == ["Groceries", "Household", "🛒 Cart"]

    # Browsing: eight products a page, the menu edited in place.
    groceries = await customer.tap("Groceries")
    menu = groceries.last
    assert menu.message_id == start.last.message_id and menu.edit_date is not None
    assert menu.content == "Groceries (page 1 of 2) – tap a product:"
    products = [text for row in menu.buttons for text, _ in row if "· KES" in text]
    assert len(products) == 8 and "Pishori Rice 2kg · KES 420" in products and "Sugar 1kg · KES 190" not in products
    page_two = await customer.tap("Next ▶")
    assert page_two.last.content == "Groceries (page 2 of 2) – tap a product:"
    assert [text for row in page_two.last.buttons for text, _ in row if "· KES" in text] == [
        "Salt 1kg · KES 55",
        "Sugar 1kg · KES 190",
    ]
    assert "page 1 of 2" in await customer.tap("◀ Previous")

    # A product with a photo is shown as a photo with its price and description as the caption...
    rice = (await customer.tap("Pishori Rice 2kg · KES 420")).last
    assert rice.photo is not None and rice.photo.source_url == "https://cdn.duka.example/rice.jpg"
    assert rice.content == "Pishori Rice 2kg\nKES 420\nAromatic Mwea pishori rice.\n40 in stock"
    added = await customer.tap("➕ Add to cart")
    assert added.notice == "Added Pishori Rice 2kg to your cart" and not added.messages
    # ...one without a photo as text.
    await customer.tap("◀ Back")
    tea = (await customer.tap("Kericho Tea 500g · KES 350")).last
    assert tea.photo is None and tea.content == "Kericho Tea 500g\nKES 350\nLoose black tea from Kericho."
    await customer.tap("➕ Add to cart")

    # The cart: the total, more, remove, a typed quantity.
    cart = await customer.send("/cart")
    assert cart.text == (
        "🛒 Your cart:\n• Pishori Rice 2kg × 1 = KES 420\n• Kericho Tea 500g × 1 = KES 350\nTotal: KES 770"
    )
    assert "Total: KES 1,190" in await customer.tap_in_row("Pishori", "+")
    removed = await customer.tap_in_row("Kericho", "✕")
    assert removed.text == "🛒 Your cart:\n• Pishori Rice 2kg × 2 = KES 840\nTotal: KES 840"
    assert "How many Pishori Rice 2kg" in await customer.tap_in_row("Pishori", "Pishori Rice 2kg · 2 × KES 420")
    assert "Total: KES 1,260" in await customer.send("3")
    assert "Total: KES 840" in await customer.tap_in_row("Pishori", "−")
    assert "Total: KES 1,260" in await customer.tap_in_row("Pishori", "+")
    assert await cart_of(database, shop, customer) == {"Pishori Rice 2kg": 3}

    # Checkout: name, phone (any way a Kenyan writes it), delivery and address, then the summary.
    ask_name = await customer.tap("✅ Checkout")
    assert "What name should we put on the order?" in ask_name
    assert "Your phone number" in await customer.send("Wanjiru Kamau")
    delivery = await customer.send("0712 345 678")
    assert delivery.last.buttons == [[("🚚 Delivery", "deliv.1:1"), ("🏪 Pickup", "deliv.1:0")]]
    assert "Where should we deliver?" in await customer.tap("🚚 Delivery")
    summary = await customer.send("Kilimani, Argwings Kodhek Rd, blue gate")
    assert summary.text == (
        "Please check your order:\n• Pishori Rice 2kg × 3 = KES 1,260\nTotal: KES 1,260\n"
        "Name: Wanjiru Kamau\nPhone: 0712 345 678\nDelivery: Kilimani, Argwings Kodhek Rd, blue gate"
    )

    # The order, with its code; only the configured method (manual) is offered.
    placed = await customer.tap("✅ Confirm order")
    code = order_code(placed.text)
    assert placed.text == f"Order {code} is placed. Amount to pay: KES 1,260.\nHow would you like to pay?"
    assert [text for row in placed.last.buttons for text, _ in row] == [
        "💵 Pay by hand and upload proof",
        "✖ Cancel order",
    ]
    assert await cart_of(database, shop, customer) == {}

    # Manual payment: the merchant's own instructions, then the receipt photo with the reference as its caption.
    instructions = await customer.tap("💵 Pay by hand and upload proof")
    assert f"To pay KES 1,260 for order {code}:" in instructions
    assert "Send the amount to Till 123456 (Mama Mboga), then send the receipt here." in instructions
    received = await customer.photo(caption="QK7ABC1234")
    assert f"Your proof for order {code} was sent to the shop" in received

    orders = await customer.send("/orders")
    when = await shop_times.placed(database, shop.tenant_id, code)
    assert orders.text == f"Your orders:\n• {code} – KES 1,260 – waiting for payment – placed {when}"

    # The merchant gets the proof itself, with the order summary and the two buttons.
    await server.settle()
    proof = merchant.find(f"Proof of payment for order {code}")
    assert proof.photo is not None and proof.photo.data == customer.user.account.files[proof.photo.file_id].data
    assert proof.content == (
        f"🧾 Proof of payment for order {code}\nAmount due: KES 1,260\nCustomer: Wanjiru Kamau (0712 345 678)\n"
        "• Pishori Rice 2kg ×3\nReference given: QK7ABC1234"
    )
    assert [text for row in proof.buttons for text, _ in row] == ["✅ Approve", "❌ Reject"]

    approved = await merchant.tap("✅ Approve", message=proof)
    assert approved.notice == f"✅ Approved. Order {code} is paid and the customer has been sent a receipt."
    await server.settle()
    receipt = customer.find("Payment received")
    paid_at = await shop_times.paid(database, shop.tenant_id, code)
    assert receipt.content == (
        f"✅ Payment received. Thank you!\nOrder: {code}\nAmount: KES 1,260\nPaid by: manual payment\n"
        f"Reference: QK7ABC1234\nTime: {paid_at}"
    )
    # The proof message now shows the decision instead of its buttons; no "order paid" alert repeats it.
    assert proof.content.startswith(f"🧾 Proof of payment for order {code}\n")
    assert "\n\n✅ Approved by Mama, " in proof.content and proof.buttons == []
    assert merchant.count(f"💰 Order {code} is paid:") == 0
    assert (await customer.send("/orders")).text == f"Your orders:\n• {code} – KES 1,260 – paid – placed {when}"

    # What the database holds.
    async with database.uow() as uow:
        order = await uow.session.scalar(select(Order).where(Order.code == code))
        assert order is not None and order.tenant_id == shop.tenant_id
        assert (order.status, order.total_minor, order.currency) == ("paid", 126_000, "KES")
        assert (order.contact_name, order.contact_phone, order.delivery_method) == (
            "Wanjiru Kamau",
            "+254712345678",
            "delivery",
        )
        assert [(item.sku, item.unit_price_minor, item.quantity) for item in order.items] == [
            ("GRO-RICE-2KG", 42_000, 3)
        ]
        payment = await uow.session.scalar(select(Payment).where(Payment.order_id == order.id))
        assert payment is not None
        assert (payment.provider, payment.status, payment.paid_minor) == ("manual", "paid", 126_000)
        assert payment.provider_txn_id == "QK7ABC1234"
        stored = await uow.session.scalar(select(Proof).where(Proof.payment_id == payment.id))
        assert stored is not None
        assert (stored.status, stored.decided_by, stored.reference_text, stored.file_kind) == (
            "approved",
            9001,
            "QK7ABC1234",
            "photo",
        )
        sent = list(await uow.session.scalars(select(OutboxMessage.status)))
        assert sent and set(sent) == {"sent"}
        customer_row = await uow.session.scalar(select(Customer).where(Customer.tg_user_id == customer.id))
        assert customer_row is not None and (customer_row.name, customer_row.phone) == (
            "Wanjiru Kamau",
            "+254712345678",
        )
    assert await step_of(database, shop, customer) == "idle"
    if server.webhooks:  # every update came by webhook with the shop's secret, and was accepted at once
        deliveries = server.fake.bot(shop.token).deliveries
        assert deliveries and all(delivery.statuses == [200] for delivery in deliveries)


async def test_a_shop_without_a_payment_method_takes_no_order_and_is_told(
    server: ShopServer, database: Database
) -> None:
    shop = await server.add_shop(instructions=None)
    await server.start()
    merchant = server.person(shop, 9001, "Mama")
    opened = len((await merchant.send("/start")).messages)
    customer = server.person(shop, 5006)
    await customer.send("/start")
    await customer.tap("Household")
    await customer.tap("Bar Soap 800g · KES 120")
    await customer.tap("➕ Add to cart")
    await customer.send("/cart")
    refused = await customer.tap("✅ Checkout")
    assert "cannot take orders in the chat right now" in refused.text
    assert "Total: KES 120" in (await customer.send("/cart")).text  # the cart is kept
    await customer.send("/cart")
    await customer.tap("✅ Checkout")  # a second customer attempt the same day: no second alert
    await server.settle()
    told = [message.content for message in merchant.messages[opened:]]
    assert len(told) == 1 and "no payment method set up" in told[0], told
    async with database.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 0


async def test_cancel_leaves_any_step(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    await server.start()
    customer = server.person(shop, 5003, "Akinyi")
    assert "There was nothing to stop." in await customer.send("/cancel")
    await customer.send("/start")
    await customer.tap("Groceries")
    await customer.tap("Next ▶")
    await customer.tap("Salt 1kg · KES 55")
    await customer.tap("➕ Add to cart")

    async def cancel_at(step: str) -> None:
        assert await step_of(database, shop, customer) == step
        cancelled = await customer.send("/cancel")
        assert "Okay, stopped. Nothing was lost: your cart is still there." in cancelled, step
        assert await step_of(database, shop, customer) == "idle"

    await customer.send("/cart")
    await customer.tap_in_row("Salt", "Salt 1kg · 1 × KES 55")
    await cancel_at("cart.quantity")
    await customer.send("/cart")
    await customer.tap("✅ Checkout")
    await cancel_at("checkout.name")
    await customer.send("/cart")
    await customer.tap("✅ Checkout")
    await customer.send("Akinyi Odhiambo")
    await customer.send("0722 000 111")
    await customer.tap("🚚 Delivery")
    await cancel_at("checkout.address")
    await customer.send("/cart")
    await customer.tap("✅ Checkout")
    await customer.send("Akinyi Odhiambo")
    await customer.send("0722 000 111")
    await customer.tap("🏪 Pickup")
    await cancel_at("checkout.confirm")
    assert await cart_of(database, shop, customer) == {"Salt 1kg": 1}
    assert await orders_of(database, shop) == []

    await customer.send("/cart")
    await customer.tap("✅ Checkout")
    await customer.send("Akinyi Odhiambo")
    await customer.send("0722 000 111")
    await customer.tap("🏪 Pickup")
    await customer.tap("✅ Confirm order")
    await customer.tap("💵 Pay by hand and upload proof")
    await cancel_at("pay.proof")
    await customer.tap("💵 Pay by hand and upload proof")
    await customer.document("mpesa.pdf")
    await cancel_at("pay.reference")
    # The order waits for payment; /orders offers to pay it, and the customer picks up where they left...
    orders = await customer.send("/orders")
    code = orders.text.split("• ", 1)[1].split(" ", 1)[0]
    when = await shop_times.placed(database, shop.tenant_id, code)
    assert orders.text == f"Your orders:\n• {code} – KES 55 – waiting for payment – placed {when}"
    methods = await customer.tap(f"Pay {code}")
    assert f"Order {code} is placed. Amount to pay: KES 55." in methods
    await customer.tap(BY_HAND, message=methods.last)
    assert await step_of(database, shop, customer) == "pay.proof"
    # ...or thinks better of it and cancels the order.
    assert (await customer.tap("✖ Cancel order", message=methods.last)).text == f"Order {code} is cancelled."
    assert await step_of(database, shop, customer) == "idle"
    orders = await customer.send("/orders")
    assert orders.text == f"Your orders:\n• {code} – KES 55 – cancelled – placed {when}"
    assert [[label for label, _ in row] for row in orders.last.buttons] == [[f"🔁 Order {code} again"]]
    late = await customer.tap(BY_HAND, message=methods.last)
    assert late.text == f"Order {code} cannot be paid now: it is cancelled."


@pytest.mark.every_channel  # python-telegram-bot too; the other journeys here on aiogram only
@BOTH_WAYS
async def test_two_shops_at_once_share_nothing(server: ShopServer, database: Database) -> None:
    mama = await server.add_shop()
    # Fundi also takes card payments: its customers are offered both methods, Mama's only the one Mama set up.
    paystack = ({"secret_key": "sk_test_" + "f" * 40}, {"base_url": "http://127.0.0.1:9"})
    fundi = await server.add_shop(
        "fundi-electronics",
        "Fundi Electronics",
        admins=[9101],
        catalog=FUNDI_CATALOG,
        instructions=FUNDI_INSTRUCTIONS,
        providers={"paystack": paystack},
    )
    await server.start()
    # The same Telegram user shops at both; each shop has its own admin.
    same_user = 5555

    async def journey(
        shop: Shop, admin_id: int, category: str, product: str, reference: str, methods: list[str]
    ) -> str:
        merchant = server.person(shop, admin_id, "Boss")
        customer = server.person(shop, same_user, "Baraka")
        await merchant.send("/start")
        start = await customer.send("/start")
        assert f"Welcome to {shop.name}" in start
        await customer.tap(category)
        await customer.tap(product)
        await customer.tap("➕ Add to cart")
        await customer.send("/cart")
        await customer.tap("✅ Checkout")
        await customer.send("Baraka Mwangi")
        await customer.send("0700 123 456")
        await customer.tap("🏪 Pickup")
        placed = await customer.tap("✅ Confirm order")
        code = order_code(placed.text)
        assert [text for row in placed.last.buttons for text, _ in row] == [*methods, "✖ Cancel order"]
        await customer.tap("💵 Pay by hand and upload proof")
        await customer.photo(caption=reference)
        await server.settle()
        merchant.find(f"Proof of payment for order {code}")
        await merchant.tap("✅ Approve")
        return code

    mama_code, fundi_code = await asyncio.gather(
        journey(mama, 9001, "Groceries", "Pishori Rice 2kg · KES 420", "MAMA111AAA", [BY_HAND]),
        journey(fundi, 9101, "Phone accessories", "USB-C Cable 1m · KES 450", "FUNDI222BB", [BY_HAND, "💳 Pay online"]),
    )
    await server.settle()

    at_mama, at_fundi = server.person(mama, same_user), server.person(fundi, same_user)
    mama_boss, fundi_boss = server.person(mama, 9001), server.person(fundi, 9101)
    # Each chat shows its own shop only: catalog, order, instructions, receipt.
    mama_chat = "\n".join(m.content for m in at_mama.messages)
    fundi_chat = "\n".join(m.content for m in at_fundi.messages)
    assert "Groceries" in mama_chat and "Phone accessories" not in mama_chat and "Fundi" not in mama_chat
    assert "Phone accessories" in fundi_chat and "Groceries" not in fundi_chat and "Mama" not in fundi_chat
    assert "Till 123456" in mama_chat and "Paybill 400200" in fundi_chat
    assert at_mama.count("Payment received") == 1 and at_fundi.count("Payment received") == 1
    assert mama_code in mama_chat and fundi_code not in mama_chat
    assert fundi_code in fundi_chat and mama_code not in fundi_chat
    # Each merchant got the proof of their own shop only.
    assert mama_boss.count("Proof of payment") == 1 and "MAMA111AAA" in mama_boss.find("Proof of payment").content
    assert fundi_boss.count("Proof of payment") == 1 and "FUNDI222BB" in fundi_boss.find("Proof of payment").content
    mama_when = await shop_times.placed(database, mama.tenant_id, mama_code)
    fundi_when = await shop_times.placed(database, fundi.tenant_id, fundi_code)
    assert (await at_mama.send("/orders")).text == f"Your orders:\n• {mama_code} – KES 420 – paid – placed {mama_when}"
    assert (await at_fundi.send("/orders")).text == (
        f"Your orders:\n• {fundi_code} – KES 450 – paid – placed {fundi_when}"
    )

    # A merchant cannot reach the other shop's orders, and a customer cannot reach the other shop's products.
    assert f"No proof found for {fundi_code} in this shop." in await mama_boss.send(f"/approve {fundi_code}")
    assert f"No order {mama_code} in this shop." in await fundi_boss.send(f"/order {mama_code}")
    async with database.uow() as uow:
        usb_id = await uow.session.scalar(select(Product.id).where(Product.sku == "ACC-USBC-1M"))
    await at_mama.send("/shop")
    forged = await at_mama.tap(message=at_mama.messages[-1], data=f"prod.1:{usb_id}")
    assert forged.notice == "That button is no longer valid." and not forged.messages
    forged = await at_mama.tap(message=at_mama.messages[-1], data=f"add.1:{usb_id}")
    assert "That button is no longer valid." in forged
    assert await cart_of(database, mama, at_mama) == {}

    # The rows say the same: two customers (one per shop) for one Telegram user, each order in its own shop.
    async with database.uow() as uow:
        customers = list(await uow.session.scalars(select(Customer).where(Customer.tg_user_id == same_user)))
        assert sorted(c.tenant_id for c in customers) == sorted([mama.tenant_id, fundi.tenant_id])
        for order in await uow.session.scalars(select(Order)):
            owner = next(c for c in customers if c.id == order.customer_id)
            assert owner.tenant_id == order.tenant_id
            assert order.code == (mama_code if order.tenant_id == mama.tenant_id else fundi_code)
        for payment in await uow.session.scalars(select(Payment)):
            order_tenant = await uow.session.scalar(select(Order.tenant_id).where(Order.id == payment.order_id))
            assert payment.tenant_id == order_tenant and payment.status == "paid"
        for proof in await uow.session.scalars(select(Proof)):
            payment_tenant = await uow.session.scalar(select(Payment.tenant_id).where(Payment.id == proof.payment_id))
            assert proof.tenant_id == payment_tenant
            assert proof.decided_by == (9001 if proof.tenant_id == mama.tenant_id else 9101)
        for row in await uow.session.scalars(select(OutboxMessage)):
            admins = {mama.tenant_id: 9001, fundi.tenant_id: 9101}
            assert row.chat_id in (same_user, admins[row.tenant_id])


async def test_the_conversation_survives_restarts_at_every_step(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop(admins=[9001])
    await server.start()
    merchant = server.person(shop, 9001, "Mama")
    customer = server.person(shop, 5004, "Njeri")
    await merchant.send("/start")
    await customer.send("/start")
    await customer.tap("Groceries")
    await customer.tap("Fresh Milk 500ml · KES 65")
    await customer.tap("➕ Add to cart")
    await customer.tap("➕ Add to cart")

    await server.restart()  # idle, with a cart
    cart = await customer.send("/cart")
    assert "• Fresh Milk 500ml × 2 = KES 130" in cart
    await customer.tap("✅ Checkout")
    assert await step_of(database, shop, customer) == "checkout.name"

    await server.restart()  # waiting for the name
    assert "Your phone number" in await customer.send("Njeri Wambui")

    await server.restart()  # waiting for the phone
    delivery = await customer.send("0711 222 333")
    assert await step_of(database, shop, customer) == "checkout.delivery"

    await server.restart()  # waiting for a button: the one sent before the restart still works
    assert "Where should we deliver?" in await customer.tap("🚚 Delivery", message=delivery.last)

    await server.restart()  # waiting for the address
    summary = await customer.send("Ngong Road, opposite the mosque")
    assert "Name: Njeri Wambui\nPhone: 0711 222 333\nDelivery: Ngong Road, opposite the mosque" in summary

    await server.restart()  # the summary is shown
    code = order_code((await customer.tap("✅ Confirm order")).text)

    await customer.tap("💵 Pay by hand and upload proof")
    assert await step_of(database, shop, customer) == "pay.proof"

    await server.restart()  # waiting for the proof
    assert "type the payment reference" in await customer.document("receipt.pdf")
    assert await step_of(database, shop, customer) == "pay.reference"

    await server.restart()  # waiting for the reference
    assert f"Your proof for order {code} was sent to the shop" in await customer.send("RKT9NJERI2")

    await server.restart()  # the proof is with the merchant
    await server.settle()
    ask = await merchant.tap("❌ Reject", message=merchant.find(f"Proof of payment for order {code}"))
    assert f"Why is the proof for order {code} rejected?" in ask
    await server.restart()  # waiting for the merchant's reason
    assert "❌ Rejected." in await merchant.send("The amount is not on our statement")
    await server.settle()
    rejected = customer.find("could not accept your proof")
    assert "Reason: The amount is not on our statement" in rejected.content

    await server.restart()  # the customer's "upload again" button outlives a restart too
    await customer.tap("📎 Upload a new proof", message=rejected)
    assert "was sent to the shop" in await customer.photo(caption="RKT9NJERI3")
    await server.settle()
    assert "✅ Approved." in await merchant.send(f"/approve {code}")
    await server.settle()
    assert customer.count("Payment received") == 1
    assert "Reference: RKT9NJERI3" in customer.find("Payment received").content
    orders = await orders_of(database, shop)
    assert [(o.code, o.status, o.delivery_address) for o in orders] == [
        (code, "paid", "Ngong Road, opposite the mosque")
    ]


@pytest.mark.parametrize("server", ["polling"], indirect=True)
async def test_what_is_sent_while_the_server_is_down_is_answered_after_it_restarts(
    server: ShopServer, database: Database
) -> None:
    shop = await server.add_shop()
    await server.start()
    customer = server.person(shop, 5005, "Kamau")
    await customer.send("/start")
    await customer.tap("Household")
    await customer.tap("Bar Soap 800g · KES 120")
    await customer.tap("➕ Add to cart")
    await customer.send("/cart")
    await customer.tap("✅ Checkout")
    await customer.send("Kamau Njoroge")

    # Nobody polls while the server is down: the customer's answers wait at Telegram, in order.
    await server.stop()
    await customer.user.send_text("0733 444 555")
    await customer.user.send_command("/orders")
    assert not server.fake.bot(shop.token).all_handed_over
    await server.start()
    await server.idle()
    question, orders = customer.messages[-2:]
    assert (question.content, orders.content) == ("Delivery or pickup?", "You have no orders yet.")
    assert await step_of(database, shop, customer) == "checkout.delivery"

    # A button pressed while the server is down: by the time it is handled, Telegram no longer takes an answer to
    # the press (its spinner gave up long ago), but the customer still gets what the press did.
    await server.stop()
    await customer.user.press("🏪 Pickup", message=question)
    server.fake.fail_next(
        "answerCallbackQuery", 400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )
    await server.start()
    await server.idle()
    assert not server.fake.pending_failures
    summary = customer.messages[-1]
    assert "Name: Kamau Njoroge\nPhone: 0733 444 555\nDelivery: pickup at the shop" in summary.content
    await server.restart()
    code = order_code((await customer.tap("✅ Confirm order", message=summary)).text)
    assert [(order.code, order.status) for order in await orders_of(database, shop)] == [(code, "awaiting_payment")]
