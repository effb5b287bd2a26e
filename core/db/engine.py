"""The database: one async engine, and units of work that own a session and its single commit.

A unit of work either may write (the default) or only reads (``uow(read_only=True)``). On a SQLite file each writing
transaction first waits its turn among this process's writers, first come first served (``core/db/write_turns.py``),
then begins with BEGIN IMMEDIATE; a reading one begins deferred and never takes the write lock, so reads go on beside
a writer (WAL) and never queue. A reading one cannot write: on SQLite its connections are ``query_only`` (a pool
of their own, so no connection switches between kinds), on PostgreSQL it runs as a READ ONLY transaction; a write
there fails rather than slip into a commit."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from core.db.sqlite_trips import OneTripConnection, one_trip_creator

BUSY_TIMEOUT = 30.0  # seconds a SQLite writer waits for the write lock (its turn, then the file's lock) before failing


def create_engine(
    url: str, *, read_only: bool = False, busy_timeout: float = BUSY_TIMEOUT, **kwargs: Any
) -> AsyncEngine:
    """``read_only`` (SQLite): an engine whose connections read only and begin deferred. ``busy_timeout`` (SQLite):
    how long a writer waits for its turn, and then for the file's lock, before "database is locked"."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    if parsed.database and parsed.database != ":memory:":
        # One thread trip per statement, not four, and writers that take turns (core/db/sqlite_trips.py).
        creator = one_trip_creator(parsed, timeout=busy_timeout, writers_take_turns=not read_only)
        engine = create_async_engine(url, async_creator=creator, **kwargs)
    else:
        engine = create_async_engine(url, connect_args={"timeout": busy_timeout}, **kwargs)
    _configure_sqlite(engine, read_only=read_only, busy_timeout=busy_timeout)
    return engine


def _configure_sqlite(engine: AsyncEngine, *, read_only: bool, busy_timeout: float) -> None:
    """SQLite lets only one writer in at a time. A deferred transaction that reads and then writes fails at once with
    "database is locked" when another writer got there first; BEGIN IMMEDIATE takes the write lock up front and waits
    (busy timeout) instead, so concurrent units of work on SQLite wait rather than fail (and, on a file, wait their
    turn in order before that: core/db/write_turns.py). A transaction that only reads needs no lock: it begins
    deferred and reads a snapshot while a writer works."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let us issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if not read_only:  # the journal mode is the file's: the writers set it
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        driver = getattr(connection.connection.dbapi_connection, "_connection", None)
        if isinstance(driver, OneTripConnection):
            # Sent with the transaction's first statement, in its trip; a writer's connection waits for its turn
            # before that trip and gives it back when the transaction ends (core/db/sqlite_trips.py).
            driver.begin_with = begin
        else:
            connection.exec_driver_sql(begin)


def _reader_engine(writer: AsyncEngine, url: str, engine_kwargs: dict[str, Any]) -> AsyncEngine:
    """The engine read-only units of work run on: on PostgreSQL the same pool, each transaction READ ONLY; on a SQLite
    file a pool of its own, query_only and deferred. An in-memory SQLite database is one connection's own, so there
    its readers share the writers' engine (and are read-only by convention only)."""
    parsed = make_url(url)
    if writer.dialect.name == "postgresql":
        return writer.execution_options(postgresql_readonly=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return create_engine(url, read_only=True, **engine_kwargs)
    return writer


class Database:
    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._reader = _reader_engine(self.engine, url, engine_kwargs)
        self._readers = async_sessionmaker(self._reader, expire_on_commit=False)

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
        if self._reader.sync_engine.pool is not self.engine.sync_engine.pool:
            await self._reader.dispose()


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
