"""``dukabot doctor``: every check an operator needs before opening a shop, one line each.

Imported only when the command runs (see webhooks/cli.py): it needs the whole runtime, Telegram included."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

import click
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channel import ChannelRefused
from core.clock import utc
from core.db.migrate import current_revisions, head_revisions
from core.db.repos.tenants import TenantRepository
from core.db.tables import Tenant
from core.logs import redact
from core.settings import Settings
from core.vault import VaultError
from payments.base import ProviderEntry, ProviderError
from payments.providers import ENTRIES
from payments.setup import SetupError
from webhooks.runtime import Runtime, build_runtime


def run(slug: str | None) -> None:
    """The checks of ``dukabot doctor [SLUG]``, printed; exits with 1 when anything is wrong."""
    settings, first = _load_settings()
    checks = [first]
    if settings is not None:
        checks += asyncio.run(_doctor(settings, slug))
    width = max(len(check.what) for check in checks)
    for check in checks:
        mark = click.style(" ok ", fg="green", bold=True) if check.ok else click.style("FAIL", fg="red", bold=True)
        click.echo(f"{mark}  {check.what.ljust(width)}  {check.detail}")
    failed = [check for check in checks if not check.ok]
    if failed:
        click.secho(f"Problems found: {len(failed)}", fg="red", err=True)
        sys.exit(1)
    click.secho("all good", fg="green")


@dataclass(frozen=True, slots=True)
class Check:
    """One line of `dukabot doctor`."""

    what: str
    ok: bool
    detail: str


def _safe(error: BaseException) -> str:
    words = " ".join(str(error).split())[:160]
    return redact(f"{type(error).__name__}: {words}" if words else type(error).__name__)


def _load_settings() -> tuple[Settings | None, Check]:
    try:
        settings = Settings()
    except ValidationError as exc:
        from admin.cli.plumbing import settings_problem

        return None, Check("settings", False, settings_problem(exc))
    mode = f"webhooks at {settings.public_url}" if settings.public_url else "long polling"
    return settings, Check(
        "settings", True, f"Telegram by {mode} through {settings.telegram_library}; logs as {settings.log_format}"
    )


async def _doctor(settings: Settings, slug: str | None) -> list[Check]:
    checks: list[Check] = []
    try:
        runtime = build_runtime(settings)
    except Exception as error:  # the vault or the data dir: nothing else can be checked
        return [Check("secret keys", False, _safe(error))]
    checks.append(Check("secret keys", True, "loaded (DUKABOT_SECRET_KEYS or the key file)"))
    try:
        checks += await _database_and_tenants(runtime, settings, slug)
    finally:
        await runtime.close()
    return checks


async def _database_and_tenants(runtime: Runtime, settings: Settings, slug: str | None) -> list[Check]:
    from admin.cli.failures import unreachable_or_refused
    from admin.cli.plumbing import database_host

    url = make_url(settings.resolved_database_url()).render_as_string(hide_password=True)
    try:
        current, head = await current_revisions(runtime.database.engine), head_revisions()
    except Exception as error:
        told = unreachable_or_refused(error, database_host(settings.resolved_database_url()))
        return [Check("database", False, f"{url}: {redact(told) if told else _safe(error)}")]
    checks = [Check("database", True, url)]
    if current != head:
        found = ", ".join(sorted(current)) or "none"
        problem = f"at {found}, head is {', '.join(sorted(head))}: run `dukabot db upgrade`"
        return [*checks, Check("migrations", False, problem)]
    checks.append(Check("migrations", True, f"current ({', '.join(sorted(head))})"))
    async with runtime.database.uow() as uow:  # read what to check, then check outside any transaction
        tenants = TenantRepository(uow.session)
        chosen = [await tenants.by_slug(slug)] if slug else await tenants.all()
        if slug and chosen == [None]:
            return [*checks, Check(f"tenant {slug}", False, "no such tenant")]
        plan = [
            (
                tenant.id,
                tenant.slug,
                tenant.test_mode,
                disabled_note(tenant),
                [c.provider for c in await tenants.provider_configs(tenant.id)],
            )
            for tenant in chosen
            if tenant is not None
        ]
    for tenant_id, tenant_slug, test_mode, disabled, providers in plan:
        mode = "test mode" if test_mode else "live"
        checks.append(await _telegram(runtime, tenant_id, tenant_slug, mode, disabled, settings.telegram_api))
        for name in providers:
            async with runtime.database.uow() as uow:
                tenant = await TenantRepository(uow.session).by_id(tenant_id)
                assert tenant is not None
                checks.append(await _provider(runtime, uow.session, tenant, name))
        checks += await fiscal_checks(runtime, tenant_id)
        checks += await notify_checks(runtime, tenant_id)
    return checks


async def notify_checks(runtime: Runtime, tenant_id: int) -> list[Check]:
    """One line per channel the shop sends receipts by beyond the chat (``notify/``)."""
    from notify import doctor

    checks = []
    async with runtime.database.uow() as uow:
        tenant = await TenantRepository(uow.session).by_id(tenant_id)
        assert tenant is not None
        for channel in await doctor.channels_of(uow.session, tenant_id):
            ok, detail = await doctor.check(uow.session, runtime.vault, tenant, channel)
            checks.append(Check(f"{tenant.slug}: {channel}", ok, redact(detail)))
    return checks


async def fiscal_checks(runtime: Runtime, tenant_id: int) -> list[Check]:
    """One line per tax authority the shop reports to (``fiscal/``): its settings and what it still lacks."""
    from sqlalchemy import select

    from core.db.tables import FiscalDevice
    from fiscal.contract import FiscalKit
    from fiscal.registry import ENTRIES as FISCAL

    kit = FiscalKit(runtime.database, runtime.clock, runtime.http, runtime.vault)
    checks = []
    async with runtime.database.uow() as uow:
        tenant = await TenantRepository(uow.session).by_id(tenant_id)
        assert tenant is not None
        names = (
            await uow.session.scalars(select(FiscalDevice.authority).where(FiscalDevice.tenant_id == tenant_id))
        ).all()
        for name in names:
            what = f"{tenant.slug}: {name}"
            entry = FISCAL.get(name)
            if entry is None:
                checks.append(Check(what, False, "this build does not know this tax authority"))
                continue
            try:
                checks.append(Check(what, True, redact(await entry.check(kit, uow.session, tenant))))
            except VaultError:
                checks.append(Check(what, False, "its secrets cannot be decrypted with the configured keys"))
            except (SetupError, ValueError) as error:
                checks.append(Check(what, False, f"{redact(str(error))}; see dukabot fiscal set {tenant.slug} {name}"))
    return checks


def disabled_note(tenant: Tenant) -> str | None:
    """Why the tenant's bot is disabled (see bot/polling.py), or None while it is in service."""
    if tenant.bot_disabled_at is None:
        return None
    return f"bot disabled since {utc(tenant.bot_disabled_at):%Y-%m-%d %H:%M} UTC: {tenant.bot_disabled_reason}"


