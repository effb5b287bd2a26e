"""The merchant reviews proofs of manual payments in the chat: /pending, the Approve / Reject buttons, /approve CODE,
/reject CODE REASON. One decision per proof, whoever taps and however often: one paid transition, one receipt."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core.clock import utc
from core.db.engine import Database
from core.db.tables import AuditEntry, Order, OutboxMessage, Payment, PaymentEvent, Proof
from core.vault import Vault
from tests.support.app import ShopServer, place_order, send_proof, shop_server


@pytest.fixture
async def server(database: Database, vault: Vault, tmp_path: Path) -> AsyncIterator[ShopServer]:
    async with shop_server(database, vault, tmp_path, webhooks=True) as running:
        yield running


async def payment_state(database: Database, code: str) -> tuple[str, list[tuple[str, str]]]:
    """The order's status, and (payment status, proof status) for each of its proofs, oldest first."""
    async with database.uow() as uow:
        order = await uow.session.scalar(select(Order).where(Order.code == code))
        assert order is not None
        rows = await uow.session.execute(
            select(Payment.status, Proof.status)
            .join(Proof, Proof.payment_id == Payment.id)
            .where(Payment.order_id == order.id)
            .order_by(Proof.id)
        )
        return order.status, [(payment, proof) for payment, proof in rows]


async def newest_proof(database: Database, code: str) -> Proof:
    async with database.uow() as uow:
        proof = await uow.session.scalar(
            select(Proof)
            .join(Payment, Payment.id == Proof.payment_id)
            .join(Order, Order.id == Payment.order_id)
            .where(Order.code == code)
            .order_by(Proof.id.desc())
            .limit(1)
        )
    assert proof is not None
    return proof


async def decided_at(database: Database, code: str, form: str = "%H:%M") -> str:
    """When the newest proof of the order was decided, as a merchant in Nairobi reads it (the time of day)."""
    at = (await newest_proof(database, code)).decided_at
    assert at is not None
    return f"{utc(at).astimezone(ZoneInfo('Africa/Nairobi')):{form}} EAT"


async def decisions(database: Database) -> dict[str, int]:
    """How many times each kind of thing happened that a decision causes: paid events, receipts, audit entries."""
    async with database.uow() as uow:

        async def count(query: object) -> int:
            return int(await uow.session.scalar(query) or 0)  # type: ignore[call-overload]

        return {
            "paid events": await count(
                select(func.count()).select_from(PaymentEvent).where(PaymentEvent.outcome == "paid")
            ),
            "decision events": await count(
                select(func.count()).select_from(PaymentEvent).where(PaymentEvent.event_key.like("%:decision"))
            ),
            "receipts owed": await count(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.dedupe_key.like("receipt:%"))
            ),
            "approvals audited": await count(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "proof.approved")
            ),
        }


