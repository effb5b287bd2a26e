"""Telling the merchant about a message the relay gave up on (UNDELIVERABLE or DEAD), through the outbox itself.

The alert goes to every merchant chat of the tenant, dedupe key ``relay:<kind>:<row id>:to:<chat>``, in the caller's
unit of work (the one that writes the row's final state). No alert is queued when the failed row was itself going to
a merchant chat or was itself such an alert: an alert about an alert would loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox, texts
from core.db.repos.tenants import TenantRepository
from core.db.tables import OutboxMessage, Tenant
from core.marketing import is_marketing_key
from core.messages import Message
from core.outbox import Claimed, OutboxStatus

ALERT_PREFIX = "relay:"
DEAD_LETTER_KEY = "merchant.dead_letter"
# Used only while the catalog lacks DEAD_LETTER_KEY (the catalog entry is the real text).
_DEAD_LETTER_FALLBACK = "A message to chat {chat_id} could not be delivered ({error}): {preview}"
_PREVIEW_CHARS = 80


async def merchant_chats(session: AsyncSession, tenant: Tenant) -> list[int]:
    return await TenantRepository(session).alert_chats(tenant)


MerchantChats = Callable[[AsyncSession, Tenant], Awaitable[list[int]]]


def dead_letter_message(chat_id: int, error: str, preview: str, language: str = texts.DEFAULT_LANGUAGE) -> Message:
    """The merchant's alert about a message that could not be delivered (text key ``merchant.dead_letter``), in
    ``language`` (the shop's: the merchant's alerts are written in it)."""
    values = {"chat_id": chat_id, "error": error, "preview": preview}
    if texts.has(DEAD_LETTER_KEY):
        return Message(texts.text(DEAD_LETTER_KEY, language, **values))
    return Message(_DEAD_LETTER_FALLBACK.format_map(values))


def preview_of(message: Message) -> str:
    """A short one-line glimpse of a message, for the merchant's alert (never for logs)."""
    flat = " ".join(message.text.split())
    if not flat:
        flat = "[photo]" if message.photo else "[document]" if message.document else ""
    return flat if len(flat) <= _PREVIEW_CHARS else flat[: _PREVIEW_CHARS - 1] + "…"


async def alert_merchant(
    session: AsyncSession,
    row: Claimed,
    status: OutboxStatus,
    reason: str,
    *,
    chats_of: MerchantChats,
    now: datetime,
) -> int:
    """Queue the merchant's alerts about ``row`` in ``session``; returns how many were queued."""
    dedupe_key = await session.scalar(select(OutboxMessage.dedupe_key).where(OutboxMessage.id == row.id))
    if dedupe_key is None or dedupe_key.startswith(ALERT_PREFIX):
        return 0  # an alert about an alert would loop
    if is_marketing_key(dedupe_key):
        return 0  # a broadcast's progress message counts the chats that refused it: one alert each would flood
    tenant = await session.get(Tenant, row.tenant_id)
    if tenant is None:
        return 0
    chats = await chats_of(session, tenant)
    if row.chat_id in chats:
        return 0  # the merchant's own chat failed: telling it again through the same chat would loop
    message = dead_letter_message(row.chat_id, reason, preview_of(row.message), tenant.language)
    kind = "dead" if status is OutboxStatus.DEAD else "undeliverable"
    queued = 0
    for chat_id in chats:
        queued += await outbox.enqueue(
            session,
            tenant_id=row.tenant_id,
            chat_id=chat_id,
            dedupe_key=f"{ALERT_PREFIX}{kind}:{row.id}:to:{chat_id}",
            message=message,
            now=now,
        )
    return queued
