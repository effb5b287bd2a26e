"""The operator's hand on a shop's admins: add one (the shop created without ``--admin``), remove one, list them.

A shop never loses its last admin: the database decides it. Removal first takes the shop's row lock, so removals of
one shop's admins (from here or from the chat's /removeadmin, which takes the same lock) happen one at a time; then a
single DELETE removes the admin only while another one remains, read afresh after any removal it waited for.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin.shops.errors import ShopError
from admin.shops.tenants import TG_ID_MAX
from core.db.insert import insert_if_absent
from core.db.tables import AuditEntry, Tenant, TenantAdmin

__all__ = ["AdminEntry", "Removal", "add_admin", "list_admins", "remove_admin"]


class Removal(enum.Enum):
    REMOVED = "removed"
    NOT_AN_ADMIN = "not an admin"
    LAST_ADMIN = "last admin"


@dataclass(frozen=True, slots=True)
class AdminEntry:
    tg_user_id: int
    added_at: datetime


def _check_tg_id(tg_user_id: int) -> int:
    if isinstance(tg_user_id, bool) or not 0 < tg_user_id <= TG_ID_MAX:
        raise ShopError(f"bad Telegram user id {tg_user_id!r}: a positive whole number")
    return tg_user_id


async def _tenant(session: AsyncSession, slug: str, *, lock: bool = False) -> Tenant:
    query = select(Tenant).where(Tenant.slug == slug)
    tenant = await session.scalar(query.with_for_update() if lock else query)
    if tenant is None:
        raise ShopError(f"no shop with slug {slug[:60]!r}")
    return tenant


def _audit(tenant: Tenant, action: str, tg_user_id: int, now: datetime, **refusal: str) -> AuditEntry:
    """The same actions as the chat's (admin/invites.py), by the operator (``actor_tg_id`` None)."""
    return AuditEntry(
        tenant_id=tenant.id,
        actor_tg_id=None,
        action=action,
        target=str(tg_user_id),
        allowed=not refusal,
        details=dict(refusal),
        at=now,
    )


async def add_admin(session: AsyncSession, slug: str, tg_user_id: int, *, now: datetime) -> bool:
    """Make ``tg_user_id`` an admin of the shop: True, or False when they already were (nothing changes)."""
    tg_user_id = _check_tg_id(tg_user_id)
    tenant = await _tenant(session, slug)
    added = await insert_if_absent(
        session,
        TenantAdmin.__table__,  # type: ignore[arg-type]
        {"tenant_id": tenant.id, "tg_user_id": tg_user_id, "created_at": now},
    )
    if added is not None:
        session.add(_audit(tenant, "admin.added", tg_user_id, now))
    await session.flush()
    return added is not None


async def remove_admin(session: AsyncSession, slug: str, tg_user_id: int, *, now: datetime) -> Removal:
    """Remove ``tg_user_id`` from the shop's admins unless they are its last one. A refusal for the last admin is
    audited: the caller commits either way."""
    tg_user_id = _check_tg_id(tg_user_id)
    tenant = await _tenant(session, slug, lock=True)
    others = TenantAdmin.__table__.alias("others")
    removed = await session.execute(
        delete(TenantAdmin).where(
            TenantAdmin.tenant_id == tenant.id,
            TenantAdmin.tg_user_id == tg_user_id,
            exists().where(others.c.tenant_id == tenant.id, others.c.tg_user_id != tg_user_id),
        )
    )
    if getattr(removed, "rowcount", 0):
        session.add(_audit(tenant, "admin.removed", tg_user_id, now))
        await session.flush()
        return Removal.REMOVED
    still_admin = await session.scalar(
        select(TenantAdmin.id).where(TenantAdmin.tenant_id == tenant.id, TenantAdmin.tg_user_id == tg_user_id)
    )
    if still_admin is None:
        return Removal.NOT_AN_ADMIN
    session.add(_audit(tenant, "admin.remove", tg_user_id, now, reason="last admin"))
    await session.flush()
    return Removal.LAST_ADMIN


async def list_admins(session: AsyncSession, slug: str) -> tuple[Tenant, list[AdminEntry]]:
    """The shop and its admins, in the order they were added."""
    tenant = await _tenant(session, slug)
    rows = await session.execute(
        select(TenantAdmin.tg_user_id, TenantAdmin.created_at)
        .where(TenantAdmin.tenant_id == tenant.id)
        .order_by(TenantAdmin.id)
    )
    return tenant, [AdminEntry(tg_id, added_at) for tg_id, added_at in rows]
