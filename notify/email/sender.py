"""Sends the email rows of the outbox through the shop's SMTP server (``core.channels.ChannelSender`` for
``email``), with the order's PDF receipt attached.

The PDF is drawn at send time (outbox payloads stay JSON) by ``receipt_file``, which the composition root gives
(``admin.receipts``). Each mail's Message-ID is made from the tenant and the outbox row, so a copy sent again after a
crash (see ``notify.sent``) is the same message to a mail client that tells duplicates apart.

What the SMTP server's answer means for the row (``core.notify`` errors): the recipient refused (5xx on RCPT) is
Undeliverable; a refused login, or another 5xx, a PermanentError (bounded retries, then the merchant is told); a
4xx, a connection refused or dropped, a timeout: a TransientError, retried with back-off."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.db.engine import Database
from core.db.repos.orders import OrderRepository
from core.db.tables import Order, Tenant
from core.messages import Attachment, Message
from core.notify import NotifierError, PermanentError, TransientError, Undeliverable
from core.vault import Vault
from notify.email.settings import CHANNEL, EmailSettings, from_stored
from notify.sending import OutboxSender
from notify.store import Stored

ReceiptFile = Callable[[AsyncSession, Tenant, Order], Awaitable[Attachment | None]]


class EmailSender(OutboxSender[EmailSettings, Attachment | None]):
    channel = CHANNEL
    named = "email"
    accepted_by = "the shop's SMTP server"

    def __init__(
        self, database: Database, vault: Vault, clock: Clock, receipt_file: ReceiptFile, *, timeout: float = 15.0
    ) -> None:
        super().__init__(database, vault, clock)
        self._receipt_file = receipt_file
        self._timeout = timeout

    def settings(self, stored: Stored) -> EmailSettings:
        return from_stored(stored)

    async def prepare(self, session: AsyncSession, tenant: Tenant, delivery: Mapping[str, Any]) -> Attachment | None:
        order = await OrderRepository(session).by_id(tenant.id, int(delivery.get("order_id") or 0))
        return await self._receipt_file(session, tenant, order) if order is not None else None

    async def send(
        self,
        tenant: Tenant,
        settings: EmailSettings,
        to: str,
        outbox_id: int,
        delivery: Mapping[str, Any],
        message: Message,
        prepared: Attachment | None,
    ) -> str:
        mail = EmailMessage()
        mail["From"] = formataddr((tenant.name, settings.from_address))
        mail["To"] = to
        mail["Subject"] = str(delivery.get("subject") or tenant.name)
        message_id = f"<receipt.{tenant.id}.{outbox_id}@{settings.from_address.rpartition('@')[2]}>"
        mail["Message-ID"] = message_id
        mail.set_content(message.text)
        if prepared is not None:
            mail.add_attachment(prepared.data, maintype="application", subtype="pdf", filename=prepared.name)
        await self._send(settings, mail)
        return message_id

    async def _send(self, settings: EmailSettings, mail: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                mail,
                hostname=settings.host,
                port=settings.port,
                username=settings.username,
                password=settings.password,
                use_tls=settings.security == "tls",
                start_tls=settings.security == "starttls",
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPException as error:
            raise translate(error) from None
        except OSError as error:
            raise TransientError(f"SMTP: network {type(error).__name__}") from None


def translate(error: aiosmtplib.SMTPException) -> NotifierError:
    """The relay's view of an SMTP failure; reasons never carry the password."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in error.recipients]
        if codes and all(code >= 500 for code in codes):
            return Undeliverable(f"SMTP: the recipient was refused ({codes[0]})")
        return TransientError(f"SMTP: the recipient was deferred ({codes[0] if codes else '?'})")
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        return PermanentError(f"SMTP: the login was refused ({error.code})")
    if isinstance(error, (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError)):
        return TransientError(f"SMTP: {type(error).__name__}")
    if isinstance(error, aiosmtplib.SMTPResponseException):
        if error.code >= 500:
            return PermanentError(f"SMTP: refused ({error.code})")
        return TransientError(f"SMTP: deferred ({error.code})")
    return TransientError(f"SMTP: {type(error).__name__}")