async def test_pending_approve_and_reject_by_command(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    await server.start()
    merchant = server.person(shop, 9001, "Mama")
    await merchant.send("/start")
    assert (await merchant.send("/pending")).text == "No proofs are waiting for review. 🎉"

    amina, baraka = server.person(shop, 7001, "Amina"), server.person(shop, 7002, "Baraka")
    amina_code = await place_order(amina, name="Amina Hassan")
    await send_proof(amina, "AMN1111111")
    baraka_code = await place_order(baraka, name="Baraka Otieno", product="Kericho Tea 500g · KES 350")
    await baraka.tap("💵 Pay by hand and upload proof")
    await baraka.document("mpesa-statement.pdf", caption="BRK2222222")
    await server.settle()  # the proofs reached the merchant's chat as they came in

    # The list comes through the outbox: copies that a decision edits, as it edits the alerts.
    pending = await merchant.send_settled("/pending")
    assert pending.messages[0].content == "🧾 Proofs waiting for review: 2"
    first, second = pending.messages[1:]
    assert first.photo is not None and second.document is not None
    assert f"Proof of payment for order {amina_code}" in first.content and "AMN1111111" in first.content
    assert "Customer: Amina Hassan (0712 345 678)" in first.content and "• Pishori Rice 2kg ×1" in first.content
    assert f"Proof of payment for order {baraka_code}" in second.content and "BRK2222222" in second.content
    assert [text for row in second.buttons for text, _ in row] == ["✅ Approve", "❌ Reject"]

    approved = await merchant.send(f"/approve {amina_code.lower()}")  # codes are read in any case
    assert f"✅ Approved. Order {amina_code} is paid and the customer has been sent a receipt." in approved
    async with database.uow() as uow:  # a proof can also be named by its number
        baraka_proof = await uow.session.scalar(select(func.max(Proof.id)))
    rejected = await merchant.send(f"/reject #{baraka_proof} the amount does not match")
    assert f"❌ Rejected. The customer was told why and can upload a new proof for order {baraka_code}." in rejected
    await server.settle()
    assert amina.count("Payment received") == 1 and "Reference: AMN1111111" in amina.find("Payment received").content
    # Every copy of each proof, the alert and the one /pending listed, now says the decision and offers no button.
    for code, decided in ((amina_code, "✅ Approved by Mama"), (baraka_code, "❌ Rejected by Mama")):
        shown = [m for m in merchant.messages if f"Proof of payment for order {code}" in m.content]
        assert len(shown) == 2
        assert [(decided in m.content, m.buttons) for m in shown] == [(True, [])] * 2
    told = baraka.find("could not accept your proof")
    assert told.content == (
        f"The shop could not accept your proof of payment for order {baraka_code}.\n"
        "Reason: the amount does not match\nYou can upload a new proof."
    )
    assert await payment_state(database, amina_code) == ("paid", [("paid", "approved")])
    assert await payment_state(database, baraka_code) == ("awaiting_payment", [("awaiting_proof", "rejected")])
    await server.settle()
    assert (await merchant.send("/pending")).text == "No proofs are waiting for review. 🎉"

    # The customer uploads again; the merchant approves the new proof.
    assert "Send a photo or document of the receipt." in await baraka.tap("📎 Upload a new proof", message=told)
    assert "was sent to the shop" in await baraka.photo(caption="BRK3333333")
    await server.settle()
    assert "BRK3333333" in merchant.find(f"Proof of payment for order {baraka_code}").content
    assert "✅ Approved." in await merchant.send(f"/approve {baraka_code}")
    await server.settle()
    assert baraka.count("Payment received") == 1
    assert "Reference: BRK3333333" in baraka.find("Payment received").content
    assert await payment_state(database, baraka_code) == ("paid", [("paid", "rejected"), ("paid", "approved")])
    async with database.uow() as uow:
        reasons = list(await uow.session.scalars(select(Proof.decision_reason).order_by(Proof.id)))
    assert reasons == [None, "the amount does not match", None]

    # Deciding a proof that is decided already says who decided it and when, and changes nothing.
    await server.settle()
    before = await server.snapshot()
    again = await merchant.send(f"/approve {amina_code}")
    assert again.text == f"Already approved by Mama at {await decided_at(database, amina_code)} (order {amina_code})."
    late = await merchant.send(f"/reject {baraka_code} changed my mind")
    assert late.text == f"Already approved by Mama at {await decided_at(database, baraka_code)} (order {baraka_code})."
    await server.settle()
    assert await server.snapshot() == before
    assert amina.count("Payment received") == 1 and baraka.count("Payment received") == 1


async def test_command_usage_and_unknown_proofs(server: ShopServer) -> None:
    shop = await server.add_shop()
    await server.start()
    merchant = server.person(shop, 9001)
    await merchant.send("/start")
    await server.settle()
    before = await server.snapshot()
    answers = {
        "/approve": "Usage: /approve CODE (the order code, or the proof number)",
        "/reject": "Usage: /reject CODE REASON, for example: /reject A7K2QX amount does not match",
        "/approve NOPE23": "No proof found for NOPE23 in this shop.",
        "/approve 999": "No proof found for 999 in this shop.",
        "/approve ²": "No proof found for ² in this shop.",
        "/reject NOPE23 because": "No proof found for NOPE23 in this shop.",
    }
    for command, answer in answers.items():
        assert (await merchant.send(command)).text == answer, command
    assert await server.snapshot() == before


async def test_reject_by_button_then_upload_again_and_approve_by_button(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    await server.start()
    merchant, customer = server.person(shop, 9001), server.person(shop, 7003, "Chebet")
    await merchant.send("/start")
    code = await place_order(customer, name="Chebet Kirui")
    await send_proof(customer, "CHB1111111")
    await server.settle()
    first = merchant.find(f"Proof of payment for order {code}")

    # Asked for a reason, the merchant may still back out: /cancel leaves that step too, and nothing is decided.
    assert "Why is the proof" in await merchant.tap("❌ Reject", message=first)
    assert "Okay, stopped." in await merchant.send("/cancel")
    assert await payment_state(database, code) == ("awaiting_payment", [("under_review", "submitted")])
    ask = await merchant.tap("❌ Reject", message=first)
    assert ask.text == f"Why is the proof for order {code} rejected? Type the reason; the customer will see it."
    assert "❌ Rejected." in await merchant.send("blurry photo, the code is unreadable")
    await server.settle()
    told = customer.find("could not accept your proof")
    assert "Reason: blurry photo, the code is unreadable" in told.content

    # The first proof's message no longer offers Approve / Reject; a press left from before changes nothing.
    assert first.buttons == []
    stale = await merchant.tap(message=first, data=f"ap.1:{(await newest_proof(database, code)).id}")
    assert stale.notice == f"Already rejected by Wanjiru at {await decided_at(database, code)} (order {code})."
    assert await payment_state(database, code) == ("awaiting_payment", [("awaiting_proof", "rejected")])

    await customer.tap("📎 Upload a new proof", message=told)
    await customer.photo()
    assert f"Your proof for order {code} was sent to the shop" in await customer.send("CHB2222222")
    await server.settle()
    second = merchant.find("Reference given: CHB2222222")
    assert second.message_id != first.message_id
    assert "✅ Approved." in (await merchant.tap("✅ Approve", message=second)).notice
    await server.settle()
    assert customer.count("Payment received") == 1
    assert await payment_state(database, code) == ("paid", [("paid", "rejected"), ("paid", "approved")])
    # The old "upload again" button now belongs to a paid order.
    late = await customer.tap("📎 Upload a new proof", message=told)
    assert late.text == "This payment is no longer waiting for a proof. See /orders for its status."


async def test_a_double_tap_approves_once(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop()
    await server.start()
    merchant, customer = server.person(shop, 9001), server.person(shop, 7004)
    await merchant.send("/start")
    code = await place_order(customer)
    await send_proof(customer, "DBL1111111")
    await server.settle()
    proof = merchant.find(f"Proof of payment for order {code}")

    # Two presses before the server has handled the first one.
    presses = [await merchant.user.press("✅ Approve", message=proof) for _ in range(2)]
    answers = [await merchant.user.wait_for_answer(press) for press in presses]
    await server.settle()
    assert answers[0].text == f"✅ Approved. Order {code} is paid and the customer has been sent a receipt."
    assert answers[1].text == f"Already approved by Wanjiru at {await decided_at(database, code)} (order {code})."
    assert customer.count("Payment received") == 1
    # One confirmation: the press's answer, and the proof message showing the decision; no "order paid" alert on top.
    assert merchant.count(f"Order {code} is paid:") == 0 and merchant.count("✅ Approved by Wanjiru") == 1
    assert await decisions(database) == {
        "paid events": 1,
        "decision events": 1,
        "receipts owed": 1,
        "approvals audited": 1,
    }


async def test_two_admins_approving_at_once_approve_once(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop(admins=[9001, 9002])
    await server.start()
    first, second = server.person(shop, 9001, "Mama"), server.person(shop, 9002, "Baba")
    customer = server.person(shop, 7005)
    await first.send("/start")
    await second.send("/start")
    code = await place_order(customer)
    await send_proof(customer, "TWO1111111")
    await server.settle()
    # Both admins got the proof in their own chat.
    reviews = [admin.find(f"Proof of payment for order {code}") for admin in (first, second)]

    # Both tap Approve at the same moment: Telegram delivers the two updates side by side.
    await server.hold_updates(shop)  # hold the updates at Telegram, then deliver them together
    presses = [
        await admin.user.press("✅ Approve", message=review)
        for admin, review in zip((first, second), reviews, strict=True)
    ]
    statuses = await asyncio.gather(
        *(server.post_update(shop.slug, press.update, shop.webhook_secret) for press in presses)
    )
    assert [status for status, _ in statuses] == [200, 200]
    answers = [
        (await admin.user.wait_for_answer(press)).text or ""
        for admin, press in zip((first, second), presses, strict=True)
    ]
    winners = [answer for answer in answers if answer.startswith(f"✅ Approved. Order {code} is paid")]
    losers = [answer for answer in answers if answer not in winners]
    assert len(winners) == 1, answers
    at = await decided_at(database, code)
    assert losers[0] in [f"Already approved by {name} at {at} (order {code})." for name in ("Mama", "Baba")]
    # Telegram then redelivers both (say the answers were lost): handled once already, so nothing happens again.
    await server.set_webhook(shop, shop.webhook_secret)
    await server.settle()
    assert [delivery.statuses for delivery in server.fake.bot(shop.token).deliveries[-2:]] == [[200], [200]]

    assert customer.count("Payment received") == 1
    assert first.count(f"Order {code} is paid:") == 0 and second.count(f"Order {code} is paid:") == 0
    # Both admins' copies of the proof say who approved it, without buttons.
    winner = "Mama" if answers[0] in winners else "Baba"
    day = await decided_at(database, code, "%d %b %H:%M")
    for review in reviews:
        assert review.content.endswith(f"✅ Approved by {winner}, {day}.") and review.buttons == []
    assert await decisions(database) == {
        "paid events": 1,
        "decision events": 1,
        "receipts owed": 1,
        "approvals audited": 1,
    }
    assert await payment_state(database, code) == ("paid", [("paid", "approved")])


async def test_an_approval_and_a_rejection_at_once_decide_once(server: ShopServer, database: Database) -> None:
    shop = await server.add_shop(admins=[9001, 9002])
    await server.start()
    first, second = server.person(shop, 9001, "Mama"), server.person(shop, 9002, "Baba")
    customer = server.person(shop, 7006)
    await first.send("/start")
    await second.send("/start")
    code = await place_order(customer)
    await send_proof(customer, "RACE111111")
    await server.settle()

    await server.hold_updates(shop)
    approve = await first.user.send_command("/approve", code)
    reject = await second.user.send_command("/reject", f"{code} not our till number")
    await asyncio.gather(
        server.post_update(shop.slug, approve, shop.webhook_secret),
        server.post_update(shop.slug, reject, shop.webhook_secret),
    )
    await server.set_webhook(shop, shop.webhook_secret)
    await server.settle()
    said = [
        message.content
        for admin in (first, second)
        for message in admin.messages
        if message.content.startswith(("✅ Approved.", "❌ Rejected.", "Already "))
        or message.content.endswith("nothing changed.")
    ]
    lost = [answer for answer in said if answer.startswith("Already ") or answer.endswith("nothing changed.")]
    assert len(said) == 2 and len(lost) == 1, said
    status, proofs = await payment_state(database, code)
    if any(answer.startswith("✅ Approved.") for answer in said):
        assert (status, proofs) == ("paid", [("paid", "approved")])
        assert customer.count("Payment received") == 1 and customer.count("could not accept") == 0
    else:
        assert (status, proofs) == ("awaiting_payment", [("awaiting_proof", "rejected")])
        assert customer.count("Payment received") == 0 and customer.count("could not accept") == 1
