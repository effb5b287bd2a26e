"""A promo discount fixed on an order is printed on its PDF receipt, before the VAT that is worked out on what was
paid."""

from __future__ import annotations

from sqlalchemy import update

from core.buttons import ReceiptPdf
from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Order, Payment
from core.vault import Vault
from flows.inbound import Inbound
from tests.integration.test_pdf_receipts import WANJIRU, pdf_lines, routed, vat_shop
from tests.integration.test_stock_and_review import TEA


async def test_the_pdf_receipt_shows_the_discount_and_the_vat_of_the_total_after_it(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await vat_shop(database, vault, clock)
    payment = await shop.order({TEA: 2})  # KES 700
    async with database.uow() as uow:  # as checkout fixes it: KARIBU100 took KES 100 off
        await uow.session.execute(
            update(Order)
            .where(Order.id == payment.order_id)
            .values(total_minor=60_000, discount_minor=10_000, promo_code="KARIBU100")
        )
        await uow.session.execute(update(Payment).where(Payment.id == payment.id).values(amount_minor=60_000))
        await uow.commit()
    payment.amount_minor = 60_000
    await shop.pay(payment)
    assert "Promo KARIBU100: −KES 100" in "\n".join(await shop.texts(WANJIRU.chat_id))

    reply = await routed(shop, WANJIRU, Inbound.pressed(ReceiptPdf(payment.order_id).pack()))
    lines = pdf_lines(reply.messages[0])
    assert lines[lines.index("Kericho tea 500g 2 KES 350 KES 700") :][:5] == [
        "Kericho tea 500g 2 KES 350 KES 700",
        "Promo KARIBU100 −KES 100",
        "Amount before VAT KES 517.24",  # 600 − 82.76
        "VAT 16% (included) KES 82.76",  # 600 × 16 / 116 = 82.758…, half up
        "Total KES 600",
    ]
