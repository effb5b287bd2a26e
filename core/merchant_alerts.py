"""Merchant alerts in each reader's language: an alert to an admin's private chat in the language that admin chose
for the merchant's side (``/adminlanguage``), else the shop's; one to the shop's alert group in the shop's language
(a group has many readers).

A writer hands over how to say the alert (``Render``: a language to the message), not the words; each language is
rendered once. The dedupe key of each chat's row is ``<key>:to:<chat>``, as every merchant alert's
(:func:`payments.notices.for_merchant`, whose alerts, written inside a payment's transaction, stay in the shop's
language: that transaction reads where alerts go with the payment and asks nothing more)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from core.messages import Message

Render = Callable[[str], Message]


async def owed_to_merchant(session: AsyncSession, tenant: Tenant, key: str, render: Render) -> list[outbox.Owed]:
    """The alert ``render`` says, owed to each of the merchant's alert chats in its reader's language."""
    rendered: dict[str, Message] = {}
    owed = []
    for chat_id, language in await TenantRepository(session).alert_readers(tenant):
        if language not in rendered:
            rendered[language] = dataclasses.replace(render(language), language=language)
        owed.append(outbox.Owed(chat_id, f"{key}:to:{chat_id}", rendered[language]))
    return owed


async def alert_merchant(session: AsyncSession, tenant: Tenant, key: str, render: Render, now: datetime) -> None:
    await outbox.enqueue_many(
        session, tenant_id=tenant.id, owed=await owed_to_merchant(session, tenant, key, render), now=now
    )
