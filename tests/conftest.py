"""Shared fixtures. Every test that takes ``database`` runs on SQLite, and on PostgreSQL too when
``TEST_DATABASE_URL`` is set (CI sets it). The schema is built by the real migrations, once per backend.
Tests that take ``redis`` run against the Redis of ``TEST_REDIS_URL`` (CI sets it) and are skipped without it.
Under ``CI=true`` nothing may skip for want of them: the race tests only mean something on PostgreSQL, so a CI run
without both variables fails at once instead of passing on SQLite alone.

``make test`` runs the suite in parallel processes (pytest-xdist). Each worker gets a PostgreSQL database of its own,
``<name>_gw0``, ``<name>_gw1``..., made on first use, because every PostgreSQL test empties the tables it shares
(tests/support/reset.py).
Redis needs nothing: every test keys under a prefix of its own."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot import channels
from bot.channel import Channel, ChannelKit
from core.clock import FakeClock
from core.db.engine import Database
from core.db.migrate import upgrade
from core.vault import Vault

# Like every entry point, the tests load the provider registry before rendering a word: it adds the providers' texts.
from payments import providers as _providers  # noqa: F401
from tests.support.reset import empty_postgres


def _worker_database_url(url: str | None) -> str | None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


GIVEN_PG_URL = os.environ.get("TEST_DATABASE_URL")
PG_URL = _worker_database_url(GIVEN_PG_URL)
if PG_URL:
    # Subprocesses (the CLI and server tests) and tests that read the variable see this worker's database too.
    os.environ["TEST_DATABASE_URL"] = PG_URL
REDIS_URL = os.environ.get("TEST_REDIS_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "every_channel: runs once per Telegram library (bot/channels.py)")
    missing = [name for name, value in (("TEST_DATABASE_URL", PG_URL), ("TEST_REDIS_URL", REDIS_URL)) if not value]
    if IN_CI and missing:
        raise pytest.UsageError(
            f"CI=true but {' and '.join(missing)} unset: the PostgreSQL and Redis suites would be skipped"
        )
    if GIVEN_PG_URL and PG_URL and PG_URL != GIVEN_PG_URL:  # a worker's own database, beside the one given
        asyncio.run(_create_database(GIVEN_PG_URL, PG_URL))


async def _create_database(given: str, url: str) -> None:
    """Make this worker's database unless it exists, through the database the run was given. Two CREATE DATABASE at
    once fail ("template1 is being accessed by other users"), so the workers take turns under an advisory lock."""
    name = make_url(url).database
    server = Database(given, isolation_level="AUTOCOMMIT")
    try:
        async with server.engine.connect() as connection:
            await connection.execute(text("SELECT pg_advisory_lock(7290417)"))
            try:
                found = await connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
                if found is None:
                    await connection.execute(text(f'CREATE DATABASE "{name}"'))
            finally:
                await connection.execute(text("SELECT pg_advisory_unlock(7290417)"))
    finally:
        await server.dispose()


# Tests of half a minute or more each (playgrounds in processes of their own, hundreds of Hypothesis examples).
SLOW_FIRST = ("tests/e2e/", "tests/property/test_hostile_requests.py", "tests/property/test_sales_add_up.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under mutmut (``make mutate``) a mutant dies at its first failing test (``-x``): run the quick, focused tests
    first rather than in the arbitrary order mutmut passes them.

    Otherwise the longest tests go first: under ``--dist worksteal`` (pyproject.toml) an idle worker takes tests from
    the end of a busy one's queue, so the long ones run early and the run ends on short ones, never on one worker
    finishing a playground alone."""
    if "MUTANT_UNDER_TEST" in os.environ:
        items.sort(key=lambda item: 0 if "_edges.py" in item.nodeid else 1 if "tests/unit/" in item.nodeid else 2)
    else:
        items.sort(key=lambda item: not item.nodeid.startswith(SLOW_FIRST))  # stable: modules stay together


def _migrate(url: str, *, reset_postgres: bool = False) -> None:
    async def run() -> None:
        database = Database(url)
        try:
            if reset_postgres:
                async with database.engine.begin() as connection:
                    await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                    await connection.execute(text("CREATE SCHEMA public"))
            await upgrade(database.engine)
        finally:
            await database.dispose()

    asyncio.run(run())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    _migrate(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL suites skipped")
    _migrate(PG_URL, reset_postgres=True)
    return PG_URL


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "dukabot.sqlite3"
        shutil.copy(template, target)
        yield f"sqlite+aiosqlite:///{target}"
    else:
        yield request.getfixturevalue("postgres_migrated")


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    if database.dialect == "postgresql":
        async with database.engine.begin() as connection:
            await empty_postgres(connection)
    try:
        yield database
    finally:
        await database.dispose()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module or test marked ``every_channel`` runs once per channel of the registry (bot/channels.py); others on
    the default one."""
    if "telegram_library" in metafunc.fixturenames and metafunc.definition.get_closest_marker("every_channel"):
        from bot.channels import ENTRIES

        metafunc.parametrize("telegram_library", sorted(ENTRIES), indirect=True)


@pytest.fixture(autouse=True)
def telegram_library(request: pytest.FixtureRequest) -> Iterator[str]:
    """The Telegram library (``DUKABOT_TELEGRAM_LIBRARY``) of every server the test builds through tests/support:
    each library in turn for the suites marked ``every_channel``, else ``DUKABOT_TEST_TELEGRAM_LIBRARY`` (``make
    test-ptb`` runs every other test on python-telegram-bot), else aiogram (bot.channels.DEFAULT)."""
    from tests.support.library import LIBRARY

    default = os.environ.get("DUKABOT_TEST_TELEGRAM_LIBRARY", "aiogram")
    name = getattr(request, "param", default)
    LIBRARY["name"] = name
    try:
        yield name
    finally:
        LIBRARY["name"] = default


@pytest.fixture
async def channel(telegram_library: str, vault: Vault) -> AsyncIterator[Channel]:
    """The chosen library's channel, unconnected (its API at a port nothing listens on): for reading updates."""
    built = channels.build(
        telegram_library, ChannelKit(Database("sqlite+aiosqlite:///:memory:"), vault, "http://127.0.0.1:9")
    )
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def vault() -> Vault:
    return Vault(["YOKMvaqZ3xJ0pN1C6tyYl1vX6mW0Tr0t9n8zk0SxQ2E="])


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix of this test's own, so tests (and CI runs) sharing one Redis never see each other's keys."""
    return f"dukabot:test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def redis(redis_prefix: str) -> AsyncIterator[Redis]:
    """A client of the Redis at ``TEST_REDIS_URL``; every key under ``redis_prefix`` is deleted afterwards."""
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set: Redis suites skipped")
    client = Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        leftovers = [key async for key in client.scan_iter(match=f"{redis_prefix}*")]
        if leftovers:
            await client.delete(*leftovers)
        await client.aclose()
