"""Email receipts through the outbox, against a real SMTP server on this machine (aiosmtpd, in process): the PDF
attached, one mail per payment, nothing lost or doubled while the server is down, and no mail to an address that
cannot receive one."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import partial
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from core.clock import FakeClock
from core.db.engine import Database
from core.db.tables import Customer, NotifyMessage, OutboxMessage, Payment
from core.fiscal_stamp import NoFiscalStamps
from core.relay import OutboxRelay
from core.vault import Vault
from notify.email.sender import EmailSender
from notify.email.settings import EmailSettings
from payments import receipt_copies
from payments.base import Outcome
from tests.support.notify import set_channel
from tests.unit.test_relay import RecordingNotifier, VirtualSleep
from tests.unit.test_service_edges import CHAT, SUGAR, Till, till
from webhooks.runtime import receipt_file

CUSTOMER_MAIL = "wanjiru@mail.co.ke"


@dataclass
class Mailbox:
    """aiosmtpd's handler: every mail the server accepted."""

    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@dataclass
class Rig:
    till: Till
    relay: OutboxRelay
    vault: Vault
    smtp: SmtpServer

    async def set_email(self) -> None:
        settings = EmailSettings("127.0.0.1", self.smtp.port, "none", "receipts@mamamboga.co.ke")
        await set_channel(self.till.database, self.vault, self.till.clock, self.till.shop.tenant_id, settings, "always")

    async def pay(self, email: str | None = CUSTOMER_MAIL) -> Payment:
        payment = await self.till.order({SUGAR: 2})
        async with self.till.database.uow() as uow:
            await uow.session.execute(update(Customer).values(email=email))
            await uow.commit()
        await self.till.event(payment, Outcome.PAID, "paid-1", 38000)
        return payment

    async def deliver(self) -> None:
        for _ in range(6):
            if await self.relay.run_once() == 0:
                return

    async def row(self, key: str) -> tuple[str, int, str | None] | None:
        async with self.till.database.uow() as uow:
            found = await uow.session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))
            return (found.status, found.attempts, found.last_error) if found is not None else None


@pytest.fixture
async def rig(database: Database, vault: Vault, clock: FakeClock, smtp: SmtpServer) -> AsyncIterator[Rig]:
    shop = await till(database, vault, clock)
    sender = EmailSender(database, vault, clock, partial(receipt_file, fiscal=NoFiscalStamps()), timeout=5)
    relay = OutboxRelay(
        database,
        RecordingNotifier(clock),
        clock,
        sleep=VirtualSleep(clock),
        channels={"email": sender},
        on_undeliverable=receipt_copies.after_undeliverable,
    )
    yield Rig(shop, relay, vault, smtp)


async def test_a_paid_order_mails_the_receipt_with_the_pdf_attached(rig: Rig) -> None:
    await rig.set_email()
    payment = await rig.pay()

    await rig.deliver()

    (mail,) = rig.smtp.mailbox.received
    assert mail["To"] == CUSTOMER_MAIL
    assert mail["From"] == "Mama Mboga Store <receipts@mamamboga.co.ke>"
    assert mail["Subject"] == "Mama Mboga Store: receipt for order SE0001"
    row_id = await _row_id(rig, payment)
    assert mail["Message-ID"] == f"<receipt.{rig.till.shop.tenant_id}.{row_id}@mamamboga.co.ke>"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().splitlines()[:4] == ["Hello,", "", "Payment received. Thank you!", "Order: SE0001"]
    (attachment,) = list(mail.iter_attachments())
    assert (attachment.get_content_type(), attachment.get_filename()) == ("application/pdf", "receipt-SE0001.pdf")
    assert attachment.get_content()[:5] == b"%PDF-"
    assert await rig.row(f"receipt:{payment.id}:email") == ("sent", 1, None)


async def _row_id(rig: Rig, payment: Payment) -> int:
    async with rig.till.database.uow() as uow:
        found = await uow.session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == f"receipt:{payment.id}:email")
        )
        assert found is not None
        return int(found)


async def test_the_smtp_server_down_then_up_loses_nothing_and_doubles_nothing(rig: Rig) -> None:
    await rig.set_email()
    rig.smtp.stop()
    payment = await rig.pay()

    await rig.deliver()
    status, attempts, error = await rig.row(f"receipt:{payment.id}:email") or ("", 0, None)
    assert (status, attempts, error) == ("pending", 1, "SMTP: SMTPConnectError")
    assert rig.smtp.mailbox.received == []

    rig.smtp.start()
    rig.till.clock.advance(seconds=3600)
    await rig.deliver()
    rig.till.clock.advance(seconds=3600)
    await rig.deliver()

    assert [mail["Subject"] for mail in rig.smtp.mailbox.received] == ["Mama Mboga Store: receipt for order SE0001"]
    assert await rig.row(f"receipt:{payment.id}:email") == ("sent", 2, "SMTP: SMTPConnectError")
    async with rig.till.database.uow() as uow:
        assert [row.recipient for row in await uow.session.scalars(select(NotifyMessage))] == [CUSTOMER_MAIL]


@pytest.mark.parametrize("email", [None, "", "not-an-address", "tg-5001@example.com", "x@shop.invalid"])
async def test_no_mail_without_an_address_that_can_receive_one(rig: Rig, email: str | None) -> None:
    await rig.set_email()
    payment = await rig.pay(email)

    await rig.deliver()

    assert rig.smtp.mailbox.received == []
    assert await rig.row(f"receipt:{payment.id}:email") is None


async def test_no_mail_when_the_shop_set_no_sender(rig: Rig) -> None:
    payment = await rig.pay()

    await rig.deliver()

    assert rig.smtp.mailbox.received == []
    assert await rig.row(f"receipt:{payment.id}:email") is None
    assert await rig.row(f"receipt:{payment.id}") == ("sent", 1, None)


async def test_a_second_paid_event_mails_no_second_receipt(rig: Rig) -> None:
    await rig.set_email()
    payment = await rig.pay()
    await rig.till.event(payment, Outcome.PAID, "paid-1", 38000)

    await rig.deliver()

    assert [mail["To"] for mail in rig.smtp.mailbox.received] == [CUSTOMER_MAIL]
    async with rig.till.database.uow() as uow:
        keys = await uow.session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.chat_id == CHAT))
        assert sorted(keys) == [f"receipt:{payment.id}", f"receipt:{payment.id}:email"]
