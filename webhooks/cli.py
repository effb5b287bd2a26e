"""The ``dukabot`` command: the operator's tools (from admin.cli) plus the commands that run the server.

Only Click is imported up front, here and in every command module: each command imports what it needs when it runs.
aiogram, aiohttp and SQLAlchemy take seconds to import, and `dukabot --help` or `dukabot tenant list` should not wait
for code they never run (tests/unit/test_cli_imports.py keeps it so; `make bench` times it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from typing import Any

import click

from admin import cli as admin_cli
from webhooks.orders_cli import orders
from webhooks.ports import ensure_can_listen, free_port, in_use, listen_problem


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """dukabot: a Telegram shop for every merchant, paid by mobile money, card or by hand.

    Settings come from DUKABOT_* environment variables or a .env file; see the README.
    """


admin_cli.register(main)
main.add_command(orders)


@main.command()
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Port to listen on (default: DUKABOT_PORT).")
def serve(port: int | None) -> None:
    """Run the server: Telegram updates for every tenant, provider callbacks, health, metrics, outbox relay, and the
    payment workers."""
    import gc

    from aiohttp import web

    from admin.cli.plumbing import load_settings
    from core import logs
    from webhooks.app import build_app
    from webhooks.runtime import build_runtime

    settings = load_settings()
    if port is not None:
        settings = settings.model_copy(update={"port": port})
    ensure_can_listen(settings.host, settings.port)
    logs.configure(settings.log_format)
    runtime = build_runtime(settings)
    mode = "webhooks at " + settings.public_url if settings.public_url else "long polling (no DUKABOT_PUBLIC_URL)"

    async def app() -> web.Application:
        application = build_app(runtime)
        application.on_cleanup.append(lambda _: runtime.close())
        # What start-up imported and built lives as long as the process: frozen, the collections of the oldest
        # generation no longer walk it (~200,000 objects: a pause of 100-300 ms every few seconds under load).
        gc.collect()
        gc.freeze()
        return application

    def listening(_: str) -> None:  # said once the port is ours, not before: binding it may fail
        click.echo(
            f"dukabot serving on http://{settings.host}:{settings.port}, Telegram by {mode} through "
            f"{settings.telegram_library}"
        )

    try:
        web.run_app(app(), host=settings.host, port=settings.port, print=listening)
    except OSError as error:
        problem = listen_problem(error, settings.host, settings.port)
        if problem is None:
            raise
        raise problem from None


@main.group()
def webhook() -> None:
    """Telegram webhooks of tenant bots."""


@webhook.command("set")
@click.argument("slug")
def webhook_set(slug: str) -> None:
    """Register SLUG's webhook at DUKABOT_PUBLIC_URL/tg/SLUG, with the tenant's secret token."""
    import asyncio

    from admin.cli.plumbing import load_settings
    from bot.channel import ChannelRefused
    from core.db.repos.tenants import TenantRepository
    from webhooks.doctor import disabled_note
    from webhooks.runtime import build_runtime

    settings = load_settings()
    if not settings.public_url:
        raise click.ClickException("DUKABOT_PUBLIC_URL is not set: without it tenants run by long polling")
    url = f"{settings.public_url}/tg/{slug}"

    async def run() -> None:
        runtime = build_runtime(settings)
        try:
            async with runtime.database.uow() as uow:
                tenant = await TenantRepository(uow.session).by_slug(slug)
                if tenant is None:
                    raise click.ClickException(f"no tenant {slug!r}")
                disabled = disabled_note(tenant)
                if disabled is not None:  # Telegram refused this token: mend it first
                    raise click.ClickException(
                        f"{disabled}. Set a new token (dukabot tenant set-token {slug}), or run `dukabot doctor "
                        f"{slug}` if the token works again; then set the webhook."
                    )
                secret = runtime.vault.decrypt(tenant.webhook_secret_enc)
                tenant_id = tenant.id
            try:
                await runtime.channel.set_webhook(tenant_id, url, secret)
                identity = await runtime.channel.identity(tenant_id)
            except ChannelRefused as error:
                raise click.ClickException(f"Telegram refused the webhook: {error.reason}") from None
            async with runtime.database.uow() as uow:  # the t.me links of promo codes and return pages need it
                await TenantRepository(uow.session).learn_bot_username(tenant_id, identity.username)
                await uow.commit()
        finally:
            await runtime.close()

    asyncio.run(run())
    click.secho(f"webhook set: {url}", fg="green")


@main.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port of the shop server (default: DUKABOT_PORT, or a free one when that is in use).",
)
@click.option("--keep", is_flag=True, help="Keep the playground's data from the last run instead of starting fresh.")
@click.option(
    "--terminal",
    is_flag=True,
    help="A terminal chat instead of the page in the browser (the default when stdin is piped).",
)
@click.option("--currency", default="KES", show_default=True, help="The demo shop's currency, e.g. XOF.")
@click.option(
    "--country", default="KE", show_default=True, help="The demo shop's country (phones, time zone), e.g. BJ."
)
@click.option("--language", default="en", show_default=True, help="The demo customer's language: en, sw or fr.")
def playground(port: int | None, keep: bool, terminal: bool, currency: str, country: str, language: str) -> None:
    """Run a whole shop offline: a fake Telegram, a seeded demo shop, and a page in the browser showing the customer's
    and the merchant's phones (or, with --terminal, a chat in the terminal). A shop elsewhere:
    --currency XOF --country BJ --language fr (Cotonou), or --currency KES --language sw (Nairobi, in Swahili)."""
    import asyncio

    from admin.cli.plumbing import load_settings
    from core import logs

    run_playground = _load_playground()
    settings = load_settings()
    logs.configure(settings.log_format, level=30)
    if port is None and in_use(settings.host, settings.port):
        # A second playground, or a server left running: a toy should not make its user look for a port.
        port = free_port(settings.host)
        click.secho(
            f"Port {settings.port} is in use: the playground takes {port} (choose one with --port N).", fg="yellow"
        )
    chosen = settings.port if port is None else port
    ensure_can_listen(settings.host, chosen)
    try:
        market = _load_market(currency, country, language)
        asyncio.run(run_playground(settings, port=port, keep=keep, terminal=terminal or None, market=market))
    except KeyboardInterrupt:
        sys.exit(0)
    except OSError as error:
        problem = listen_problem(error, settings.host, chosen)
        if problem is None:
            raise
        raise problem from None


@main.command()
@click.argument("slug", required=False)
def doctor(slug: str | None) -> None:
    """Check that everything works: settings, secret keys, the database and its migrations, and for every tenant (or
    only SLUG) Telegram getMe and each payment provider's credentials. Exits with 1 when anything is wrong."""
    from webhooks import doctor

    doctor.run(slug)


