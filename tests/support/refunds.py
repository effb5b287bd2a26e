"""``/refund`` as an admin gives it: the command, then its Confirm pressed (``admin.refunds``), each in its own
transaction as two Telegram updates would be."""

from __future__ import annotations

from admin import chat
from core.clock import Clock
from core.db.engine import Database
from core.db.tables import Tenant
from flows import router
from flows.context import Reply
from flows.inbound import Actor, Inbound


def confirm_data(reply: Reply) -> str:
    """The callback data of the question's Confirm button."""
    (question,) = reply.messages
    data = question.buttons[0][0].data
    assert data is not None and data.startswith("rfy.1:"), question
    return data


async def as_admin(database: Database, clock: Clock, tenant_id: int, admin: int, inbound: Inbound) -> Reply:
    async with database.uow() as uow:
        tenant = await uow.session.get(Tenant, tenant_id)
        assert tenant is not None
        ctx = await router.open_context(uow.session, tenant, Actor(admin, admin, "Mama"), clock)
        reply = await chat.handle(ctx, inbound)
        await uow.commit()
    return reply


async def ask(database: Database, clock: Clock, tenant_id: int, admin: int, args: str) -> Reply:
    return await as_admin(database, clock, tenant_id, admin, Inbound.cmd("refund", args))


async def press(database: Database, clock: Clock, tenant_id: int, admin: int, data: str) -> Reply:
    return await as_admin(database, clock, tenant_id, admin, Inbound.pressed(data))


async def refund_confirmed(database: Database, clock: Clock, tenant_id: int, admin: int, args: str) -> Reply:
    """``/refund args`` and, unless that was refused, its Confirm: the reply to the Confirm."""
    asked = await ask(database, clock, tenant_id, admin, args)
    if asked.refused:
        return asked
    return await press(database, clock, tenant_id, admin, confirm_data(asked))
