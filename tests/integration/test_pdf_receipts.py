"""PDF receipts as the customer and the merchant get them: the "📄 Receipt (PDF)" button under the chat receipt, and
``/receipt CODE``; each answered through the admin gate, as the server routes it, and read back with pypdf."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import select, update

from admin import gate
from admin.shops.receipt_details import set_receipt_details
from core.buttons import ReceiptPdf
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Customer, OutboxMessage, Tenant
from core.fiscal_stamp import FiscalStamps
from core.messages import Message
from core.vault import Vault
from flows import router
from flows.context import Reply
from flows.inbound import Actor, Inbound
from tests.integration.test_stock_and_review import SUGAR, TEA, Shelf, shelf
from tests.support.fiscal import STAMP, FixedStamps
from tests.support.seed import seed_shop

WANJIRU = Actor(5001, 5001, "Wanjiru")
OTIENO = Actor(5002, 5002, "Otieno")


async def routed(shop: Shelf, actor: Actor, inbound: Inbound, fiscal: FiscalStamps | None = None) -> Reply:
    async with shop.database.uow() as uow:
        tenant = await uow.session.get(Tenant, shop.shop.tenant_id)
        assert tenant is not None
        ctx = await router.open_context(uow.session, tenant, actor, shop.clock)
        reply, _ = await gate.route(ctx, inbound, fiscal=fiscal)
        await uow.commit()
    return reply


def pdf_lines(message: Message) -> list[str]:
    assert message.attachment is not None
    assert message.attachment.data.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(message.attachment.data)).pages[0].extract_text().split("\n")


async def speaks(shop: Shelf, chat: int, language: str) -> None:
    async with shop.database.uow() as uow:
        await uow.session.execute(
            update(Customer).where(Customer.chat_id == chat).values(language=language, language_chosen=True)
        )
        await uow.commit()


async def receipt_buttons(shop: Shelf, chat: int) -> list[list[dict[str, str]]]:
    async with shop.database.uow() as uow:
        rows = await uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.chat_id == chat).order_by(OutboxMessage.id)
        )
        receipts = [row.payload for row in rows if "✅" in str(row.payload.get("text", ""))]
    assert len(receipts) == 1
    buttons: list[list[dict[str, str]]] = receipts[0]["buttons"]
    return buttons


async def vat_shop(database: Database, vault: Vault, clock: FakeClock) -> Shelf:
    shop = await shelf(database, vault, clock)
    async with database.uow() as uow:
        await set_receipt_details(
            uow.session,
            "mama-mboga",
            address="Moi Avenue 12\\nNairobi",
            tax_id="p051234567x",
            vat_rate="16",
            now=clock.now(),
        )
        await uow.commit()
    return shop


async def test_the_paid_receipt_offers_a_pdf_in_the_customers_language(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await vat_shop(database, vault, clock)
    payment = await shop.order({TEA: 2, SUGAR: 1})
    await speaks(shop, WANJIRU.chat_id, "sw")
    await shop.pay(payment)
    data = ReceiptPdf(payment.order_id).pack()
    assert await receipt_buttons(shop, WANJIRU.chat_id) == [[{"text": "📄 Risiti (PDF)", "data": data}]]

    reply = await routed(shop, WANJIRU, Inbound.pressed(data))
    assert reply.notice == "📄 Risiti ya oda ST0001" and not reply.refused
    (document,) = reply.messages
    assert document.text == "📄 Risiti ya oda ST0001"
    assert document.attachment is not None and document.attachment.name == "receipt-ST0001.pdf"
    assert pdf_lines(document) == [
        "Mama Mboga Store",
        "Moi Avenue 12",
        "Nairobi",
        "PIN ya kodi: P051234567X",
        "Risiti ya oda ST0001",
        "Oda iliwekwa: 15 Jan 2026, 12:00 EAT",
        "Mteja: Wanjiru Kamau",
        "Bidhaa Idadi Bei ya kimoja Kiasi",
        "Kericho tea 500g 2 KES 350 KES 700",
        "Sugar 1kg 1 KES 190 KES 190",
        "Kiasi kabla ya VAT KES 767.24",  # 890 − 122.76
        "VAT 16% (imejumuishwa) KES 122.76",  # 890 × 16 / 116 = 122.7586…, half up
        "Jumla KES 890",
        "Imelipwa KES 890 kupitia malipo ya moja kwa moja, 15 Jan 2026, 12:00 EAT",
        f"Nambari ya muamala: TXN{payment.id}",
        "Asante kwa kununua kutoka Mama Mboga Store.",
    ]


async def test_the_receipt_total_is_the_amount_paid_with_vat_taken_out_of_it(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await vat_shop(database, vault, clock)
    payment = await shop.order({SUGAR: 1})
    await shop.pay(payment)
    reply = await routed(shop, WANJIRU, Inbound.pressed(ReceiptPdf(payment.order_id).pack()))
    lines = pdf_lines(reply.messages[0])
    assert payment.amount_minor == 19_000
    assert lines[lines.index("Amount before VAT KES 163.79") :][:3] == [
        "Amount before VAT KES 163.79",  # 190 x 16/116 = 26.2069 of VAT, rounded half up
        "VAT 16% (included) KES 26.21",
        "Total KES 190",
    ]


async def test_nobody_else_gets_a_customers_receipt(database: Database, vault: Vault, clock: FakeClock) -> None:
    shop = await shelf(database, vault, clock)
    payment = await shop.order({TEA: 1})
    await shop.pay(payment)
    pressed = Inbound.pressed(ReceiptPdf(payment.order_id).pack())
    other = await routed(shop, OTIENO, pressed)
    assert (other.messages, other.notice, other.refused) == ([], "That receipt is not available.", True)
    missing = await routed(shop, WANJIRU, Inbound.pressed(ReceiptPdf(987654).pack()))
    assert (missing.messages, missing.notice) == ([], "That receipt is not available.")
    unpaid = await shop.order({SUGAR: 1}, chat=OTIENO.chat_id)
    waiting = await routed(shop, OTIENO, Inbound.pressed(ReceiptPdf(unpaid.order_id).pack()))
    assert (waiting.messages, waiting.notice) == ([], "Order ST0002 is not paid yet: its receipt comes once it is.")
    tried = await routed(shop, OTIENO, Inbound.cmd("receipt", "ST0001"))
    assert [m.text for m in tried.messages] == ["This command is for the shop's admins."]


async def test_the_merchant_sends_any_orders_receipt_with_its_tax_stamp(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await shelf(database, vault, clock)
    payment = await shop.order({TEA: 1})
    await speaks(shop, WANJIRU.chat_id, "fr")
    await shop.pay(payment)
    admin = Actor(shop.shop.admin_id, shop.shop.admin_id, "Mama")
    reply = await routed(shop, admin, Inbound.cmd("receipt", "st0001"), FixedStamps({payment.order_id: STAMP}))
    (document,) = reply.messages
    assert document.text == "📄 Reçu de la commande ST0001"  # the customer's language: the receipt is theirs
    lines = pdf_lines(document)  # pypdf reads French's no-break space before ":" as a space
    assert lines[lines.index("KRA eTIMS") :] == [
        "KRA eTIMS",
        "N° de facture : 0042/17",
        "Unité de contrôle : KRACU0100000001",
        "Signature : V5ZA-3QJ2-ZC6B-QLRM",
        "Signée le : 15 Jan 2026, 12:05 EAT",
        "Merci de votre achat chez Mama Mboga Store.",
    ]
    assert len(PdfReader(io.BytesIO(document.attachment.data if document.attachment else b"")).pages[0].images) == 1
    unstamped = await routed(shop, admin, Inbound.cmd("receipt", "ST0001"))
    assert "KRA eTIMS" not in pdf_lines(unstamped.messages[0])


async def test_receipt_commands_that_name_no_paid_order_are_refused(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await shelf(database, vault, clock)
    await shop.order({TEA: 1})
    other = Shelf(database, clock, await seed_shop(database, vault, clock, slug="duka-jingine", admin_id=9002))
    await other.pay(await other.order({TEA: 1}, chat=7001))  # ST0002, paid, of another shop
    admin = Actor(shop.shop.admin_id, shop.shop.admin_id, "Mama")

    async def said(args: str) -> list[str]:
        return [m.text for m in (await routed(shop, admin, Inbound.cmd("receipt", args))).messages]

    assert await said("") == ["Usage: /receipt CODE"]
    assert await said("ST0001") == ["Order ST0001 is not paid yet: its receipt comes once it is."]
    assert await said("ST0002") == ["No order ST0002 in this shop."]
    assert await said("ST0001-and-much-more-than-a-code") == ["No order ST0001-and-much-more in this shop."]
