"""The merchant's refund tasks in the chat: what to send to whom, the list of those still open (``/admin`` menu), and
the Done button (``core.buttons.RefundSent``), admins only (the gate checks), idempotent and audited. The rules live in
``payments.merchant_refunds``."""

from __future__ import annotations

from admin import audit
from core.buttons import RefundSent
from core.messages import Button, Message, keyboard
from flows.context import FlowContext, Reply
from payments import merchant_refunds
from payments.merchant_refunds import Done, Task

# Telegram keeps a message's keyboard small; past this many, the list says how many more there are.
_SHOWN = 20


def _done_button(ctx: FlowContext, task: Task) -> Button:
    label = ctx.t("refund.task.button_done", code=task.order.code, amount=task.amount.format(ctx.lang))
    return Button(label, data=RefundSent(task.refund.id).pack())


def _todo(ctx: FlowContext, task: Task) -> str:
    return ctx.t("refund.task.todo", amount=task.amount.format(ctx.lang), payee=task.payee, code=task.order.code)


def opened(ctx: FlowContext, task: Task) -> Message:
    """The reply to ``/refund`` on a payment the merchant refunds by hand."""
    provider = ctx.t(f"provider.{task.refund.provider}")
    body = ctx.t("refund.task.opened", code=task.order.code, provider=provider, todo=_todo(ctx, task))
    return Message(body, keyboard([_done_button(ctx, task)]))


async def list_tasks(ctx: FlowContext) -> Reply:
    tasks = await merchant_refunds.open_tasks(ctx.session, ctx.tenant.id)
    if not tasks:
        return Reply([Message(ctx.t("refund.tasks.none"))])
    lines = [ctx.t("refund.tasks.title", count=len(tasks))]
    lines += [f"• {_todo(ctx, task)}" for task in tasks[:_SHOWN]]
    if len(tasks) > _SHOWN:
        lines.append(ctx.tn("refund.tasks.more", len(tasks) - _SHOWN))
    rows = [[_done_button(ctx, task)] for task in tasks[:_SHOWN]]
    return Reply([Message("\n".join(lines), keyboard(*rows))])


async def done_button(ctx: FlowContext, refund_id: int) -> Reply:
    marked = await merchant_refunds.mark_sent(ctx.session, ctx.tenant.id, refund_id, ctx.actor.tg_user_id, ctx.clock)
    task = marked.task
    if marked.done is Done.NOT_FOUND or task is None:
        audit.record(ctx, "refund.sent", str(refund_id), allowed=False, why="no_such_task")
        return Reply(notice=ctx.t("error.stale_button"), refused=True)
    values = {"code": task.order.code, "amount": task.amount.format(ctx.lang), "payee": task.payee}
    if marked.done is Done.ALREADY:
        body = ctx.t("refund.task.already", **values)
        return Reply([Message(body)], notice=body[:190])
    audit.record(
        ctx,
        "refund.sent",
        task.order.code,
        refund=task.refund.id,
        amount_minor=task.amount.minor,
        applied=marked.done is Done.SENT,
    )
    if marked.done is Done.NOT_APPLIED:
        body = ctx.t("refund.task.not_applied", why=marked.why or "", **values)
    else:
        body = ctx.t("refund.task.done", **values)
    return Reply([Message(body)], notice=body[:190])
