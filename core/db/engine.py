"""The database: one async engine, and units of work that own a session and its single commit.

A unit of work either may write (the default) or only reads (``uow(read_only=True)``). On SQLite a writing one begins
with BEGIN IMMEDIATE, so that concurrent writers queue; a reading one begins deferred and never takes the write lock,
so reads go on beside a writer (WAL). A reading one cannot write: SQLite's ``query_only`` is on for it and
PostgreSQL runs it as a READ ONLY transaction, so a write there fails rather than slip into a commit."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
    _make_sqlite_transactions_immediate(engine)
    return engine


READ_ONLY = "dukabot_read_only"  # execution option of the engine that read-only units of work are bound to


def _make_sqlite_transactions_immediate(engine: AsyncEngine) -> None:
    """SQLite lets only one writer in at a time. A deferred transaction that reads and then writes fails at once with
    "database is locked" when another writer got there first; BEGIN IMMEDIATE takes the write lock up front and waits
    (busy timeout) instead, so concurrent units of work on SQLite queue up rather than fail."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let us issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = bool(connection.get_execution_options().get(READ_ONLY))
        # The pragma is per connection and the pool hands connections to both kinds: set it only when it changes.
        if connection.info.get(READ_ONLY, False) != read_only:
            connection.exec_driver_sql(f"PRAGMA query_only={'ON' if read_only else 'OFF'}")
            connection.info[READ_ONLY] = read_only
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Database:
    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        options: dict[str, Any] = {READ_ONLY: True}
        if self.engine.dialect.name == "postgresql":
            options["postgresql_readonly"] = True
        self._readers = async_sessionmaker(self.engine.execution_options(**options), expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> AsyncSession:
        return self._sessions()

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        """A unit of work; ``read_only`` for work that only reads (no write lock on SQLite, and no write possible)."""
        return UnitOfWork(self._readers() if read_only else self._sessions())

    async def dispose(self) -> None:
        await self.engine.dispose()


class UnitOfWork:
    """One transaction. Repositories work inside it and never commit; ``commit()`` is called once, by the caller
    that knows the work is complete. Leaving without commit rolls everything back."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def __aenter__(self) -> UnitOfWork:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # close() rolls back whatever was not committed and detaches loaded objects with their values intact
        # (a rollback would expire them), so what a read-only unit of work loaded stays readable after it.
        await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()
