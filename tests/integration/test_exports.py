"""``/export [MONTH]``: the month's orders and payments as a CSV document, whose money adds up to ``/sales``."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import update

from admin import exports, sales
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Order, Payment, Tenant
from core.fiscal_stamp import NoFiscalStamps
from core.shoptime import shop_zone
from core.vault import Vault
from flows.inbound import Actor, Inbound
from tests.integration.test_pdf_receipts import WANJIRU, pdf_lines, routed
from tests.integration.test_stock_and_review import SUGAR, TEA, Shelf, shelf
from tests.support.fiscal import STAMP, FixedStamps
from tests.support.refunds import as_admin, refund_confirmed


async def month_of_sales(database: Database, vault: Vault, clock: FakeClock) -> Shelf:
    """January 2026: three paid orders (one refunded in part), one unpaid, one test order paid."""
    shop = await shelf(database, vault, clock)
    for lines, chat in (({TEA: 1}, 5001), ({SUGAR: 2}, 5002), ({TEA: 2}, 5003)):
        await shop.pay(await shop.order(lines, chat=chat))
    await shop.order({SUGAR: 1}, chat=5004)  # placed, never paid
    test = await shop.order({TEA: 3}, chat=5005)
    async with database.uow() as uow:
        await uow.session.execute(update(Order).where(Order.id == test.order_id).values(is_test=True))
        await uow.session.execute(update(Payment).where(Payment.id == test.id).values(is_test=True))
        await uow.commit()
    await shop.pay(test)
    clock.advance(hours=2)
    refund = await refund_confirmed(database, clock, shop.shop.tenant_id, shop.shop.admin_id, "ST0002 100")
    done = refund.messages[0].buttons[0][0].data or ""
    await as_admin(database, clock, shop.shop.tenant_id, shop.shop.admin_id, Inbound.pressed(done))
    return shop


def admin_of(shop: Shelf) -> Actor:
    return Actor(shop.shop.admin_id, shop.shop.admin_id, "Mama")


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM: spreadsheets read the accents right
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


async def test_the_months_export_lists_orders_and_payments_and_adds_up_to_sales(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await month_of_sales(database, vault, clock)
    reply = await routed(shop, admin_of(shop), Inbound.cmd("export"))
    (document,) = reply.messages
    assert document.text == (
        "📒 Orders and payments, 2026-01\n"
        "Paid: KES 1,430 · Refunds: KES 100 · Net: KES 1,330\n"
        "Orders: 4 · Payments: 3\n"
        "Test orders are not counted."
    )
    assert document.attachment is not None and document.attachment.name == "orders-mama-mboga-2026-01.csv"
    rows = read_csv(document.attachment.data)
    assert rows[0] == list(exports.COLUMNS)
    assert [row[:8] for row in rows[1:] if row[0] == "order"] == [
        ["order", "ST0001", "2026-01-15 12:00", "paid", "Wanjiru Kamau", "Kericho tea 500g ×1", "350.00", "KES"],
        ["order", "ST0002", "2026-01-15 12:00", "paid", "Wanjiru Kamau", "Sugar 1kg ×2", "380.00", "KES"],
        ["order", "ST0003", "2026-01-15 12:00", "paid", "Wanjiru Kamau", "Kericho tea 500g ×2", "700.00", "KES"],
        ["order", "ST0004", "2026-01-15 12:00", "awaiting_payment", "Wanjiru Kamau", "Sugar 1kg ×1", "190.00", "KES"],
    ]
    payments = [row for row in rows[1:] if row[0] == "payment"]
    assert [(row[1], row[8], row[11], row[12], row[13], row[14], row[15], row[16]) for row in payments] == [
        ("ST0001", "manual", "paid", "2026-01-15 12:00", "350.00", "", "0.00", "no"),
        ("ST0002", "manual", "partially_refunded", "2026-01-15 12:00", "380.00", "2026-01-15 14:00", "100.00", "no"),
        ("ST0003", "manual", "paid", "2026-01-15 12:00", "700.00", "", "0.00", "no"),
    ]
    async with database.uow() as uow:
        tenant = await uow.session.get(Tenant, shop.shop.tenant_id)
        assert tenant is not None
        month = await sales.compute(uow.session, tenant, "month", clock.now())
    assert sum(int(float(row[13]) * 100) for row in payments) == month.gross == 143_000
    assert sum(int(float(row[15]) * 100) for row in payments) == month.refunds == 10_000
    refunded = await routed(shop, admin_of(shop), Inbound.cmd("receipt", "ST0002"))
    lines = pdf_lines(refunded.messages[0])
    assert lines[lines.index("Total KES 380") :][:4] == [
        "Total KES 380",
        "Paid KES 380 by manual payment, 15 Jan 2026, 12:00 EAT",
        f"Reference: {payments[1][10]}",  # the provider's reference, as in the export
        "Refunded: KES 100",
    ]


async def test_test_orders_and_tax_stamps_when_asked(database: Database, vault: Vault, clock: FakeClock) -> None:
    shop = await month_of_sales(database, vault, clock)
    async with database.uow() as uow:
        tenant = await uow.session.get(Tenant, shop.shop.tenant_id)
        assert tenant is not None
        start, end = exports.day_range(clock.now().date(), clock.now().date(), shop_zone(tenant))
        first = await uow.session.get(Order, 1)
        assert first is not None
        export = await exports.build(uow.session, tenant, start, end, FixedStamps({first.id: STAMP}), include_test=True)
    assert (export.orders, export.payments, export.gross, export.refunds) == (5, 4, 248_000, 10_000)
    book = load_workbook(io.BytesIO(export.xlsx()))
    sheet = book.active
    assert sheet is not None
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == list(exports.COLUMNS)
    assert values[1][:2] == ["order", "ST0001"] and values[1][-1] == "0042/17"  # the eTIMS invoice number
    assert [row[1] for row in values if row[0] == "order" and row[16] == "yes"] == ["ST0005"]
    assert [float(row[13]) for row in values if row[0] == "payment"] == [350.0, 380.0, 700.0, 1050.0]


async def test_bad_months_and_customers_are_refused(database: Database, vault: Vault, clock: FakeClock) -> None:
    shop = await month_of_sales(database, vault, clock)
    usage = "Usage: /export [MONTH]: MONTH as 2026-11, or 11 for the latest November; nothing for this month."
    for words in ("13", "0", "2026-00", "2026-13", "november", "1999-12", "2026-1-1", "-1"):
        reply = await routed(shop, admin_of(shop), Inbound.cmd("export", words))
        assert ([m.text for m in reply.messages], reply.refused) == ([usage], True), words
    december = await routed(shop, admin_of(shop), Inbound.cmd("export", "12"))  # the latest December: 2025's
    assert december.messages[0].text.startswith("📒 Orders and payments, 2025-12\nPaid: KES 0 ·")
    assert december.messages[0].attachment is not None
    assert read_csv(december.messages[0].attachment.data) == [list(exports.COLUMNS)]
    customer = await routed(shop, WANJIRU, Inbound.cmd("export"))
    assert [m.text for m in customer.messages] == ["This command is for the shop's admins."]


async def test_a_formula_in_a_name_stays_text(database: Database, vault: Vault, clock: FakeClock) -> None:
    shop = await shelf(database, vault, clock)
    paid = await shop.order({TEA: 1})
    async with database.uow() as uow:
        await uow.session.execute(
            update(Order).where(Order.id == paid.order_id).values(contact_name='=HYPERLINK("http://x","y")')
        )
        await uow.commit()
    await shop.pay(paid)
    async with database.uow() as uow:
        tenant = await uow.session.get(Tenant, shop.shop.tenant_id)
        assert tenant is not None
        start, end = exports.month_range("", clock.now(), shop_zone(tenant)) or (clock.now(), clock.now())
        export = await exports.build(uow.session, tenant, start, end, NoFiscalStamps())
    assert read_csv(export.csv())[1][4] == '\'=HYPERLINK("http://x","y")'
