"""``dukabot tenant admin``: who may run /admin in a shop's chat (add, remove, list)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from admin.cli.plumbing import CliError, echo_hint, echo_ok, echo_warning, in_unit_of_work, load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from admin.shops.tenant_admins import AdminEntry, Removal
    from core.db.tables import Tenant

__all__ = ["admin"]

TG_USER_ID = click.IntRange(min=1, max=2**63 - 1)


@click.group()
def admin() -> None:
    """Admins of a shop: the Telegram users who may run /admin in its chat."""


@admin.command("add")
@click.argument("slug")
@click.argument("tg_user_id", type=TG_USER_ID)
def admin_add(slug: str, tg_user_id: int) -> None:
    """Make TG_USER_ID an admin of the shop SLUG (e.g. a shop created without --admin).

    A Telegram user id is a number; a person can learn theirs from a bot such as @userinfobot.
    """
    from admin.shops.tenant_admins import add_admin
    from core.clock import SystemClock

    settings = load_settings()

    async def work(session: AsyncSession) -> bool:
        return await add_admin(session, slug, tg_user_id, now=SystemClock().now())

    if in_unit_of_work(settings, work):
        echo_ok(f"{tg_user_id} is now an admin of {slug!r}: they can run /admin in the shop's chat.")
    else:
        echo_warning(f"{tg_user_id} is already an admin of {slug!r}: nothing changed.")


@admin.command("remove")
@click.argument("slug")
@click.argument("tg_user_id", type=TG_USER_ID)
def admin_remove(slug: str, tg_user_id: int) -> None:
    """Take TG_USER_ID off the admins of the shop SLUG. The last admin cannot be removed: add another first."""
    from admin.shops.tenant_admins import Removal, remove_admin
    from core.clock import SystemClock

    settings = load_settings()

    async def work(session: AsyncSession) -> Removal:
        return await remove_admin(session, slug, tg_user_id, now=SystemClock().now())

    outcome = in_unit_of_work(settings, work)  # a refusal is audited, so it is committed too
    if outcome is Removal.NOT_AN_ADMIN:
        raise CliError(f"{tg_user_id} is not an admin of {slug!r}: see `dukabot tenant admin list {slug}`")
    if outcome is Removal.LAST_ADMIN:
        raise CliError(
            f"{tg_user_id} is the last admin of {slug!r}: a shop needs one, so add another first "
            f"(dukabot tenant admin add {slug} TG_USER_ID)"
        )
    echo_ok(f"{tg_user_id} is no longer an admin of {slug!r}.")


@admin.command("list")
@click.argument("slug")
def admin_list(slug: str) -> None:
    """List the admins of the shop SLUG, with when each was added (in the shop's time zone)."""
    from admin.shops.tenant_admins import list_admins
    from core.shoptime import when_long

    settings = load_settings()

    async def work(session: AsyncSession) -> tuple[Tenant, list[AdminEntry]]:
        return await list_admins(session, slug)

    tenant, admins = in_unit_of_work(settings, work)
    if not admins:
        click.echo(f"Shop {slug!r} has no admin: nobody can run /admin in its chat.")
        echo_hint(f"Add one: dukabot tenant admin add {slug} TG_USER_ID")
        return
    click.secho(f"Admins of {tenant.name} ({slug}):", bold=True)
    for entry in admins:
        click.echo(f"  {entry.tg_user_id:<20} added {when_long(entry.added_at, tenant)}")
