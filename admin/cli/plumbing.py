"""What every operator command shares: reading the settings and the vault, running one operation in one unit of
work, turning expected failures into one red line (:class:`CliError`), and the colours of the output.

Pydantic, asyncio, SQLAlchemy, Alembic and the shop operations are imported inside the functions that use them:
every command module imports this one, and `--help` should not pay for them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from pydantic import ValidationError
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.settings import Settings
    from core.vault import Vault

T = TypeVar("T")

__all__ = [
    "CliError",
    "SettingsError",
    "database_host",
    "echo_hint",
    "echo_ok",
    "echo_warning",
    "format_revisions",
    "in_unit_of_work",
    "load_settings",
    "load_vault",
    "run_action",
    "safe_database_url",
    "settings_problem",
]


class CliError(click.ClickException):
    """One red line on stderr, exit status 1."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

    def show(self, file: IO[Any] | None = None) -> None:
        click.secho(f"Error: {self.format_message()}", fg="red", err=True)


class SettingsError(CliError):
    """A bad DUKABOT_ setting: exit status 2, as for a bad option (the command did not run)."""

    exit_code = 2


def load_settings() -> Settings:
    """The settings, or one line naming the bad one (exit status 2)."""
    from pydantic import ValidationError

    from core.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(f"bad setting {settings_problem(exc)}") from None


def settings_problem(exc: ValidationError) -> str:
    """The first bad setting as ``DUKABOT_NAME: what is wrong``. Without the input values: a bad setting (a database
    URL with its password) may hold a secret."""
    first = exc.errors(include_input=False, include_url=False)[0]
    name = "DUKABOT_" + str(first["loc"][0]).upper() if first["loc"] else "a DUKABOT_ setting"
    return f"{name}: {first['msg'].removeprefix('Value error, ')}"


def load_vault(settings: Settings) -> Vault:
    from core.vault import Vault, VaultError

    keys = settings.secret_keys.get_secret_value() if settings.secret_keys else None
    try:
        return Vault.from_settings(keys, settings.key_file)
    except VaultError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot read or create the key file {settings.key_file}: {exc.strerror or exc}") from None


def safe_database_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return "(unparsable DUKABOT_DATABASE_URL)"


def database_host(url: str) -> str | None:
    """``host:port`` of a server database URL, for saying which one could not be reached."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    try:
        parsed = make_url(url)
    except SQLAlchemyError:
        return None
    if not parsed.host:
        return None
    return f"{parsed.host}:{parsed.port or 5432}" if parsed.get_backend_name() == "postgresql" else parsed.host


def _database_problem(url: str, exc: BaseException) -> str:
    from sqlalchemy.exc import DBAPIError

    from admin.cli.failures import unreachable_or_refused

    told = unreachable_or_refused(exc, database_host(url))
    if told is not None:
        return f"database {safe_database_url(url)}: {told}"
    detail: BaseException = exc
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        detail = exc.orig  # the driver's own words, without SQLAlchemy's statement and parameters
    lines = str(detail).strip().splitlines()
    return f"database {safe_database_url(url)}: {lines[0] if lines else type(detail).__name__}"


def run_action(settings: Settings, action: Callable[[], Coroutine[Any, Any, T]]) -> T:
    import asyncio

    from sqlalchemy.exc import SQLAlchemyError

    from admin.shops import ShopError
    from core.vault import VaultError

    url = settings.resolved_database_url()
    try:
        return asyncio.run(action())
    except ShopError as exc:
        raise CliError(str(exc)) from None
    except VaultError as exc:
        raise CliError(str(exc)) from None
    except (SQLAlchemyError, OSError) as exc:
        raise CliError(_database_problem(url, exc)) from None


def in_unit_of_work(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one unit of work on an up-to-date schema, commit once, dispose of the engine."""
    from core.db.engine import Database
    from core.db.schema_version import current_revisions, head_revisions

    async def action() -> T:
        database = Database(settings.resolved_database_url())
        try:
            current, head = await current_revisions(database.engine), head_revisions()
            if not current:
                raise CliError("the database has no tables yet: run `dukabot db upgrade` first")
            if current != head:
                raise CliError(
                    f"the database is at revision {format_revisions(current)}, not {format_revisions(head)}: "
                    "run `dukabot db upgrade` first"
                )
            async with database.uow() as uow:
                result = await work(uow.session)
                await uow.commit()
                return result
        finally:
            await database.dispose()

    return run_action(settings, action)


def format_revisions(revisions: set[str]) -> str:
    return ", ".join(sorted(revisions)) or "none"


def echo_ok(message: str) -> None:
    click.secho(message, fg="green")


def echo_warning(message: str) -> None:
    click.secho(message, fg="yellow", err=True)


def echo_hint(message: str) -> None:
    click.secho(message, dim=True)
