"""The merchant's first sight of a proof (the alert with Approve / Reject) already carries the fraud signals."""

from __future__ import annotations

from sqlalchemy import select

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import OutboxMessage
from core.vault import Vault
from flows.inbound import Inbound, Kind, Upload, UploadKind
from tests.support.seed import seed_shop
from tests.unit.test_flow_journey import Chat


async def pay_by_proof(chat: Chat, reference: str) -> None:
    start = await chat.command("start")
    product = await chat.press(await chat.press(start, "Groceries"), "Pishori rice")
    await chat.press(product, "Add to cart")
    await chat.press(await chat.command("cart"), "Checkout")
    await chat.say("Wanjiru Kamau")
    await chat.press(await chat.say("0712 345 678"), "Pickup")
    placed = await chat.press(await chat.send(Inbound.pressed("confirm.1")), "Pay by hand")
    assert "Till" in placed.messages[0].text
    photo = Upload(UploadKind.PHOTO, "photo-same", "photo-same-unique", size=90_000)
    await chat.send(Inbound(Kind.UPLOAD, text=reference, upload=photo))


async def alerts(database: Database, admin_id: int) -> list[str]:
    async with database.uow() as uow:
        rows = await uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.chat_id == admin_id).order_by(OutboxMessage.id)
        )
        return [row.payload["text"] for row in rows]


async def test_the_first_alert_shows_a_reused_reference_a_resent_file_and_a_wrong_amount(
    database: Database, vault: Vault, clock: FakeClock
) -> None:
    shop = await seed_shop(database, vault, clock)
    chat = Chat(database, clock, shop.tenant_id)
    await pay_by_proof(chat, "QK7ABC1234")
    first = await alerts(database, shop.admin_id)
    assert len(first) == 1 and "⚠️" not in first[0]

    await pay_by_proof(chat, "QK7ABC1234 KES 100")
    second = (await alerts(database, shop.admin_id))[-1]
    assert "QK7ABC1234" in second
    warnings = [line for line in second.splitlines() if line.startswith("⚠️")]
    assert len(warnings) == 3, second
