"""``/testmode [on|off]``: the shop's test mode, always with a confirmation step.

In test mode the tenant's providers are built with sandbox hosts and test credentials (``payments.registry`` passes
``tenant.test_mode`` to every factory), checkout shows the TEST MODE banner, new orders are test orders and sales
leave them out."""

from __future__ import annotations

from admin import audit
from core.callbacks import action
from core.messages import Button, Message, keyboard
from flows.context import FlowContext, Reply


def mode_label(ctx: FlowContext) -> str:
    return ctx.t("admin.testmode.label_on" if ctx.tenant.test_mode else "admin.testmode.label_off")


async def command(ctx: FlowContext, args: str) -> Reply:
    wanted = args.strip().lower()
    if wanted not in ("", "on", "off"):
        return Reply([Message(ctx.t("admin.testmode.usage"))], refused=True)
    if not wanted:
        wanted = "off" if ctx.tenant.test_mode else "on"
    return Reply([ask(ctx, wanted == "on")])


def ask(ctx: FlowContext, turn_on: bool) -> Message:
    """Where the mode is now, and one button to confirm the change."""
    current = ctx.t("admin.testmode.now", mode=mode_label(ctx))
    if turn_on == ctx.tenant.test_mode:
        return Message(current + "\n" + ctx.t("admin.testmode.unchanged"))
    question = ctx.t("admin.testmode.confirm_on" if turn_on else "admin.testmode.confirm_off")
    button = ctx.t("admin.testmode.button_on" if turn_on else "admin.testmode.button_off")
    return Message(
        current + "\n" + question,
        keyboard(
            [Button(button, data=action("tm", 1 if turn_on else 0))],
            [Button(ctx.t("admin.button.menu"), data=action("am", 0))],
        ),
    )


async def confirm(ctx: FlowContext, turn_on: bool) -> Reply:
    if ctx.tenant.test_mode == turn_on:
        return Reply(
            [Message(ctx.t("admin.testmode.now", mode=mode_label(ctx)))], notice=ctx.t("admin.nothing_changed")
        )
    ctx.tenant.test_mode = turn_on
    audit.record(ctx, "testmode.on" if turn_on else "testmode.off", ctx.tenant.slug)
    done = ctx.t("admin.testmode.turned_on" if turn_on else "admin.testmode.turned_off")
    return Reply([Message(done)], notice=mode_label(ctx))
