"""The audit table: every merchant action, allowed or refused, with who did it, to what, and when."""

from __future__ import annotations

from typing import Any

from core.db.tables import AuditEntry
from flows.context import FlowContext


def record(ctx: FlowContext, action: str, target: str | None = None, *, allowed: bool = True, **details: Any) -> None:
    """Add an audit row for the current actor, in the current transaction (so it commits with the change)."""
    ctx.session.add(
        AuditEntry(
            tenant_id=ctx.tenant.id,
            actor_tg_id=ctx.actor.tg_user_id,
            action=action[:40],
            target=(target or "")[:80] or None,
            allowed=allowed,
            details=details,
            at=ctx.clock.now(),
        )
    )