async def _telegram(runtime: Runtime, tenant_id: int, slug: str, mode: str, disabled: str | None, api: str) -> Check:
    """getMe with the tenant's token. A disabled bot whose token answers again is enabled (the poller takes it up
    at its next scan); one still refused says how to mend it. Telegram out of reach is not a refused token."""
    from admin.cli.failures import could_not_reach, host_of

    what = f"{slug}: telegram"
    try:
        identity = await runtime.channel.identity(tenant_id)
    except ChannelRefused as error:
        problem = could_not_reach(error, host_of(api)) or redact(f"getMe refused: {error.reason}")
    except Exception as error:
        problem = could_not_reach(error, host_of(api)) or _safe(error)
    else:
        async with runtime.database.uow() as uow:  # the t.me links of promo codes and return pages need it
            await TenantRepository(uow.session).learn_bot_username(tenant_id, identity.username)
            await uow.commit()
        # Inline mode ("@shopbot words" in any chat) is the bot owner's switch in BotFather, not ours.
        shown = f"@{identity.username} ({mode})" + (
            "" if identity.inline else "; inline mode off: turn it on in BotFather with /setinline"
        )
        if disabled is not None and await runtime.channel.enable(tenant_id):
            return Check(what, True, f"{shown}; the token works again: bot enabled")
        return Check(what, True, shown)
    if disabled is not None:
        problem = f"{disabled}; {problem}; set a new one: dukabot tenant set-token {slug}"
    return Check(what, False, problem)


async def _provider(runtime: Runtime, session: AsyncSession, tenant: Tenant, name: str) -> Check:
    what = f"{tenant.slug}: {name}"
    entry = ENTRIES.get(name)
    if entry is None:
        return Check(what, False, "this build does not know this payment method")
    if entry.factory is None:  # nothing to call (manual payments): the stored settings are all there is to check
        return await _stored_settings(runtime, session, tenant, entry)
    if not runtime.registry.supports(name):
        return Check(what, False, "this build cannot start it yet")
    try:
        provider = await runtime.registry.for_tenant(session, tenant, name)
        if provider is None:
            return Check(what, False, "not configured")
        return Check(what, True, redact(await provider.check()))
    except Exception as error:
        # Out of reach (the network, a wrong base URL) or credentials refused (401/403, the provider's own word),
        # each said as such; anything else in the provider's words.
        from admin.cli.failures import unreachable_or_refused

        told = unreachable_or_refused(error)
        if told is not None:
            return Check(what, False, redact(told))
        return Check(what, False, redact(str(error)) if isinstance(error, ProviderError) else _safe(error))


async def _stored_settings(runtime: Runtime, session: AsyncSession, tenant: Tenant, entry: ProviderEntry) -> Check:
    """The shop's stored settings, checked by the provider's settings model as ``provider set`` checked them."""
    what = f"{tenant.slug}: {entry.name}"
    config = await TenantRepository(session).provider_config(tenant.id, entry.name)
    if config is None:
        return Check(what, False, "not configured")
    model = entry.setup()
    try:
        secrets = runtime.vault.decrypt_json(config.secrets_enc) if config.secrets_enc else {}
        model.parse({**dict(config.options or {}), **secrets})
    except VaultError:
        return Check(what, False, "its secrets cannot be decrypted with the configured keys")
    except SetupError as error:
        return Check(what, False, f"{error}; set it again: dukabot provider set {tenant.slug} {entry.name} ...")
    return Check(what, True, "settings complete; nothing to call")
