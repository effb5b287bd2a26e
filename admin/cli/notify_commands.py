"""``dukabot notify``: a shop's receipts beyond the chat (``notify/``): SMS through Africa's Talking, email through
the shop's SMTP server.

``notify set SLUG sms`` and ``notify set SLUG email`` check the settings and store them as ``provider set`` stores a
provider's (secrets encrypted, shown masked); ``notify off SLUG CHANNEL`` turns a channel off and keeps its settings.
Secrets can come from the environment (``DUKABOT_SMS_API_KEY``, ``DUKABOT_SMTP_PASSWORD``) rather than the command
line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from admin.cli.plumbing import CliError, echo_ok, in_unit_of_work, load_settings, load_vault

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["notify"]

CHANNELS = ("sms", "email")


@click.group(help="Receipts beyond the chat: sms (Africa's Talking) and email (SMTP).")
def notify() -> None:
    pass


@notify.command("set")
@click.argument("slug")
@click.argument("channel", type=click.Choice(CHANNELS, case_sensitive=False))
@click.option(
    "--username",
    help="sms: the Africa's Talking application's username (sandbox: its sandbox); "
    "email: the SMTP login, when the server asks for one.",
)
@click.option("--api-key", envvar="DUKABOT_SMS_API_KEY", help="sms: the application's API key (stored encrypted).")
@click.option("--sender-id", help="sms: the sender id or short code Africa's Talking approved for the shop.")
@click.option(
    "--receipts",
    type=click.Choice(["fallback", "always"]),
    help="sms: fallback (by SMS only when the chat is undeliverable; the default) or always.",
)
@click.option("--host", help="email: the SMTP server.")
@click.option("--port", help="email: its port (587 for starttls, 465 for tls).")
@click.option(
    "--security", type=click.Choice(["starttls", "tls", "none"]), help="email: starttls (default), tls, none."
)
@click.option("--password", envvar="DUKABOT_SMTP_PASSWORD", help="email: the SMTP password (stored encrypted).")
@click.option("--from", "from_address", help="email: the address receipts come from.")
@click.option("--base-url", help="sms: another host than Africa's Talking's (a simulator).")
def notify_set(slug: str, channel: str, **values: str | None) -> None:
    """Set how shop SLUG sends receipts by CHANNEL, and turn it on."""
    from core.clock import SystemClock
    from core.db.repos.tenants import TenantRepository
    from core.vault import mask_secret
    from notify import store
    from notify.email import settings as email
    from notify.sms import settings as sms
    from payments.receipt_copies import ALWAYS

    channel = channel.lower()
    wrong = [
        name for name in ("api_key", "sender_id", "receipts", "base_url") if channel == "email" and values.get(name)
    ] + [
        name
        for name in ("host", "port", "security", "password", "from_address")
        if channel == "sms" and values.get(name)
    ]
    if wrong:
        raise click.UsageError(f"--{wrong[0].replace('_', '-')} is not a setting of {channel}")
    try:
        parsed: Any = sms.parse(values) if channel == "sms" else email.parse(values)
    except sms.SettingsError as error:
        raise CliError(str(error)) from None
    options, secrets = parsed.stored()
    receipts = parsed.receipts if channel == "sms" else ALWAYS
    settings = load_settings()
    vault = load_vault(settings)

    async def work(session: AsyncSession) -> None:
        tenant = await TenantRepository(session).by_slug(slug)
        if tenant is None:
            raise CliError(f"no shop with slug {slug!r}")
        await store.store(
            session,
            vault,
            tenant,
            channel,
            receipts=receipts,
            options=options,
            secrets=secrets,
            now=SystemClock().now(),
        )

    in_unit_of_work(settings, work)
    echo_ok(f"{channel} receipts are set for {slug!r} ({receipts}).")
    for key, value in sorted(options.items()):
        click.echo(f"  {key}: {value}")
    for key, value in sorted(secrets.items()):
        click.echo(f"  {key}: {mask_secret(value)} (stored encrypted)")


@notify.command("off")
@click.argument("slug")
@click.argument("channel", type=click.Choice(CHANNELS, case_sensitive=False))
def notify_off(slug: str, channel: str) -> None:
    """Stop sending receipts by CHANNEL for shop SLUG (its settings are kept)."""
    from core.clock import SystemClock
    from core.db.repos.tenants import TenantRepository
    from notify import store

    settings = load_settings()

    async def work(session: AsyncSession) -> bool:
        tenant = await TenantRepository(session).by_slug(slug)
        if tenant is None:
            raise CliError(f"no shop with slug {slug!r}")
        return await store.turn_off(session, tenant, channel.lower(), SystemClock().now())

    if not in_unit_of_work(settings, work):
        raise CliError(f"{slug!r} never set up {channel}")
    echo_ok(f"{channel} receipts are off for {slug!r}.")
