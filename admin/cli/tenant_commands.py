"""``dukabot tenant``: creating, listing and showing shops."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from admin.cli.plumbing import CliError, echo_hint, echo_ok, echo_warning, in_unit_of_work, load_settings, load_vault
from admin.cli.tenant_admin_commands import admin
from admin.cli.tenant_receipt_commands import receipt
from core.clock import SystemClock

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["tenant"]


@click.group()
def tenant() -> None:
    """Shops (tenants): create, edit, list, show, set a new bot token, manage admins."""


tenant.add_command(admin)
tenant.add_command(receipt)


@tenant.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="The shop's name, as customers see it.")
@click.option(
    "--bot-token",
    metavar="TOKEN",
    envvar="DUKABOT_BOT_TOKEN",
    show_envvar=True,
    prompt="Bot token from @BotFather",
    hide_input=True,
    help="The shop's own Telegram bot token. Leave it out to be asked for it (hidden), so it stays out of your "
    "shell history.",
)
@click.option(
    "--admin",
    "admins",
    multiple=True,
    type=click.IntRange(min=1),
    metavar="TG_USER_ID",
    help="Telegram user id of a merchant who may run /admin in the chat. Repeat for several.",
)
@click.option("--currency", default="KES", show_default=True, help="ISO currency of the shop's prices.")
@click.option(
    "--region",
    "--country",
    "region",
    default="KE",
    show_default=True,
    help="The shop's country (two letters): how customers' phone numbers are read, its usual time zone.",
)
@click.option(
    "--language",
    default="en",
    show_default=True,
    metavar="en|sw|fr",
    help="The shop's language: what customers read when Telegram gives one dukabot does not speak, and alerts.",
)
def tenant_add(
    slug: str, name: str, bot_token: str, admins: tuple[int, ...], currency: str, region: str, language: str
) -> None:
    """Create the shop SLUG (a-z, 0-9 and '-', used in its webhook path /tg/SLUG).

    The bot token is stored encrypted, with a new webhook secret.

    \b
    Example:
      dukabot tenant add mama-mboga --name "Mama Mboga" --admin 123456789 --language sw
    """
    from admin import shops

    settings = load_settings()
    vault = load_vault(settings)

    async def work(session: AsyncSession) -> None:
        await shops.create_tenant(
            session,
            vault,
            slug=slug,
            name=name,
            bot_token=bot_token,
            admins=list(admins),
            currency=currency,
            region=region,
            language=language,
            now=SystemClock().now(),
        )

    in_unit_of_work(settings, work)
    echo_ok(
        f"Shop {slug!r} created: {name.strip()} ({currency.upper()}, {region.upper()}, {language.strip().lower()})."
    )
    if not admins:
        echo_warning(
            f"No --admin given: nobody can run /admin in this shop's chat. Add one: dukabot tenant admin add {slug} "
            "TG_USER_ID"
        )
    from payments.providers import NAMES

    echo_hint(
        "Next:\n"
        f"  dukabot provider set {slug} {'|'.join(NAMES)} ...\n"
        f"  dukabot catalog import {slug} products.csv\n"
        f"  dukabot tenant show {slug}"
    )


@tenant.command("set-token")
@click.argument("slug")
@click.option(
    "--bot-token",
    metavar="TOKEN",
    envvar="DUKABOT_BOT_TOKEN",
    show_envvar=True,
    prompt="New bot token from @BotFather",
    hide_input=True,
    help="The shop's new Telegram bot token. Leave it out to be asked for it (hidden).",
)
def tenant_set_token(slug: str, bot_token: str) -> None:
    """Give the shop SLUG a new bot token, e.g. after revoking the old one at @BotFather.

    A bot that was disabled because Telegram refused its token is enabled again; a polling server picks it up
    within its rescan interval. A server that was using the old token (webhooks, or a bot that was not disabled)
    keeps it until restarted; with webhooks, also run `dukabot webhook set SLUG` again.
    """
    from admin import shops

    settings = load_settings()
    vault = load_vault(settings)

    async def work(session: AsyncSession) -> bool:
        return await shops.set_bot_token(session, vault, slug, bot_token, now=SystemClock().now())

    was_disabled = in_unit_of_work(settings, work)
    echo_ok(f"Shop {slug!r} has a new bot token" + (": its bot is enabled again." if was_disabled else "."))
    echo_hint(f"Check it: dukabot doctor {slug}")


@tenant.command("edit")
@click.argument("slug")
@click.option("--name", help="The shop's name, as customers see it.")
@click.option("--currency", help="ISO currency of the prices; refused once the shop has orders in the old one.")
@click.option(
    "--region", "--country", "region", help="The shop's country (two letters, e.g. KE): how phone numbers are read."
)
@click.option(
    "--timezone",
    "zone",
    metavar="ZONE",
    help='IANA time zone every time is shown in, e.g. Africa/Nairobi; "" for the region\'s usual zone.',
)
@click.option("--language", metavar="en|sw|fr", help="The shop's language (customers whose own dukabot lacks).")
@click.option(
    "--cart-reminder",
    metavar="DELAY|off",
    help="How long a cart stays untouched before its customer gets one reminder: 6h (the default), 90m, 1d, or off. "
    "Never sent between 21:00 and 08:00 shop time.",
)
@click.option(
    "--disable-providers",
    is_flag=True,
    help="With --currency: disable the shop's payment methods that cannot take the new currency (without it, such a "
    "change is refused, naming them).",
)
def tenant_edit(
    slug: str,
    name: str | None,
    currency: str | None,
    region: str | None,
    zone: str | None,
    language: str | None,
    cart_reminder: str | None,
    disable_providers: bool,
) -> None:
    """Change the name, currency, region, time zone, language or cart-reminder delay of the shop SLUG.

    \b
    Example:
      dukabot tenant edit mama-mboga --name "Mama Mboga Market" --timezone Africa/Nairobi
      dukabot tenant edit mama-mboga --cart-reminder 3h
    """
    from admin.shops.tenant_edit import Edit, edit_tenant

    if all(value is None for value in (name, currency, region, zone, language, cart_reminder)):
        raise click.UsageError(
            "nothing to change: give --name, --currency, --region, --timezone, --language or --cart-reminder"
        )
    settings = load_settings()

    async def work(session: AsyncSession) -> Edit:
        return await edit_tenant(
            session,
            slug,
            name=name,
            currency=currency,
            region=region,
            timezone=zone,
            language=language,
            cart_reminder=cart_reminder,
            disable_providers=disable_providers,
            now=SystemClock().now(),
        )

    edit = in_unit_of_work(settings, work)  # a refused currency change is audited, so it is committed too
    if edit.refused is not None:
        raise CliError(edit.refused)
    if not edit.changes:
        echo_warning(f"Nothing changed: shop {slug!r} already has those settings.")
        return
    shown = "; ".join(
        f"{label} {_or_default(old)} → {_or_default(new)}"
        for label, (old, new) in ((_LABELS[key], value) for key, value in edit.changes.items())
    )
    echo_ok(f"Shop {slug!r} changed: {shown}.")
    if edit.hidden_products:
        old_currency, new_currency = edit.changes["currency"]
        echo_warning(
            f"Products priced in {old_currency} are hidden until the catalog is imported again with "
            f"{new_currency} prices (hidden: {edit.hidden_products}): dukabot catalog import {slug} FILE"
        )
    if edit.disabled_providers:
        echo_warning(
            f"Payment methods disabled, as they cannot take {edit.changes['currency'][1]}: "
            f"{', '.join(edit.disabled_providers)} (dukabot provider set {slug} PROVIDER ... enables one again)"
        )


_LABELS = {
    "name": "name",
    "currency": "currency",
    "region": "region",
    "timezone": "time zone",
    "language": "language",
    "cart_reminder_minutes": "cart reminder",
}


def _or_default(value: str | int | None) -> str:
    from admin.shops.tenant_edit import shown_delay

    if isinstance(value, int):
        return shown_delay(value)
    return "(the region's usual zone)" if value is None else value


@tenant.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def tenant_list(as_json: bool) -> None:
    """List the shops (no secrets)."""
    from admin import shops

    settings = load_settings()

    async def work(session: AsyncSession) -> list[shops.TenantSummary]:
        return await shops.list_tenants(session)

    summaries = in_unit_of_work(settings, work)
    if as_json:
        click.echo(json.dumps([summary.as_dict() for summary in summaries], indent=2, ensure_ascii=False))
        return
    if not summaries:
        click.echo("No shops yet. Create one: dukabot tenant add SLUG --name NAME --admin TG_USER_ID")
        return
    headers = ("SLUG", "NAME", "CURRENCY", "REGION", "MODE", "ADMINS", "PRODUCTS", "PAYMENTS")
    rows = [
        (
            summary.slug,
            summary.name,
            summary.currency,
            summary.region,
            "test" if summary.test_mode else "live",
            str(summary.admins),
            str(summary.products),
            ",".join(summary.providers) or "-",
        )
        for summary in summaries
    ]
    widths = [max(len(header), *(len(row[index]) for row in rows)) for index, header in enumerate(headers)]
    click.secho(
        "  ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True)).rstrip(), bold=True
    )
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@tenant.command("show")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def tenant_show(slug: str, as_json: bool) -> None:
    """Show the shop SLUG: settings, admins, payment methods and catalog size, with every secret masked."""
    from admin import shops

    settings = load_settings()
    vault = load_vault(settings)

    async def work(session: AsyncSession) -> dict[str, Any]:
        return await shops.describe_tenant(session, vault, slug)

    info = in_unit_of_work(settings, work)
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    click.secho(f"{info['name']} ({info['slug']})", bold=True)
    lines = [
        ("currency", info["currency"]),
        ("region", info["region"]),
        ("language", info["language"]),
        ("time zone", _zone_line(info)),
        ("mode", "TEST" if info["test_mode"] else "live"),
        ("bot", f"@{info['bot_username']}" if info["bot_username"] else f"id {info['bot_id'] or '?'}"),
        ("bot token", info["bot_token"]),
        ("webhook secret", info["webhook_secret"]),
        (
            "admins",
            ", ".join(str(admin) for admin in info["admins"])
            or f"(none: nobody can run /admin; add one: dukabot tenant admin add {slug} TG_USER_ID)",
        ),
        ("products", f"{info['products']} in {info['categories']} categories"),
        ("payment timeout", f"{info['payment_timeout_minutes']} minutes"),
        ("cart reminder", _reminder_line(info)),
        ("created", info["created_at"]),
    ]
    for label, value in lines:
        click.echo(f"  {label + ':':<17}{value}")
    click.secho("Payment methods:", bold=True)
    if not info["providers"]:
        from payments.providers import NAMES

        click.echo(f"  (none) - dukabot provider set {slug} {'|'.join(NAMES)} ...")
    for entry in info["providers"]:
        state = "" if entry["enabled"] else " (disabled)"
        click.echo(f"  {entry['provider']}{state}")
        details = [(key, str(value)) for key, value in sorted(entry["options"].items())]
        details += [(key, str(value)) for key, value in entry["secrets"].items()]
        # Besides, what the provider's settings model says of its values (ProviderSetup.facts: a key's mode).
        details += [(key.replace("_", " "), str(entry[key])) for key in sorted(set(entry) - _ENTRY_KEYS)]
        for key, value in details:
            shown = value.replace("\n", " / ")
            click.echo(f"    {key + ':':<17}{shown}")
    for problem in info["problems"]:
        echo_warning(f"Problem: {problem}")


def _reminder_line(info: dict[str, Any]) -> str:
    from admin.shops.tenant_edit import shown_delay

    delay = shown_delay(int(info["cart_reminder_minutes"]))
    if delay == "off":
        return f"off (turn on: dukabot tenant edit {info['slug']} --cart-reminder 6h)"
    return f"after {delay} untouched, never 21:00-08:00 shop time"


_ENTRY_KEYS = frozenset({"provider", "enabled", "options", "secrets", "updated_at"})  # admin.shops.describe_tenant


def _zone_line(info: dict[str, Any]) -> str:
    from core.shoptime import REGION_ZONES

    if info.get("timezone"):
        return str(info["timezone"])
    usual = REGION_ZONES.get(info["region"], "UTC")
    return f"{usual} (the region's usual zone; set another: dukabot tenant edit {info['slug']} --timezone ZONE)"