PLAYGROUND_MODULE = "sandbox.playground"


def _load_market(currency: str, country: str, language: str) -> Any:
    """The playground's ``DemoMarket``, checked as ``dukabot tenant add`` checks a shop's currency and country."""
    import importlib

    from admin.shops import ShopError
    from admin.shops.tenants import check_currency, check_region
    from core.product_text import languages

    try:
        currency, country = check_currency(currency), check_region(country)
    except ShopError as error:
        raise click.BadParameter(str(error)) from None
    language = language.strip().lower()
    if language not in languages():
        raise click.BadParameter(
            f"{language[:10]!r}: the languages are {', '.join(languages())}", param_hint="--language"
        )
    market = importlib.import_module("sandbox.playground.shop").DemoMarket
    return market(currency=currency, country=country, language=language)


def _load_playground() -> Callable[..., Coroutine[Any, Any, None]]:
    """The playground's entry point, found by name: the product has no import of the sandbox, which an
    installation may leave out."""
    import importlib

    try:
        module = importlib.import_module(PLAYGROUND_MODULE)
    except ModuleNotFoundError as error:
        if error.name not in {"sandbox", PLAYGROUND_MODULE}:
            raise  # the sandbox is there but something it needs is not: show the real fault
        raise click.ClickException(
            "The playground is not installed here: this copy of dukabot has no sandbox package."
        ) from None
    run: Callable[..., Coroutine[Any, Any, None]] = module.run_playground
    return run
