"""The operator's commands: ``dukabot db``, ``tenant``, ``provider``, ``catalog`` and ``keys``.

The root ``dukabot`` group lives in ``webhooks.cli`` and attaches these groups with :func:`register`. Each command reads
:class:`~core.settings.Settings` (``DUKABOT_*``), builds the database and the vault, runs one operation of
:mod:`admin.shops` in one unit of work, commits once and disposes of the engine.

Expected failures print one line on stderr and exit with 1 (Click's usage errors exit with 2); no traceback, and never
a secret: secrets are read from options, environment variables or a hidden prompt, and only ever shown masked.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import IO, Any, TypeVar

import click
import httpx
from click.core import ParameterSource
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from admin import shops
from admin.shops import PROVIDERS, ShopError
from core.clock import SystemClock
from core.db.engine import Database
from core.db.migrate import current_revisions, head_revisions, upgrade
from core.settings import Settings
from core.vault import Vault, VaultError
from payments.base import ProviderError
from payments.mpesa.c2b import c2b_urls
from payments.mpesa.provider import MpesaProvider
from payments.providers import provider_factories
from payments.registry import ProviderDeps, ProviderRegistry

T = TypeVar("T")

__all__ = ["catalog", "db", "keys", "provider", "register", "tenant"]


class CliError(click.ClickException):
    """One red line on stderr, exit status 1."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

    def show(self, file: IO[Any] | None = None) -> None:
        click.secho(f"Error: {self.format_message()}", fg="red", err=True)


def register(root: click.Group) -> None:
    """Attach the operator groups to the root ``dukabot`` group."""
    for group in (db, tenant, provider, catalog, keys):
        root.add_command(group)


# --- plumbing ------------------------------------------------------------------------------------------------------


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        # Without the input values: a bad setting may hold a secret.
        first = exc.errors(include_input=False, include_url=False)[0]
        name = "DUKABOT_" + str(first["loc"][0]).upper() if first["loc"] else "a DUKABOT_ setting"
        raise CliError(f"bad setting {name}: {first['msg']}") from None


def _vault(settings: Settings) -> Vault:
    keys = settings.secret_keys.get_secret_value() if settings.secret_keys else None
    try:
        return Vault.from_settings(keys, settings.key_file)
    except VaultError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot read or create the key file {settings.key_file}: {exc.strerror or exc}") from None


def _key_count(settings: Settings) -> int:
    if settings.secret_keys:
        return len([key for key in settings.secret_keys.get_secret_value().split(",") if key.strip()])
    try:
        return len([line for line in settings.key_file.read_text().splitlines() if line.strip()])
    except OSError:
        return 0


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return "(unparsable DUKABOT_DATABASE_URL)"


def _database_problem(url: str, exc: BaseException) -> str:
    detail: BaseException = exc
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        detail = exc.orig  # the driver's own words, without SQLAlchemy's statement and parameters
    lines = str(detail).strip().splitlines()
    return f"database {_safe_url(url)}: {lines[0] if lines else type(detail).__name__}"


def _run(settings: Settings, action: Callable[[], Coroutine[Any, Any, T]]) -> T:
    url = settings.resolved_database_url()
    try:
        return asyncio.run(action())
    except ShopError as exc:
        raise CliError(str(exc)) from None
    except VaultError as exc:
        raise CliError(str(exc)) from None
    except (SQLAlchemyError, OSError) as exc:
        raise CliError(_database_problem(url, exc)) from None


