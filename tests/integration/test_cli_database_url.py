"""DUKABOT_DATABASE_URL as operators paste it: the plain `postgresql://` and `postgres://` of their host mean asyncpg,
`sqlite:///path` means aiosqlite, and a driver dukabot does not ship is refused in one line (exit 2) by every
command, instead of a traceback about a module that is not installed."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import make_url

from core.settings import Settings
from webhooks.cli import main

Run = Callable[..., Result]
SUPPORTED = "use postgresql://… (asyncpg) or sqlite:///path (aiosqlite)"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.chdir(tmp_path)  # no stray .env file

    def invoke(url: str, *args: str) -> Result:
        env = {"DUKABOT_DATA_DIR": str(tmp_path / "var"), "DUKABOT_DATABASE_URL": url}
        return CliRunner().invoke(main, list(args), env=env)

    return invoke


def one_line_error(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    message = result.stderr.strip()
    assert "\n" not in message, message
    return message


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("mysql+aiomysql://shop:hunter2@db/shop", "mysql+aiomysql"),
        ("mysql://shop:hunter2@db/shop", "mysql"),
        ("postgresql+psycopg://shop:hunter2@db/shop", "postgresql+psycopg"),
        ("postgresql+psycopg2://shop:hunter2@db/shop", "postgresql+psycopg2"),
        ("sqlite+pysqlite:///shop.db", "sqlite+pysqlite"),
    ],
)
@pytest.mark.parametrize("command", [("db", "upgrade"), ("tenant", "list"), ("serve",), ("webhook", "set", "duka")])
def test_a_driver_we_do_not_ship_is_refused_in_one_line(
    run: Run, url: str, driver: str, command: tuple[str, ...]
) -> None:
    message = one_line_error(run(url, *command), code=2)
    assert message == (f"Error: bad setting DUKABOT_DATABASE_URL: the driver {driver!r} is not supported: {SUPPORTED}")
    assert "hunter2" not in message


def test_doctor_names_the_bad_url_too(run: Run) -> None:
    result = run("mysql://shop:hunter2@db/shop", "doctor")
    assert result.exit_code == 1, result.output
    assert " ".join(result.stdout.split()) == (
        f"FAIL settings DUKABOT_DATABASE_URL: the driver 'mysql' is not supported: {SUPPORTED}"
    )
    assert "hunter2" not in result.output


def test_plain_postgresql_means_asyncpg(run: Run) -> None:
    """Nothing listens on port 1: the error is asyncpg's connection refused, not a missing psycopg."""
    for scheme in ("postgresql", "postgres"):
        message = one_line_error(run(f"{scheme}://dukabot:hunter2@127.0.0.1:1/dukabot", "db", "upgrade"), code=1)
        assert message == (
            "Error: database postgresql+asyncpg://dukabot:***@127.0.0.1:1/dukabot: could not reach 127.0.0.1:1: "
            "connection refused"
        )


def test_plain_sqlite_means_aiosqlite(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "shop.sqlite3"
    result = run(f"sqlite:///{path}", "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Database: sqlite+aiosqlite:///{path}\nUpgraded from an empty database")
    assert "No shops yet" in run(f"sqlite:///{path}", "tenant", "list").stdout


@pytest.mark.postgres
def test_a_postgres_url_as_hosts_give_it_works(run: Run) -> None:
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL suites skipped")
    ours = make_url(os.environ["TEST_DATABASE_URL"])
    pasted = ours.set(drivername="postgres", query={"sslmode": "disable"}).render_as_string(hide_password=False)
    result = run(pasted, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Database: postgresql+asyncpg://")


def test_libpq_parameters_become_asyncpg_ones_or_are_refused() -> None:
    def resolved(url: str) -> str:
        return Settings(_env_file=None, database_url=url).resolved_database_url()  # type: ignore[call-arg]

    assert resolved("postgres://u:p@db.example.com/shop?sslmode=require") == (
        "postgresql+asyncpg://u:p@db.example.com/shop?ssl=require"
    )
    assert resolved("sqlite:///var/shop.sqlite3") == "sqlite+aiosqlite:///var/shop.sqlite3"
    assert resolved("  ") == Settings(_env_file=None).resolved_database_url()  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="the URL parameter 'channel_binding' is not understood by asyncpg"):
        resolved("postgresql://u:p@db.example.com/shop?sslmode=require&channel_binding=require")
