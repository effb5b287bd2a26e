"""The customer's conversation through the router, on the real database: what the customer reads at each step."""

from __future__ import annotations

from sqlalchemy import func, select

from core.clock import FakeClock
from core.db.engine import Database
from core.db.repos.tenants import TenantRepository
from core.db.tables import CartItem, Order, OutboxMessage, Payment
from core.messages import Message
from core.vault import Vault
from flows.context import FlowContext, Reply
from flows.inbound import Actor, Inbound, Kind, Upload, UploadKind
from flows.router import handle, open_context
from tests.support.seed import seed_shop

CUSTOMER = Actor(tg_user_id=5001, chat_id=5001, display_name="Wanjiru")


class Chat:
    def __init__(self, database: Database, clock: FakeClock, tenant_id: int, actor: Actor = CUSTOMER) -> None:
        self.database, self.clock, self.tenant_id, self.actor = database, clock, tenant_id, actor

    async def send(self, inbound: Inbound) -> Reply:
        async with self.database.uow() as uow:
            tenant = await TenantRepository(uow.session).by_id(self.tenant_id)
            assert tenant is not None
            ctx = await open_context(uow.session, tenant, self.actor, self.clock)
            reply = await self.route(ctx, inbound)
            await uow.commit()
            return reply

    async def route(self, ctx: FlowContext, inbound: Inbound) -> Reply:
        """Where the input goes: the customer's conversation (a subclass may pass it through the merchant's gate)."""
        return await handle(ctx, inbound)

    async def say(self, words: str) -> Reply:
        return await self.send(Inbound.said(words))

    async def command(self, name: str, args: str = "") -> Reply:
        return await self.send(Inbound.cmd(name, args))

    async def press(self, reply: Reply | Message, label: str) -> Reply:
        messages = [reply] if isinstance(reply, Message) else reply.messages
        for message in reversed(messages):
            for row in message.buttons:
                for button in row:
                    if label in button.text and button.data:
                        return await self.send(Inbound.pressed(button.data))
        raise AssertionError(f"no button {label!r} in {[m.buttons for m in messages]}")


def texts(reply: Reply) -> str:
    return "\n".join(m.text for m in reply.messages) + (f"\n[{reply.notice}]" if reply.notice else "")


async def count(database: Database, table: type) -> int:
    async with database.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(table)) or 0)


async def test_customer_orders_and_uploads_a_proof(database: Database, vault: Vault, clock: FakeClock) -> None:
    shop = await seed_shop(database, vault, clock)
    chat = Chat(database, clock, shop.tenant_id)

    start = await chat.command("start")
    assert "Mama Mboga Store" in texts(start)
    groceries = await chat.press(start, "Groceries")
    assert "page 1 of 2" in texts(groceries)
    page_two = await chat.press(groceries, "Next")
    assert "page 2 of 2" in texts(page_two)
    product = await chat.press(groceries, "Pishori rice")
    assert "KES 420" in texts(product)
    added = await chat.press(product, "Add to cart")
    assert added.notice == "Added Pishori rice 2kg to your cart"
    cart = await chat.command("cart")
    assert "Total: KES 420" in texts(cart)
    cart = await chat.press(cart, "+")
    assert "Total: KES 840" in texts(cart)

    ask_name = await chat.press(cart, "Checkout")
    assert "name" in texts(ask_name)
    assert "phone" in texts(await chat.say("Wanjiru Kamau"))
    refused = await chat.say("12345")
    assert "does not look like" in texts(refused) or "not valid" in texts(refused)
    delivery = await chat.say("0712 345 678")
    address = await chat.press(delivery, "Delivery")
    summary = await chat.say("Kilimani, Argwings Kodhek Rd, blue gate")
    assert "Phone: 0712 345 678" in texts(summary) and "KES 840" in texts(summary)
    placed = await chat.press(summary, "Confirm order")
    assert "Order " in texts(placed) and "KES 840" in texts(placed)
    assert await count(database, CartItem) == 0

    instructions = await chat.press(placed, "Pay by hand")
    assert "Till 123456" in texts(instructions)
    sticker = await chat.send(Inbound(Kind.UPLOAD, upload=Upload(UploadKind.STICKER, "stk", "stk-u")))
    assert sticker.refused and "Stickers" in texts(sticker)
    huge = Upload(UploadKind.DOCUMENT, "doc-big", "doc-big-u", size=25 * 1024 * 1024)
    assert "too large" in texts(await chat.send(Inbound(Kind.UPLOAD, upload=huge)))
    photo = Upload(UploadKind.PHOTO, "photo-1", "photo-1-u", size=120_000)
    ask_ref = await chat.send(Inbound(Kind.UPLOAD, upload=photo))
    assert "reference" in texts(ask_ref)
    received = await chat.say("QK7ABC1234")
    assert "was sent to the shop" in texts(received)

    async with database.uow() as uow:
        payment = await uow.session.scalar(select(Payment))
        assert payment is not None and payment.status == "under_review"
        order = await uow.session.scalar(select(Order))
        assert order is not None and order.status == "awaiting_payment" and order.total_minor == 84000
        alerts = list(await uow.session.scalars(select(OutboxMessage)))
        assert [a.chat_id for a in alerts] == [shop.admin_id]
        assert alerts[0].payload["photo"] == "photo-1"
        assert "QK7ABC1234" in alerts[0].payload["text"]
    assert address.messages  # the address question was asked


