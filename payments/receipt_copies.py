"""The customer's receipt on channels other than the chat (``core.channels``; the senders live in ``notify/``).

Payments know the channels by name only ("sms", "email") and read a shop's choices from ``notify_channels``:

- SMS, when the shop set it up: with every receipt when its ``receipts`` is ``always``, otherwise only when the chat
  receipt turned out undeliverable (the customer blocked the bot, the chat is gone: ``after_undeliverable``, which the
  relay calls in the unit of work that marks the row). The number is the order's contact phone (else the customer's),
  through ``phonenumbers`` in E.164; an order without a usable mobile number owes no SMS.
- Email, when the shop set a sender and the customer gave a real address (not one at a reserved domain, which a
  provider may have made up for its checkout): with every receipt, the PDF attached by the sender.

Each copy is an outbox row with its own dedupe key (``receipt:<payment>:sms`` / ``:email``): one per payment however
often it is asked for (paid, then undeliverable), and it goes through the relay's pacing, retries and dead letters.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox
from core.db.repos.orders import PaymentRepository
from core.db.tables import NotifyChannel, OutboxMessage
from core.messages import Message
from core.money import Money
from core.outbox import Claimed
from core.phones import PhoneError, parse_mobile
from core.texts import text
from payments import notices

SMS: Final = "sms"
EMAIL: Final = "email"
ALWAYS: Final = "always"
FALLBACK: Final = "fallback"
RECEIPT_KEY: Final = re.compile(r"receipt:(\d+)")
# Reserved for documentation and testing (RFC 2606, RFC 6761): no mailbox behind them, so no receipt is mailed there.
_RESERVED_MAIL: Final = re.compile(r"@(?:[^@]+\.)?(?:example\.(?:com|net|org)|example|invalid|test|localhost)$")
_MAILBOX: Final = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")


def receipt_key(payment_id: int, channel: str) -> str:
    return f"receipt:{payment_id}:{channel}"


def sms_number(ctx: notices.Context) -> str | None:
    """The customer's mobile number in E.164, or None when neither the order nor the customer has a valid one."""
    for candidate in (ctx.order.contact_phone, ctx.customer.phone):
        if not candidate:
            continue
        try:
            return parse_mobile(candidate, ctx.tenant.region).e164
        except PhoneError:
            continue
    return None


def mailbox(address: str | None) -> str | None:
    """``address`` when it can receive a receipt; None for none, a malformed one or one at a reserved domain."""
    if not address:
        return None
    address = address.strip()
    if not _MAILBOX.fullmatch(address) or _RESERVED_MAIL.search(address.lower()):
        return None
    return address


async def _channels(session: AsyncSession, tenant_id: int) -> dict[str, NotifyChannel]:
    rows = await session.scalars(
        select(NotifyChannel).where(NotifyChannel.tenant_id == tenant_id, NotifyChannel.enabled.is_(True))
    )
    return {row.channel: row for row in rows}


async def owe_copies(
    session: AsyncSession, ctx: notices.Context, paid: Money, now: datetime, *, chat_failed: bool = False
) -> int:
    """Owe the receipt's copies the shop's channels call for; ``chat_failed``: the chat receipt was undeliverable.
    Returns how many rows were written (a copy owed before is not owed again)."""
    if not chat_failed and not ctx.tenant.receipt_copies:
        return 0  # the shop sends no copy with every receipt: no query
    configured = await _channels(session, ctx.tenant.id)
    if not configured:
        return 0
    written = 0
    sms = configured.get(SMS)
    if sms is not None and (chat_failed or sms.receipts == ALWAYS):
        number = sms_number(ctx)
        if number is not None:
            body = text(
                "sms.receipt",
                ctx.lang,
                shop=ctx.tenant.name,
                amount=paid.format(),
                code=ctx.order.code,
                txn=ctx.payment.provider_txn_id or ctx.payment.reference,
            )
            written += await outbox.enqueue(
                session,
                tenant_id=ctx.tenant.id,
                chat_id=ctx.customer.chat_id,
                dedupe_key=receipt_key(ctx.payment.id, SMS),
                message=Message(body),
                now=now,
                deliver={"channel": SMS, "to": number},
            )
    address = mailbox(ctx.customer.email)
    if EMAIL in configured and address is not None:
        receipt = notices.receipt(ctx, paid, at=ctx.payment.updated_at)
        written += await outbox.enqueue(
            session,
            tenant_id=ctx.tenant.id,
            chat_id=ctx.customer.chat_id,
            dedupe_key=receipt_key(ctx.payment.id, EMAIL),
            message=Message(text("email.receipt_body", ctx.lang, receipt=_plain(receipt.text), shop=ctx.tenant.name)),
            now=now,
            deliver={
                "channel": EMAIL,
                "to": address,
                "order_id": ctx.order.id,
                "subject": text("email.receipt_subject", ctx.lang, shop=ctx.tenant.name, code=ctx.order.code),
            },
        )
    return written


def _plain(chat_text: str) -> str:
    """The chat receipt for a mail body: without its leading emoji."""
    return chat_text.lstrip("✅ ").strip()


async def after_undeliverable(session: AsyncSession, row: Claimed, now: datetime) -> int:
    """The relay's ``on_undeliverable``: a customer's chat receipt that cannot be delivered is owed by SMS (and email)
    instead. Any other row owes nothing here, the copies themselves included (no loop)."""
    key = await session.scalar(select(OutboxMessage.dedupe_key).where(OutboxMessage.id == row.id))
    matched = RECEIPT_KEY.fullmatch(key or "")
    if matched is None:
        return 0
    payment = await PaymentRepository(session).by_id(row.tenant_id, int(matched.group(1)))
    if payment is None:
        return 0
    ctx = await notices.context_for(session, payment)
    paid = Money(payment.paid_minor or payment.amount_minor, payment.currency)
    return await owe_copies(session, ctx, paid, now, chat_failed=True)