def _in_unit_of_work(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one unit of work on an up-to-date schema, commit once, dispose of the engine."""

    async def action() -> T:
        database = Database(settings.resolved_database_url())
        try:
            current, head = await current_revisions(database.engine), head_revisions()
            if not current:
                raise CliError("the database has no tables yet: run `dukabot db upgrade` first")
            if current != head:
                raise CliError(
                    f"the database is at revision {_revisions(current)}, not {_revisions(head)}: "
                    "run `dukabot db upgrade` first"
                )
            async with database.uow() as uow:
                result = await work(uow.session)
                await uow.commit()
                return result
        finally:
            await database.dispose()

    return _run(settings, action)


def _revisions(revisions: set[str]) -> str:
    return ", ".join(sorted(revisions)) or "none"


def _ok(message: str) -> None:
    click.secho(message, fg="green")


def _warn(message: str) -> None:
    click.secho(message, fg="yellow", err=True)


def _hint(message: str) -> None:
    click.secho(message, dim=True)


# --- db ------------------------------------------------------------------------------------------------------------


@click.group()
def db() -> None:
    """The database: schema migrations."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations (safe to run again: it does nothing when the schema is current).

    The database is DUKABOT_DATABASE_URL, or a SQLite file in DUKABOT_DATA_DIR.
    """
    settings = _settings()
    url = settings.resolved_database_url()

    async def action() -> tuple[set[str], set[str]]:
        database = Database(url)
        try:
            before = await current_revisions(database.engine)
            await upgrade(database.engine)
            return before, await current_revisions(database.engine)
        finally:
            await database.dispose()

    before, after = _run(settings, action)
    click.echo(f"Database: {_safe_url(url)}")
    if before == after:
        _ok(f"Already up to date (revision {_revisions(after)}).")
    else:
        _ok(f"Upgraded from {_revisions(before) if before else 'an empty database'} to revision {_revisions(after)}.")


# --- tenant --------------------------------------------------------------------------------------------------------


@click.group()
def tenant() -> None:
    """Shops (tenants): create, list, show."""


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
@click.option("--region", default="KE", show_default=True, help="Country whose phone numbers customers type.")
def tenant_add(slug: str, name: str, bot_token: str, admins: tuple[int, ...], currency: str, region: str) -> None:
    """Create the shop SLUG (a-z, 0-9 and '-', used in its webhook path /tg/SLUG).

    The bot token is stored encrypted, with a new webhook secret.

    \b
    Example:
      dukabot tenant add mama-mboga --name "Mama Mboga" --admin 123456789
    """
    settings = _settings()
    vault = _vault(settings)

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
            now=SystemClock().now(),
        )

    _in_unit_of_work(settings, work)
    _ok(f"Shop {slug!r} created: {name.strip()} ({currency.upper()}, {region.upper()}).")
    if not admins:
        _warn("No --admin given: nobody can run /admin in this shop's chat.")
    _hint(
        "Next:\n"
        f"  dukabot provider set {slug} mpesa|paystack|manual ...\n"
        f"  dukabot catalog import {slug} products.csv\n"
        f"  dukabot tenant show {slug}"
    )


@tenant.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def tenant_list(as_json: bool) -> None:
    """List the shops (no secrets)."""
    settings = _settings()

    async def work(session: AsyncSession) -> list[shops.TenantSummary]:
        return await shops.list_tenants(session)

    summaries = _in_unit_of_work(settings, work)
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
    settings = _settings()
    vault = _vault(settings)

    async def work(session: AsyncSession) -> dict[str, Any]:
        return await shops.describe_tenant(session, vault, slug)

    info = _in_unit_of_work(settings, work)
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    click.secho(f"{info['name']} ({info['slug']})", bold=True)
    lines = [
        ("currency", info["currency"]),
        ("region", info["region"]),
        ("mode", "TEST" if info["test_mode"] else "live"),
        ("bot", f"@{info['bot_username']}" if info["bot_username"] else f"id {info['bot_id'] or '?'}"),
        ("bot token", info["bot_token"]),
        ("webhook secret", info["webhook_secret"]),
        ("admins", ", ".join(str(admin) for admin in info["admins"]) or "(none)"),
        ("products", f"{info['products']} in {info['categories']} categories"),
        ("payment timeout", f"{info['payment_timeout_minutes']} minutes"),
        ("created", info["created_at"]),
    ]
    for label, value in lines:
        click.echo(f"  {label + ':':<17}{value}")
    click.secho("Payment methods:", bold=True)
    if not info["providers"]:
        click.echo(f"  (none) - dukabot provider set {slug} mpesa|paystack|manual ...")
    for entry in info["providers"]:
        state = "" if entry["enabled"] else " (disabled)"
        click.echo(f"  {entry['provider']}{state}")
        details = [(key, str(value)) for key, value in sorted(entry["options"].items())]
        details += [(key, str(value)) for key, value in entry["secrets"].items()]
        if "key_mode" in entry:
            details.append(("key mode", entry["key_mode"]))
        for key, value in details:
            shown = value.replace("\n", " / ")
            click.echo(f"    {key + ':':<17}{shown}")
    for problem in info["problems"]:
        _warn(f"Problem: {problem}")


# --- provider ------------------------------------------------------------------------------------------------------


_PROMPTS = {
    "consumer_key": "M-Pesa consumer key",
    "consumer_secret": "M-Pesa consumer secret",
    "passkey": "M-Pesa passkey",
    "secret_key": "Paystack secret key",
}


@click.group()
def provider() -> None:
    """Payment methods of a shop: mpesa, paystack, manual."""


@provider.command("set")
@click.argument("slug")
@click.argument("provider_name", metavar="PROVIDER", type=click.Choice(list(PROVIDERS), case_sensitive=False))
@click.option(
    "--consumer-key",
    metavar="K",
    envvar="DUKABOT_MPESA_CONSUMER_KEY",
    show_envvar=True,
    help="mpesa: Daraja app consumer key.",
)
@click.option(
    "--consumer-secret",
    metavar="S",
    envvar="DUKABOT_MPESA_CONSUMER_SECRET",
    show_envvar=True,
    help="mpesa: Daraja app consumer secret.",
)
@click.option(
    "--passkey", metavar="P", envvar="DUKABOT_MPESA_PASSKEY", show_envvar=True, help="mpesa: Lipa Na M-Pesa passkey."
)
@click.option("--shortcode", metavar="N", help="mpesa: the Paybill number, or the till's store number.")
@click.option("--till", metavar="N", help="mpesa: the Buy Goods till number, when payments go to a till.")
@click.option(
    "--c2b-version",
    type=click.Choice(["v1", "v2"]),
    help="mpesa: the C2B API version of the Paybill fallback.",
)
@click.option(
    "--secret-key",
    metavar="K",
    envvar="DUKABOT_PAYSTACK_SECRET_KEY",
    show_envvar=True,
    help="paystack: secret key, sk_test_... or sk_live_...",
)
@click.option(
    "--base-url",
    metavar="URL",
    help="mpesa, paystack: another API host (a sandbox, a simulator, a test double).",
)
@click.option(
    "--instructions", metavar="TEXT", help="manual: how customers pay by hand (bank, till, cash on delivery)."
)
@click.option("--test-consumer-key", metavar="K", help="mpesa: the shop's own sandbox app, used in test mode.")
@click.option("--test-consumer-secret", metavar="S", help="mpesa: the shop's own sandbox app, used in test mode.")
@click.option("--test-passkey", metavar="P", help="mpesa: the sandbox passkey of --option test_shortcode=N.")
@click.option("--test-secret-key", metavar="K", help="paystack: an sk_test_ key, used while the shop is in test mode.")
@click.option(
    "--option",
    "extra",
    metavar="KEY=VALUE",
    multiple=True,
    help="Further settings, repeatable. mpesa: c2b_validation=on|off, ip_allowlist=safaricom|IP,..., "
    "trusted_proxies=IP,..., test_shortcode=N, test_till=N. paystack: channels=card,mobile_money,..., "
    "ask_email=on|off, email_domain=DOMAIN.",
)
@click.pass_context
def provider_set(
    ctx: click.Context, /, slug: str, provider_name: str, extra: tuple[str, ...], **values: str | None
) -> None:
    """Set how customers of shop SLUG pay. PROVIDER is mpesa, paystack or manual.

    \b
      mpesa     --consumer-key K --consumer-secret S --shortcode N --passkey P
                [--till N] [--base-url URL] [--c2b-version v1|v2]
      paystack  --secret-key K [--base-url URL]
      manual    --instructions TEXT

    Secrets are stored encrypted. Leave a secret option out to be asked for it with hidden input, or set its
    environment variable, so that it stays out of your shell history. Setting a provider again replaces all of its
    previous settings and enables it.
    """
    name = provider_name.lower()
    spec = PROVIDERS[name]
    accepted = set(spec.secrets) | set(spec.options)
    for pair in extra:
        key, equals, setting = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not equals or not key:
            raise click.UsageError(f"--option takes KEY=VALUE, not {pair[:40]!r}", ctx)
        if key in values:
            raise click.UsageError(f"give {key} as --{key.replace('_', '-')}, not as --option", ctx)
        if key not in spec.options:
            raise click.UsageError(f"{name} has no option {key!r}; it takes {', '.join(spec.options)}", ctx)
        values[key] = setting
    for param, value in values.items():
        given_here = ctx.get_parameter_source(param) is ParameterSource.COMMANDLINE
        if value is not None and given_here and param not in accepted:
            raise click.UsageError(f"--{param.replace('_', '-')} is not an option of {name}", ctx)
    for key in spec.required_options:
        if values.get(key) is None:
            raise click.UsageError(f"{name} needs --{key.replace('_', '-')}", ctx)

    secrets: dict[str, str] = {}
    for key in spec.required_secrets:
        value = values.get(key)
        if not value:
            value = click.prompt(_PROMPTS.get(key, key), hide_input=True)
        secrets[key] = str(value)
    secrets.update({key: str(values[key]) for key in spec.optional_secrets if values.get(key)})
    options = {key: values.get(key) for key in spec.options if values.get(key) is not None}

    settings = _settings()
    vault = _vault(settings)

    async def work(session: AsyncSession) -> dict[str, Any]:
        config = await shops.set_provider(session, vault, slug, name, secrets, options, SystemClock().now())
        return dict(config.options)

    stored = _in_unit_of_work(settings, work)
    _ok(f"{spec.title} is set for {slug!r}.")
    for key, value in sorted(stored.items()):
        shown = str(value).replace("\n", " / ")
        click.echo(f"  {key}: {shown}")
    if secrets:
        click.echo(f"  secrets stored encrypted: {', '.join(sorted(secrets))}")


@provider.command("register-c2b")
@click.argument("slug")
@click.option(
    "--public-url",
    metavar="URL",
    help="Where Daraja should send the payments (default: DUKABOT_PUBLIC_URL).",
)
def provider_register_c2b(slug: str, public_url: str | None) -> None:
    """Register the M-Pesa C2B URLs of shop SLUG with Daraja (the Paybill fallback).

    Customers who pay the shop's Paybill with the order code as the account number are then matched to their
    orders. Uses the shop's C2B version (--c2b-version of `provider set`, v2 by default). In production Daraja
    registers URLs once: to change them, delete them in the M-Pesa portal first.
    """
    settings = _settings()
    vault = _vault(settings)
    base = (public_url or settings.public_url or "").rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise CliError("Daraja needs a public URL to call: set DUKABOT_PUBLIC_URL or give --public-url")

    async def work(session: AsyncSession) -> tuple[str, str]:
        tenant = await shops.require_tenant(session, slug)
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0)) as http:
            registry = ProviderRegistry(vault, ProviderDeps(http, SystemClock(), base), provider_factories())
            provider = await registry.for_tenant(session, tenant, "mpesa")
            if not isinstance(provider, MpesaProvider):
                raise CliError(f"M-Pesa is not set for {slug!r}: dukabot provider set {slug} mpesa ...")
            if provider.settings.paybill is None:
                raise CliError("this shop takes M-Pesa to a till; the Paybill fallback needs a Paybill")
            confirmation, validation = c2b_urls(base, slug, shops.decrypt_webhook_secret(vault, tenant))
            try:
                answer = await provider.register_c2b(confirmation, validation)
            except ProviderError as exc:
                raise CliError(str(exc)) from None
            return answer, f"{provider.settings.shortcode} (C2B {provider.settings.c2b_version})"

    answer, what = _in_unit_of_work(settings, work)
    _ok(f"C2B URLs registered for {slug!r}, shortcode {what}: {answer}")
    click.echo(f"  confirmation: {base}/pay/c2b/{slug}/…/confirm")
    click.echo(f"  validation:   {base}/pay/c2b/{slug}/…/validate")


# --- catalog -------------------------------------------------------------------------------------------------------


@click.group()
def catalog() -> None:
    """Products of a shop."""


@catalog.command("import")
@click.argument("slug")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def catalog_import(slug: str, file: IO[str]) -> None:
    """Add or update the products of shop SLUG from a CSV FILE ('-' reads standard input).

    \b
    Columns: sku,name,price,category,description,photo_url,stock
      price      in major units of the shop's currency: 1250 or 12.50
      photo_url  empty, or an https:// URL
      stock      empty for no limit, or a whole number

    Products are matched by sku: known ones are updated, new ones added, others left alone. A file with any bad
    row is refused as a whole, naming each bad line.
    """
    try:
        text = file.read()
    except UnicodeDecodeError:
        raise CliError(f"{file.name} is not UTF-8 text: save it as 'CSV UTF-8'") from None
    settings = _settings()

    async def work(session: AsyncSession) -> shops.ImportReport:
        return await shops.import_catalog(session, slug, text, now=SystemClock().now())

    report = _in_unit_of_work(settings, work)
    _ok(
        f"Imported {report.total} products into {slug!r}: {report.created} new, {report.updated} updated, "
        f"{report.unchanged} unchanged."
    )
    click.echo(f"  categories: {', '.join(report.categories)}")


# --- keys ----------------------------------------------------------------------------------------------------------


@click.group()
def keys() -> None:
    """The encryption keys of the stored secrets."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every bot token, webhook secret and provider secret under the first key.

    \b
    To change keys:
      1. put a new Fernet key first in DUKABOT_SECRET_KEYS (comma-separated)
         or on the first line of the key file, keeping the old keys after it;
      2. run: dukabot keys rotate
      3. remove the old keys.
    A new key:
      python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"
    """
    settings = _settings()
    vault = _vault(settings)

    async def work(session: AsyncSession) -> int:
        return await shops.rotate_keys(session, vault, now=SystemClock().now())

    count = _in_unit_of_work(settings, work)
    _ok(f"Re-encrypted {count} secrets under the first key.")
    if _key_count(settings) > 1:
        _hint("The other keys are no longer needed for these secrets: remove them.")
    else:
        _warn("Only one key is configured, so the secrets stay under it. To rotate, put a new key first (see --help).")
