"""Merchant alerts in each reader's language: an alert to an admin's private chat in the language that admin chose
for the merchant's side (``/adminlanguage``), else the shop's; one to the shop's alert group in the shop's language
(a group has many readers).

A writer hands over how to say the alert (``Render``: a language to the message), not the words; each language is
rendered once. The dedupe key of each chat's row is ``<key>:to:<chat>``.

A payment's transaction reads the chats and their languages with the payment (``Parties.alert_readers``) and asks
nothing more: it hands them to :func:`owed_to_readers` (:func:`payments.notices.for_merchant`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from core.messages import Message

Render = Callable[[str], Message]


async def owed_to_merchant(session: AsyncSession, tenant: Tenant, key: str, render: Render) -> list[outbox.Owed]:
    """The alert ``render`` says, owed to each of the merchant's alert chats in its reader's language."""
    return owed_to_readers(await TenantRepository(session).alert_readers(tenant), key, render)


def owed_to_readers(readers: Iterable[tuple[int, str]], key: str, render: Render) -> list[outbox.Owed]:
    """The alert ``render`` says, owed to each ``(chat, language)`` of ``readers``: each language rendered once, the
    message noted as written in it (the relay's own words follow it: ``outbox.as_repeat``, ``core.coalesce``)."""
    rendered: dict[str, Message] = {}
    owed = []
    for chat_id, language in readers:
        message = rendered.get(language)
        if message is None:
            message = render(language)
            if message.language != language:
                message = dataclasses.replace(message, language=language)
            rendered[language] = message
        owed.append(outbox.Owed(chat_id, f"{key}:to:{chat_id}", message))
    return owed


async def alert_merchant(session: AsyncSession, tenant: Tenant, key: str, render: Render, now: datetime) -> None:
    await outbox.enqueue_many(
        session, tenant_id=tenant.id, owed=await owed_to_merchant(session, tenant, key, render), now=now
    )
