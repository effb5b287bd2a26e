"""``/testmode [on|off]``: the shop's test mode, always with a confirmation step.

In test mode the tenant's providers are built with sandbox hosts and test credentials (``payments.registry`` passes
``tenant.test_mode`` to every factory), checkout shows the TEST MODE banner, new orders are test orders and sales
leave them out.

A live shop can still take no real money through a provider whose configured credentials are sandbox ones: a provider
with a test key shows its customers TEST MODE whatever the shop's mode; each provider object says so
itself (``payments.base.SandboxAware``). The merchant is told so
wherever the mode is shown (/admin, /testmode), so "LIVE" never hides it."""

from __future__ import annotations

from admin import audit
from core.buttons import AdminMenu, SetTestMode
from core.db.repos.tenants import TenantRepository
from core.messages import Button, Message, keyboard
from core.vault import VaultError
from flows.context import FlowContext, Reply
from payments.base import SandboxAware
from payments.registry import ProviderRegistry


def mode_label(ctx: FlowContext) -> str:
    return ctx.t("admin.testmode.label_on" if ctx.tenant.test_mode else "admin.testmode.label_off")


async def sandboxed(ctx: FlowContext, registry: ProviderRegistry | None) -> list[str]:
    """The providers of a live shop whose configured credentials are sandbox ones, so that their customers pay
    nothing real; none in test mode (there every provider is meant to be a sandbox), nor without the registry."""
    if registry is None or ctx.tenant.test_mode:
        return []
    names: list[str] = []
    for config in await TenantRepository(ctx.session).provider_configs(ctx.tenant.id):
        try:
            provider = await registry.for_tenant(ctx.session, ctx.tenant, config.provider)
        except (ValueError, VaultError):  # secrets unreadable or invalid: `dukabot doctor` is where that is told
            continue
        if provider is not None and _takes_no_real_money(provider):
            names.append(config.provider)
    return names


def _takes_no_real_money(provider: object) -> bool:
    return isinstance(provider, SandboxAware) and provider.sandboxed


async def warnings(ctx: FlowContext, registry: ProviderRegistry | None) -> list[str]:
    """One line per provider of a live shop that takes no real money, in the merchant's words."""
    return [ctx.t(f"admin.sandbox.{name}") for name in await sandboxed(ctx, registry)]


async def command(ctx: FlowContext, args: str, registry: ProviderRegistry | None = None) -> Reply:
    wanted = args.strip().lower()
    if wanted not in ("", "on", "off"):
        return Reply([Message(ctx.t("admin.testmode.usage"))], refused=True)
    if not wanted:
        wanted = "off" if ctx.tenant.test_mode else "on"
    return Reply([await ask(ctx, wanted == "on", registry)])


async def ask(ctx: FlowContext, turn_on: bool, registry: ProviderRegistry | None = None) -> Message:
    """Where the mode is now and what the button does; only the state when there is nothing to change."""
    if turn_on == ctx.tenant.test_mode:
        return Message(await _already(ctx, registry))
    now = ctx.t("admin.testmode.now_test" if ctx.tenant.test_mode else "admin.testmode.now_live")
    question = ctx.t("admin.testmode.confirm_on" if turn_on else "admin.testmode.confirm_off")
    button = ctx.t("admin.testmode.button_on" if turn_on else "admin.testmode.button_off")
    return Message(
        "\n".join([now, *await warnings(ctx, registry), question]),
        keyboard(
            [Button(button, data=SetTestMode(turn_on).pack())],
            [Button(ctx.t("admin.button.menu"), data=AdminMenu(0).pack())],
        ),
    )


async def confirm(ctx: FlowContext, turn_on: bool, registry: ProviderRegistry | None = None) -> Reply:
    """The question's button: the question is edited into the outcome, so the chat keeps no button to press again
    and the press gets no second confirmation."""
    if ctx.tenant.test_mode == turn_on:
        return Reply([Message(await _already(ctx, registry), edit=True)])
    ctx.tenant.test_mode = turn_on  # a new config_version with it (core.db.tables): providers are rebuilt for it
    audit.record(ctx, "testmode.on" if turn_on else "testmode.off", ctx.tenant.slug)
    done = ctx.t("admin.testmode.turned_on" if turn_on else "admin.testmode.turned_off")
    return Reply([Message("\n".join([done, *await warnings(ctx, registry)]), edit=True)])


async def _already(ctx: FlowContext, registry: ProviderRegistry | None) -> str:
    already = ctx.t("admin.testmode.already_on" if ctx.tenant.test_mode else "admin.testmode.already_off")
    return "\n".join([already, *await warnings(ctx, registry)])