async def test_bad_quantities_change_nothing(database: Database, vault: Vault, clock: FakeClock) -> None:
    shop = await seed_shop(database, vault, clock)
    chat = Chat(database, clock, shop.tenant_id)
    start = await chat.command("start")
    product = await chat.press(await chat.press(start, "Groceries"), "Pishori rice")
    await chat.press(product, "Add to cart")
    cart = await chat.command("cart")
    ask = await chat.press(cart, "Pishori rice")
    assert "How many" in texts(ask)
    for typed in ["0", "-1", "abc", "1000000000", "2.5", "100"]:
        reply = await chat.say(typed)
        assert reply.refused, typed
    async with database.uow() as uow:
        assert await uow.session.scalar(select(CartItem.quantity)) == 1
    assert "× 3" in texts(await chat.say("3"))
    assert "empty" in texts(await chat.press(await chat.command("cart"), "✕"))


async def test_tampered_and_stale_buttons_are_refused(database: Database, vault: Vault, clock: FakeClock) -> None:
    shop = await seed_shop(database, vault, clock)
    other = await seed_shop(database, vault, clock, slug="other", bot_token="222222:AAE-other-000000000000000000000")
    chat = Chat(database, clock, shop.tenant_id)
    async with database.uow() as uow:
        foreign = await uow.session.scalar(select(func.max(CartItem.id)))  # none yet
    assert foreign is None
    # Typed buttons with values we never sent, or not ours at all (the form before versions is tested as expired).
    tampered = ["add.1:999999", "add.1", "add.1:1:2", "cat.1:-1:0", "pm.1:1:9", "rm.1:abc", "prod.1:99999", "add:abc"]
    for data in [*tampered, "x" * 64, "delete_all", "add.1:"]:
        reply = await chat.send(Inbound.pressed(data))
        assert "no longer valid" in texts(reply), data
    # a product id of another tenant is as unknown as a made-up one
    async with database.uow() as uow:
        from core.db.tables import Product

        other_product = await uow.session.scalar(select(Product.id).where(Product.tenant_id == other.tenant_id))
    assert "no longer valid" in texts(await chat.send(Inbound.pressed(f"add.1:{other_product}")))
    assert await count(database, CartItem) == 0
    unknown = await chat.command("frobnicate")
    assert unknown.refused and "Unknown command /frobnicate" in texts(unknown)
    assert "did not understand" in texts(await chat.say("hello?"))
