"""Shared fixtures. Every test that takes ``database`` runs on SQLite, and on PostgreSQL too when
``TEST_DATABASE_URL`` is set (CI sets it). The schema is built by the real migrations, once per backend.
Tests that take ``redis`` run against the Redis of ``TEST_REDIS_URL`` (CI sets it) and are skipped without it.
Under ``CI=true`` nothing may skip for want of them: the race tests only mean something on PostgreSQL, so a CI run
without both variables fails at once instead of passing on SQLite alone."""

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

from core.clock import FakeClock
from core.db.engine import Database
from core.db.migrate import upgrade
from core.db.tables import Base
from core.vault import Vault

# Like every entry point, the tests load the provider registry before rendering a word: it adds the providers' texts.
from payments import providers as _providers  # noqa: F401

PG_URL = os.environ.get("TEST_DATABASE_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_configure(config: pytest.Config) -> None:
    missing = [name for name, value in (("TEST_DATABASE_URL", PG_URL), ("TEST_REDIS_URL", REDIS_URL)) if not value]
    if IN_CI and missing:
        raise pytest.UsageError(
            f"CI=true but {' and '.join(missing)} unset: the PostgreSQL and Redis suites would be skipped"
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under mutmut (``make mutate``) a mutant dies at its first failing test (``-x``): run the quick, focused tests
    first rather than in the arbitrary order mutmut passes them."""
    if "MUTANT_UNDER_TEST" in os.environ:
        items.sort(key=lambda item: 0 if "_edges.py" in item.nodeid else 1 if "tests/unit/" in item.nodeid else 2)


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
        names = ", ".join(table.name for table in Base.metadata.sorted_tables)
        async with database.engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    try:
        yield database
    finally:
        await database.dispose()


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
