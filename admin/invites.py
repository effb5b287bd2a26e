"""Admins of a shop: the first comes from the operator's CLI; an admin invites another with a one-time code that
expires, and may remove another admin (never the last one). Only a hash of each code is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from admin import audit
from core.clock import utc
from core.db.insert import insert_if_absent
from core.db.repos.tenants import TenantRepository
from core.db.tables import AdminInvite, TenantAdmin
from core.messages import Message
from flows.context import FlowContext, Reply

INVITE_LIFETIME = timedelta(hours=24)
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud and typed
CODE_LENGTH = 10


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


async def invite(ctx: FlowContext) -> Reply:
    code = "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))
    now = ctx.clock.now()
    ctx.session.add(
        AdminInvite(
            tenant_id=ctx.tenant.id,
            code_sha256=_hash(code),
            created_by=ctx.actor.tg_user_id,
            expires_at=now + INVITE_LIFETIME,
            created_at=now,
        )
    )
    audit.record(ctx, "admin.invited", None, expires_hours=int(INVITE_LIFETIME.total_seconds() // 3600))
    hours = int(INVITE_LIFETIME.total_seconds() // 3600)
    return Reply([Message(ctx.t("admin.invite.created", code=code, hours=hours))])


async def join(ctx: FlowContext, code: str) -> Reply:
    """``/join CODE``: for someone who is not an admin yet. A code works once, before it expires, in its own shop."""
    code = code.strip().upper()
    tenants = TenantRepository(ctx.session)
    if await tenants.is_admin(ctx.tenant.id, ctx.actor.tg_user_id):
        return Reply([Message(ctx.t("admin.invite.already_admin"))])
    if not code:
        return Reply([Message(ctx.t("admin.invite.usage"))], refused=True)
    now = ctx.clock.now()
    found = await ctx.session.scalar(
        select(AdminInvite).where(AdminInvite.tenant_id == ctx.tenant.id, AdminInvite.code_sha256 == _hash(code))
    )
    refusal = None
    if found is None:
        refusal = "unknown"
    elif found.used_by is not None:
        refusal = "used"
    elif utc(found.expires_at) <= now:
        refusal = "expired"
    if found is not None and refusal is None:
        claimed = await ctx.session.execute(
            update(AdminInvite)
            .where(AdminInvite.id == found.id, AdminInvite.used_by.is_(None))
            .values(used_by=ctx.actor.tg_user_id, used_at=now)
        )
        if not getattr(claimed, "rowcount", 0):
            refusal = "used"
    if refusal is not None:
        audit.record(ctx, "admin.join", str(ctx.actor.tg_user_id), allowed=False, reason=refusal)
        return Reply([Message(ctx.t(f"admin.invite.{refusal}"))], refused=True)
    await insert_if_absent(
        ctx.session,
        TenantAdmin.__table__,  # type: ignore[arg-type]
        {"tenant_id": ctx.tenant.id, "tg_user_id": ctx.actor.tg_user_id, "created_at": now},
    )
    audit.record(ctx, "admin.joined", str(ctx.actor.tg_user_id), invited_by=found.created_by if found else None)
    return Reply([Message(ctx.t("admin.invite.joined", shop=ctx.tenant.name) + "\n\n" + ctx.t("admin.help"))])


async def list_admins(ctx: FlowContext) -> Reply:
    ids = await TenantRepository(ctx.session).admin_ids(ctx.tenant.id)
    lines = [ctx.t("admin.admins.title")]
    lines += [
        f"• {tg_id}" + (" " + ctx.t("admin.admins.you") if tg_id == ctx.actor.tg_user_id else "") for tg_id in ids
    ]
    lines.append(ctx.t("admin.admins.hint"))
    return Reply([Message("\n".join(lines))])


async def remove(ctx: FlowContext, args: str) -> Reply:
    target = args.strip()
    if not target.isdecimal() or len(target) > 15:
        return Reply([Message(ctx.t("admin.admins.remove_usage"))], refused=True)
    tg_id = int(target)
    tenants = TenantRepository(ctx.session)
    # Two admins removing each other at the same moment would each see two admins and leave none: take the
    # tenant's lock first, then look again at who is an admin, the one asking included.
    await tenants.lock_admins(ctx.tenant.id)
    if not await tenants.is_admin(ctx.tenant.id, ctx.actor.tg_user_id):
        audit.record(ctx, "admin.remove", target, allowed=False, reason="no longer an admin")
        return Reply([Message(ctx.t("admin.not_admin"))], refused=True)
    if not await tenants.is_admin(ctx.tenant.id, tg_id):
        return Reply([Message(ctx.t("admin.admins.not_admin", id=tg_id))], refused=True)
    if await tenants.count_admins(ctx.tenant.id) <= 1:
        audit.record(ctx, "admin.remove", target, allowed=False, reason="last admin")
        return Reply([Message(ctx.t("admin.admins.last"))], refused=True)
    await tenants.remove_admin(ctx.tenant.id, tg_id)
    audit.record(ctx, "admin.removed", target)
    return Reply([Message(ctx.t("admin.admins.removed", id=tg_id))])
