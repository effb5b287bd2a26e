"""``dukabot provider``: setting a shop's payment methods, and each provider's own commands.

Nothing here knows a provider by name: ``provider set`` takes the options of the providers' settings models
(:mod:`admin.cli.provider_options`) and the providers add their own commands through the registry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from admin.cli.plumbing import CliError, echo_ok, in_unit_of_work, load_settings, load_vault
from admin.cli.provider_options import (
    flag_options,
    further_settings_help,
    settings_given,
    title_of,
    usage_lines,
)
from core.clock import SystemClock
from payments.providers import ENTRIES, NAMES

if TYPE_CHECKING:
    import httpx
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.db.tables import Tenant
    from core.vault import Vault
    from payments.base import OperatorSession

T = TypeVar("T")

__all__ = ["PROVIDER_NAMES", "provider"]

PROVIDER_NAMES = NAMES  # from the registry's declarations alone: listing them imports no payment code


class RegisteredProvider(click.Choice[str]):
    """A provider's name, checked against the registry when the command line is read, not when this module was
    imported: a provider registered later (the contract suite's) is a choice too."""

    def __init__(self) -> None:
        super().__init__((), case_sensitive=False)

    @property
    def choices(self) -> tuple[str, ...]:
        from payments import providers

        return providers.NAMES

    @choices.setter
    def choices(self, _: object) -> None:
        pass  # click sets its given choices: the registry's are read instead


@click.group(help=f"Payment methods of a shop: {', '.join(PROVIDER_NAMES)}.")
def provider() -> None:
    pass


def provider_set(
    ctx: click.Context, /, slug: str, provider_name: str, extra: tuple[str, ...], **values: str | None
) -> None:
    from admin import shops

    name = provider_name.lower()
    secrets, options = settings_given(ctx, name, values, extra)
    settings = load_settings()
    vault = load_vault(settings)

    async def work(session: AsyncSession) -> dict[str, Any]:
        config = await shops.set_provider(session, vault, slug, name, secrets, options, SystemClock().now())
        return dict(config.options)

    stored = in_unit_of_work(settings, work)
    echo_ok(f"{title_of(name)} is set for {slug!r}.")
    for key, value in sorted(stored.items()):
        shown = str(value).replace("\n", " / ")
        click.echo(f"  {key}: {shown}")
    if secrets:
        click.echo(f"  secrets stored encrypted: {', '.join(sorted(secrets))}")


_SET_HELP = f"""Set how customers of shop SLUG pay. PROVIDER is {", ".join(PROVIDER_NAMES)}.

\b
{usage_lines()}

Secrets are stored encrypted. Leave a secret option out to be asked for it with hidden input, or set its
environment variable, so that it stays out of your shell history. Setting a provider again replaces all of its
previous settings and enables it.
"""

provider.add_command(
    click.Command(
        "set",
        callback=click.pass_context(provider_set),
        help=_SET_HELP,
        params=[
            click.Argument(["slug"]),
            click.Argument(["provider_name"], metavar="PROVIDER", type=RegisteredProvider()),
            *flag_options(),
            click.Option(["--option", "extra"], metavar="KEY=VALUE", multiple=True, help=further_settings_help()),
        ],
    )
)


class _Kit:
    """The operator CLI as a provider's own commands see it (:class:`payments.base.OperatorKit`)."""

    def refuse(self, message: str) -> NoReturn:
        raise CliError(message)

    def done(self, message: str) -> None:
        echo_ok(message)

    def public_url(self, given: str | None) -> str | None:
        base = (given or load_settings().public_url or "").rstrip("/")
        return base if base.startswith(("https://", "http://")) else None

    def run(self, work: Callable[[OperatorSession], Awaitable[T]]) -> T:
        settings = load_settings()
        vault = load_vault(settings)

        async def job(session: AsyncSession) -> T:
            return await work(_Session(session, vault))

        return in_unit_of_work(settings, job)


class _Session:
    def __init__(self, session: AsyncSession, vault: Vault) -> None:
        self.session = session
        self.vault = vault

    async def tenant(self, slug: str) -> Tenant:
        from admin import shops

        return await shops.require_tenant(self.session, slug)

    async def provider(self, tenant: Tenant, name: str, http: httpx.AsyncClient, callback_base: str) -> Any:
        from payments.providers import provider_factories
        from payments.registry import ProviderDeps, ProviderRegistry

        registry = ProviderRegistry(self.vault, ProviderDeps(http, SystemClock(), callback_base), provider_factories())
        return await registry.for_tenant(self.session, tenant, name)

    async def managed_secret(
        self, slug: str, provider: str, field: str, make: Callable[[], str], *, rotate: bool
    ) -> str:
        from admin import shops

        now = SystemClock().now()
        return await shops.managed_secret(self.session, self.vault, slug, provider, field, make, now, rotate=rotate)


for _entry in ENTRIES.values():  # each provider's own commands (registering its URLs...)
    for _command in _entry.commands(_Kit()) if _entry.commands is not None else ():
        provider.add_command(_command)
