"""``/alerts [here|off|CHAT_ID]``: where merchant alerts go. By default every admin's private chat; an admin may
route them to a group the bot is in (``/alerts here`` typed in that group, or the group's id)."""

from __future__ import annotations

from admin import audit
from core import outbox
from core.messages import Message
from flows.context import FlowContext, Reply


async def command(ctx: FlowContext, args: str) -> Reply:
    wanted = args.strip().lower()
    if not wanted:
        where = (
            ctx.t("admin.alerts.to_group", chat=ctx.tenant.alert_chat_id)
            if ctx.tenant.alert_chat_id is not None
            else ctx.t("admin.alerts.to_admins")
        )
        return Reply([Message(where + "\n" + ctx.t("admin.alerts.usage"))])
    if wanted == "off":
        ctx.tenant.alert_chat_id = None
        audit.record(ctx, "alerts.to_admins", None)
        return Reply([Message(ctx.t("admin.alerts.to_admins"))])
    if wanted == "here":
        if ctx.actor.private:
            return Reply([Message(ctx.t("admin.alerts.here_in_group"))], refused=True)
        chat_id = ctx.actor.chat_id
    elif wanted.startswith("-") and wanted[1:].isdecimal() and len(wanted) < 20:
        chat_id = int(wanted)
    else:
        return Reply([Message(ctx.t("admin.alerts.usage"))], refused=True)
    now = ctx.clock.now()
    ctx.tenant.alert_chat_id = chat_id
    audit.record(ctx, "alerts.to_group", str(chat_id))
    await outbox.enqueue(
        ctx.session,
        tenant_id=ctx.tenant.id,
        chat_id=chat_id,
        dedupe_key=f"alerts:{ctx.tenant.id}:{chat_id}:{now.isoformat()}",
        message=Message(ctx.t("admin.alerts.hello", shop=ctx.tenant.name)),
        now=now,
    )
    return Reply([Message(ctx.t("admin.alerts.to_group", chat=chat_id))])
