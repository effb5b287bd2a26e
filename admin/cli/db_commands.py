"""``dukabot db``: the database schema and its migrations."""

from __future__ import annotations

import click

from admin.cli.plumbing import echo_ok, format_revisions, load_settings, run_action, safe_database_url

__all__ = ["db"]


@click.group()
def db() -> None:
    """The database: schema migrations."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations (safe to run again: it does nothing when the schema is current).

    The database is DUKABOT_DATABASE_URL, or a SQLite file in DUKABOT_DATA_DIR.
    """
    from core.db.engine import Database
    from core.db.migrate import current_revisions, upgrade

    settings = load_settings()
    url = settings.resolved_database_url()

    async def action() -> tuple[set[str], set[str]]:
        database = Database(url)
        try:
            before = await current_revisions(database.engine)
            await upgrade(database.engine)
            return before, await current_revisions(database.engine)
        finally:
            await database.dispose()

    before, after = run_action(settings, action)
    click.echo(f"Database: {safe_database_url(url)}")
    if before == after:
        echo_ok(f"Already up to date (revision {format_revisions(after)}).")
    else:
        start = format_revisions(before) if before else "an empty database"
        echo_ok(f"Upgraded from {start} to revision {format_revisions(after)}.")
