"""Receipts and exports reach the chat as documents through the real server and the fake Bot API (sendDocument with
an upload): the customer's "📄 Receipt (PDF)" button, the merchant's ``/receipt`` and ``/export``."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from core.db.engine import Database
from core.vault import Vault
from tests.integration.test_sales_report import paid_by_hand
from tests.support.app import ShopServer, shop_server


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


async def test_a_paid_order_gets_its_pdf_and_the_merchant_the_months_csv(server: ShopServer) -> None:
    shop = await server.add_shop()
    await server.start()
    admin = server.person(shop, 9001, "Mama")
    await admin.send("/start")
    customer = server.person(shop, 5001, "Wanjiru")
    code = await paid_by_hand(server, admin, customer)

    receipt = customer.find("Payment received")
    assert [[button.text for button in row] for row in receipt.markup.inline][-1] == ["📄 Receipt (PDF)"]
    pressed = await customer.tap("📄 Receipt (PDF)")
    document = pressed.last
    assert (document.content, pressed.notice) == (f"📄 Receipt for order {code}", f"📄 Receipt for order {code}")
    assert document.document is not None and document.document.file_name == f"receipt-{code}.pdf"
    text = PdfReader(io.BytesIO(document.document.data)).pages[0].extract_text()
    assert f"Receipt for order {code}" in text.split("\n")
    assert "Fresh Milk 500ml 1 KES 65 KES 65" in text.split("\n")

    again = (await admin.send(f"/receipt {code}")).last
    assert again.document is not None and again.document.file_name == f"receipt-{code}.pdf"
    export = (await admin.send("/export")).last
    assert export.document is not None and export.document.file_name is not None
    assert export.document.file_name.startswith(f"orders-{shop.slug}-") and export.document.file_name.endswith(".csv")
    assert export.content.split("\n")[1] == "Paid: KES 65 · Refunds: KES 0 · Net: KES 65"
