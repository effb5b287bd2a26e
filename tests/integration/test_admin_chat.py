"""The merchant's shop in the chat, through the real server, the real database and the fake Telegram: what an admin
sees and can do, what everyone else is refused, and what the customer is told."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db.engine import Database
from core.db.tables import AdminInvite, AuditEntry, Order, Proof, Tenant, TenantAdmin
from core.vault import Vault
from tests.support.app import FUNDI_CATALOG, FUNDI_INSTRUCTIONS, Person, Shop, ShopServer, place_order, shop_server

NOT_ADMIN = "This command is for the shop's admins."
MILK = "Fresh Milk 500ml · KES 65"


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


async def pay_by_hand(customer: Person, caption: str) -> None:
    await customer.tap("💵 Pay by hand and upload proof")
    assert "was sent to the shop" in await customer.photo(caption=caption)


def untimed(text: str) -> str:
    """``text`` with each shop time ("04 Dec 16:17 EAT") as TIME, for a test that cannot know the minute."""
    return re.sub(r"\b\d\d [A-Z][a-z]{2} \d\d:\d\d EAT\b", "TIME", text)


async def audit_of(database: Database, shop: Shop) -> list[tuple[int | None, str, str | None, bool]]:
    async with database.uow() as uow:
        rows = await uow.session.scalars(
            select(AuditEntry).where(AuditEntry.tenant_id == shop.tenant_id).order_by(AuditEntry.id)
        )
        return [(row.actor_tg_id, row.action, row.target, row.allowed) for row in rows]


COMMANDS = [
    "/admin",
    "/pending",
    "/approve ABC123",
    "/reject ABC123 no money",
    "/order ABC123",
    "/ship ABC123",
    "/refund ABC123",
    "/accept ABC123",
    "/testmode on",
    "/sales week",
    "/invite",
    "/admins",
    "/removeadmin 9001",
    "/alerts off",
]


async def test_every_merchant_command_is_for_this_shops_admins_only(server: ShopServer, database: Database) -> None:
    mama = await server.add_shop(admins=(9001,))
    fundi = await server.add_shop(
        "fundi", "Fundi Electronics", admins=(9002,), catalog=FUNDI_CATALOG, instructions=FUNDI_INSTRUCTIONS
    )
    await server.start()
    admin = server.person(mama, 9001, "Mama")
    customer = server.person(mama, 5001, "Wanjiru")
    other_admin = server.person(mama, 9002, "Fundi")  # an admin, but of the other shop
    assert "You are an admin of this shop" in await server.person(fundi, 9002).send("/start")

    for command in COMMANDS:
        for outsider in (customer, other_admin):
            refused = await outsider.send(command)
            assert refused.text == NOT_ADMIN, (command, refused)
        answered = await admin.send(command)
        assert NOT_ADMIN not in answered, (command, answered)
    # Buttons of the merchant's side are refused the same way.
    buttons = ("am:0", "ol:0:0", "sl:1", "tm:1", "sh:1", "oc:1", "ocy:1", "mo:1", "ap:1", "acc:1", "rfy:1", "rfn:1")
    for data in buttons:
        pressed = await customer.tap(message=customer.messages[-1], data=data)
        assert pressed.notice == NOT_ADMIN, data

    # /orders is the customer's own list for a customer, the shop's list for the admin.
    assert (await customer.send("/orders")).text == "You have no orders yet."
    assert "No orders (all)." in await admin.send("/orders")

    audit = await audit_of(database, mama)
    refusals = [entry for entry in audit if not entry[3] and entry[1] == "refused"]
    assert {actor for actor, *_ in refusals} == {5001, 9002}
    assert len(refusals) == 2 * len(COMMANDS) + len(buttons)
    # Nothing changed in the shop for the refused /testmode and /alerts; the admin's own actions are audited.
    async with database.uow() as uow:
        tenant = await uow.session.get(Tenant, mama.tenant_id)
        assert tenant is not None and tenant.test_mode is False
    assert (9001, "admin.invited", None, True) in audit
    assert any(entry[:2] == (9001, "admin.remove") and entry[3] is False for entry in audit)  # the last admin


async def test_proof_review_shows_fraud_signals_and_orders_are_fulfilled(
    server: ShopServer, database: Database
) -> None:
    shop = await server.add_shop()
    await server.start()
    admin = server.person(shop, 9001, "Mama")
    await admin.send("/start")
    first, second = server.person(shop, 5001, "Wanjiru"), server.person(shop, 5002, "Otieno")

    code = await place_order(first, product=MILK)
    await pay_by_hand(first, "QK7ABC1234 KES 100")  # the amount typed is not the order total
    other = await place_order(second, product=MILK)
    await pay_by_hand(second, "QK7ABC1234")  # the same receipt, the same image
    await server.settle()

    async with database.uow() as uow:
        hashes = list(await uow.session.scalars(select(Proof.content_sha256).order_by(Proof.id)))
    assert hashes[0] == hashlib.sha256(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00receipt\xff\xd9").hexdigest()
    assert hashes[0] == hashes[1]

    pending = await admin.send_settled("/pending")
    assert "🧾 Proofs waiting for review: 2" in pending
    first_card = admin.find(f"Proof of payment for order {code}")
    assert "⚠️ The customer typed KES 100, but the order total is KES 65." in first_card.content
    assert "⚠️ Reference QK7ABC1234 was already used in this shop (1×)." in first_card.content
    second_card = admin.find(f"Proof of payment for order {other}")
    assert "⚠️ The same file was already sent as proof #" in second_card.content
    assert "typed" not in second_card.content

    menu = await admin.send("/admin")
    assert "🟢 LIVE" in menu.text and "Proofs to review: 2" in menu.text and "Orders to ship: 0" in menu.text
    await admin.send(f"/approve {code}")
    await server.settle()  # the "order paid" alert comes through the outbox; it must not land in a later answer
    assert "Orders to ship: 1" in await admin.send("/admin")

    listed = await admin.send("/orders paid")
    assert code in listed.text and other not in listed.text
    unpaid = await admin.tap("⏳ Unpaid")
    assert other in unpaid.text and code not in unpaid.text

    await server.settle()
    card = await admin.send(f"/order {code}")
    # The history in words, each time in the shop's zone and labelled (checked to the minute in test_order_card.py).
    assert untimed(card.text) == (
        f"Order {code} – paid\nAmount: KES 65\nCustomer: Wanjiru Kamau (0712 345 678)\nDelivery: pickup at the shop\n"
        "• Fresh Milk 500ml × 1\n"
        "Payment: manual payment – paid · KES 65 · TIME · reference given: QK7ABC1234 KES 100\n"
        "History:\n"
        "TIME Order placed\n"
        "TIME Proof sent by the customer (reference given: QK7ABC1234 KES 100)\n"
        f"TIME Message sent to the shop: “🧾 Proof of payment for order {code} Amount due: KES 65…”\n"
        "TIME Proof approved by admin Mama (9001)\n"
        "TIME Paid KES 65 by manual payment\n"
        f"TIME Message sent to the customer: “✅ Payment received. Thank you! Order: {code} Amount: KES 65…”\n"
        # The approval edits the proof message (no separate "order paid" alert since issue 12.8).
        f"TIME Message to the shop updated: “🧾 Proof of payment for order {code} Amount due: KES 65…”"
    )

    shipped = await admin.send(f"/ship {code} G4S parcel 12345")
    assert f"Order {code} is marked shipped" in shipped
    # A refused /ship says why in the words of the order's state, and what to do instead.
    assert untimed((await admin.send(f"/ship {code}")).text) == f"Order {code} was already shipped on TIME."
    assert (await admin.send(f"/ship {other}")).text == (
        f"Order {other} is not paid yet; it can be shipped once it is paid."
    )
    assert (await admin.send("/order")).text == (
        "Usage: /order CODE – one order with its payments and history, for example: /order A7K2QX (/orders lists them)"
    )
    await server.settle()
    told = first.find(f"Your order {code} is on its way")
    assert "Note from the shop: G4S parcel 12345" in told.content

    # Cancelling the unpaid order: from its card, with a confirmation.
    card = await admin.send(f"/order {other}")
    await admin.tap("✖ Cancel this unpaid order", message=card.last)
    assert f"Order {other} is cancelled" in await admin.tap("Yes, cancel the order")
    await server.settle()
    assert second.find(f"Order {other} was cancelled by the shop")
    assert (await admin.send(f"/ship {other}")).text == f"Order {other} was cancelled; there is nothing to ship."

    async with database.uow() as uow:
        order = await uow.session.scalar(select(Order).where(Order.code == code))
        assert order is not None and order.status == "shipped" and order.tracking_note == "G4S parcel 12345"
    audit = await audit_of(database, shop)
    assert (9001, "order.shipped", code, True) in audit and (9001, "order.cancelled", other, True) in audit


async def test_test_mode_banner_test_orders_and_sales(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    await server.start()
    admin = server.person(shop, 9001, "Mama")
    await admin.send("/start")
    live = await place_order(server.person(shop, 5001), product=MILK)
    await pay_by_hand(server.person(shop, 5001), "QK7LIVE001")
    await admin.send(f"/approve {live}")

    asked = await admin.send("/testmode on")
    assert "Turn test mode on?" in asked and "🟢 LIVE" in asked
    async with database.uow() as uow:  # nothing changes before the confirmation
        tenant = await uow.session.get(Tenant, shop.tenant_id)
        assert tenant is not None and not tenant.test_mode
    assert "Test mode is on" in await admin.tap("🧪 Yes, turn test mode on")
    assert "🧪 TEST MODE" in (await admin.send("/admin")).text

    tester = server.person(shop, 5002, "Tester")
    assert "🧪 TEST MODE" in (await tester.send("/start")).messages[0].content
    test_code = await place_order(tester, product="Cooking Oil 1L · KES 380")
    placed = tester.find(f"Order {test_code} is placed")
    assert placed.content.startswith("🧪 TEST MODE")
    assert "Pay by hand: upload any picture as the test proof." in placed.content
    await pay_by_hand(tester, "TEST000001")
    await admin.send(f"/approve {test_code}")
    async with database.uow() as uow:
        flags = dict((await uow.session.execute(select(Order.code, Order.is_test))).all())
    assert flags == {live: False, test_code: True}

    await server.settle()  # the approvals' alerts reach the merchant first, so the report is the last reply
    report = await admin.send("/sales today")
    assert report.messages[0].content.startswith(
        "📊 Sales today\nGross sales: KES 65 (orders paid: 1)\nRefunds: KES 0\nNet: KES 65\n"
        "Waiting for payment: KES 0 (orders: 0)\n"
    )
    assert "KES 380" not in report.text and "Test orders are not counted." in report.text
    assert "• Fresh Milk 500ml: KES 65" in report.text and "• manual payment: KES 65" in report.text
    chart = report.last
    assert chart.photo is not None and chart.photo.data.startswith(b"\x89PNG")

    assert "Turn test mode off?" in await admin.send("/testmode off")
    gone_live = await admin.tap("🟢 Yes, go live")
    assert gone_live.text == "✅ Test mode is off: the shop is now 🟢 LIVE and payments are real."
    assert "TEST MODE" not in (await tester.send("/start")).messages[0].content
    audit = await audit_of(database, shop)
    assert [a for _, a, _, _ in audit if a.startswith("testmode")] == ["testmode.on", "testmode.off"]


async def test_invites_are_one_time_and_expire_and_the_last_admin_stays(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop(admins=(9001,))
    other_shop = await server.add_shop("fundi", "Fundi", admins=(9002,), catalog=FUNDI_CATALOG)
    await server.start()
    admin = server.person(shop, 9001, "Mama")
    assert "The last admin cannot be removed" in await admin.send("/removeadmin 9001")

    invited = await admin.send("/invite")
    code = invited.text.split("Invitation code: ", 1)[1].split("\n", 1)[0]
    # The code belongs to this shop only.
    assert "not valid for this shop" in await server.person(other_shop, 7001).send(f"/join {code}")
    newcomer = server.person(shop, 7001, "Baraka")
    assert "You are now an admin of Mama Mboga Store" in await newcomer.send(f"/join {code}")
    assert NOT_ADMIN not in await newcomer.send_settled("/pending")
    assert "already used" in await server.person(shop, 7002, "Late").send(f"/join {code}")

    # A code past its expiry is refused (seeded with a known code, as /invite stores it: hashed).
    async with database.uow() as uow:
        uow.session.add(
            AdminInvite(
                tenant_id=shop.tenant_id,
                code_sha256=hashlib.sha256(b"EXPIRED234").hexdigest(),
                created_by=9001,
                expires_at=datetime.now(UTC) - timedelta(minutes=1),
                created_at=datetime.now(UTC) - timedelta(days=1),
            )
        )
        await uow.commit()
    assert "has expired" in await server.person(shop, 7003, "Slow").send("/join EXPIRED234")

    assert "7001" in await admin.send("/admins")
    assert "7001 is no longer an admin" in await admin.send("/removeadmin 7001")
    assert NOT_ADMIN in await newcomer.send_settled("/pending")
    assert "The last admin cannot be removed" in await admin.send("/removeadmin 9001")
    async with database.uow() as uow:
        admins = list(
            await uow.session.scalars(select(TenantAdmin.tg_user_id).where(TenantAdmin.tenant_id == shop.tenant_id))
        )
    assert admins == [9001]
    audit = await audit_of(database, shop)
    assert [(a, allowed) for _, a, _, allowed in audit if a.startswith("admin.j")] == [
        ("admin.joined", True),
        ("admin.join", False),
        ("admin.join", False),
    ]


async def test_alerts_can_go_to_a_group(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    await server.start()
    admin = server.person(shop, 9001, "Mama")
    await admin.send("/start")
    group = server.fake.group(shop.token, -100200300, "Mama Mboga staff")
    assert "Alerts go to the group -100200300" in await admin.send("/alerts -100200300")
    customer = server.person(shop, 5001)
    code = await place_order(customer, product=MILK)
    await pay_by_hand(customer, "QK7GROUP01")
    await server.settle()
    assert "will arrive in this group" in group.messages[0].content
    assert any(f"Proof of payment for order {code}" in m.content for m in group.messages)
    assert admin.count(f"Proof of payment for order {code}") == 0
    assert "each admin again" not in await admin.send("/alerts off")
    async with database.uow() as uow:
        tenant = await uow.session.get(Tenant, shop.tenant_id)
        assert tenant is not None and tenant.alert_chat_id is None
