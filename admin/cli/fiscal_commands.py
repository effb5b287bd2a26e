"""``dukabot fiscal``: a shop's tax-authority integrations (``fiscal/``; today KRA eTIMS).

``fiscal set SLUG NAME`` takes the options of the integration's settings model, read from its ``settings.json``
(so ``--help`` imports no pydantic), and stores them as ``provider set`` stores a provider's: secrets encrypted.
A communication key the authority issued earlier is kept when the settings are set again without one."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from admin.cli.plumbing import CliError, echo_ok, in_unit_of_work, load_settings, load_vault
from fiscal.registry import ENTRIES, NAMES, settings_manifest

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["fiscal"]


def _fields(name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(settings_manifest(name).read_text(encoding="utf-8"))["fields"]
    return rows


def _flags() -> list[click.Option]:
    seen: dict[str, click.Option] = {}
    for name in NAMES:
        for row in _fields(name):
            if row["cli"] == "flag" and row["name"] not in seen:
                flag = "--" + row["name"].replace("_", "-")
                seen[row["name"]] = click.Option(
                    [flag, row["name"]], metavar=row["metavar"], help=f"{name}: {row['help']}"
                )
    return list(seen.values())


def _further() -> str:
    parts = [
        f"{name}: " + ", ".join(f"{row['name']}={row['metavar']}" for row in _fields(name) if row["cli"] == "option")
        for name in NAMES
    ]
    return "Further settings, repeatable. " + " ".join(parts)


@click.group(help=f"Tax authorities a shop reports its sales to: {', '.join(NAMES)}.")
def fiscal() -> None:
    pass


def fiscal_set(ctx: click.Context, /, slug: str, name: str, extra: tuple[str, ...], **values: str | None) -> None:
    from core.clock import SystemClock
    from core.db.repos.tenants import TenantRepository
    from fiscal import devices
    from payments.setup import SetupError

    name = name.lower()
    known = {row["name"]: row for row in _fields(name)}
    given: dict[str, Any] = {key: value for key, value in values.items() if value is not None}
    for key in given:
        if key not in known or known[key]["cli"] != "flag":
            raise click.UsageError(f"--{key.replace('_', '-')} is not an option of {name}", ctx)
    for pair in extra:
        key, equals, setting = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not equals or key not in known or known[key]["cli"] != "option":
            further = ", ".join(row for row, spec in known.items() if spec["cli"] == "option")
            raise click.UsageError(f"{name} takes --option KEY=VALUE with KEY one of {further}, not {pair[:40]!r}", ctx)
        given[key] = setting
    settings = load_settings()
    vault = load_vault(settings)
    model = ENTRIES[name].setup()

    async def work(session: AsyncSession) -> dict[str, Any]:
        tenant = await TenantRepository(session).by_slug(slug)
        if tenant is None:
            raise CliError(f"no shop with slug {slug!r}")
        try:
            setup = model.parse(given)
        except SetupError as error:
            raise CliError(str(error)) from None
        kept: dict[str, str] = {}
        row = await devices.device(session, tenant.id, name)
        if row is not None and row.secrets_enc:
            kept = {key: value for key, value in vault.decrypt_json(row.secrets_enc).items() if key == "cmc_key"}
        stored = await devices.store(session, vault, tenant.id, setup, SystemClock().now(), keep=kept)
        secrets, _ = setup.stored()
        return {
            "options": dict(stored.options),
            "secrets": sorted({*secrets, *kept}),
            "facts": model.facts({**kept, **secrets}, stored.options),
        }

    shown = in_unit_of_work(settings, work)
    echo_ok(f"{ENTRIES[name].label} is set for {slug!r}.")
    for key, value in sorted(shown["options"].items()):
        click.echo(f"  {key}: {value}")
    if shown["secrets"]:
        click.echo(f"  secrets stored encrypted: {', '.join(shown['secrets'])}")
    for key, value in shown["facts"].items():
        click.echo(f"  {key}: {value}")


fiscal.add_command(
    click.Command(
        "set",
        callback=click.pass_context(fiscal_set),
        help=f"Set the tax authority shop SLUG reports each sale to. NAME is {', '.join(NAMES)}. Setting it again "
        "replaces its settings (a communication key the authority issued is kept) and enables it.",
        params=[
            click.Argument(["slug"]),
            click.Argument(["name"], metavar="NAME", type=click.Choice(NAMES, case_sensitive=False)),
            *_flags(),
            click.Option(["--option", "extra"], metavar="KEY=VALUE", multiple=True, help=_further()),
        ],
    )
)
