"""The ``dukabot`` command tree imports only Click up front: aiogram, aiohttp and SQLAlchemy take seconds to import,
and `dukabot --help` or `dukabot tenant list` should not wait for code they never run (issue 12, item 11).

Each check runs in a fresh interpreter, since this test process has imported everything already. `make bench` times
the same commands; no test here reads a clock.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from admin import shops
from admin.cli.provider_commands import PROVIDER_NAMES

HEAVY = ("aiogram", "aiohttp", "sqlalchemy", "alembic", "httpx", "redis", "pydantic", "asyncio")

# Prints which of HEAVY the code run before it imported, as a JSON list.
REPORT = f"""
import json, sys
print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}} & set({HEAVY!r}))))
"""

# Builds the help of every command and group, as `dukabot ... --help` does.
EVERY_HELP = """
import click
from webhooks.cli import main

def walk(command, ctx):
    command.get_help(ctx)
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            walk(sub, click.Context(sub, parent=ctx, info_name=name))

walk(main, click.Context(main, info_name="dukabot"))
"""


def loaded_after(code: str, tmp_path: Path) -> list[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("DUKABOT_")}
    env["DUKABOT_DATA_DIR"] = str(tmp_path / "var")
    done = subprocess.run(  # noqa: S603 (our own interpreter, no shell)
        [sys.executable, "-c", code + REPORT],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # no stray .env file
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_command_imports_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    assert loaded_after("import webhooks.cli", tmp_path) == []


def test_the_help_of_every_command_imports_none_of_them(tmp_path: Path) -> None:
    assert loaded_after(EVERY_HELP, tmp_path) == []


def test_tenant_list_loads_the_database_but_no_telegram_or_payment_client(tmp_path: Path) -> None:
    listing = """
from webhooks.cli import main
for args in (["db", "upgrade"], ["tenant", "list"]):
    main(args, standalone_mode=False)
"""
    assert loaded_after(listing, tmp_path) == ["alembic", "asyncio", "pydantic", "sqlalchemy"]
    # On its own, the listing checks the schema revision without Alembic (core/db/schema_version.py).
    alone = "from webhooks.cli import main\nmain(['tenant', 'list'], standalone_mode=False)\n"
    assert loaded_after(alone, tmp_path) == ["asyncio", "pydantic", "sqlalchemy"]


def test_the_provider_names_of_the_help_are_those_the_shop_operations_take() -> None:
    assert tuple(shops.PROVIDERS) == PROVIDER_NAMES
