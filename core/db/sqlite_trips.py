"""aiosqlite with one trip to the connection's thread per statement.

aiosqlite runs each call on the connection's own thread and hands the result back through the event loop, and
SQLAlchemy's adapter makes four such calls for a statement that returns rows (open a cursor, execute, fetch all,
close) and three for one that does not. Each trip costs a wake-up of the thread and one of the event loop, which
on a busy server outweighs SQLite's own work on the small statements a conversation step runs. Here a cursor opens
without a trip and a statement is executed, fetched and closed in one: what the adapter then asks of the cursor
(rows, description, rowcount, lastrowid) is already in hand. Everything else (commit, rollback, the connection's
settings) is aiosqlite's own; only the cursor differs, and SQLAlchemy's adapter reads every result in full anyway.

A statement whose outcome nobody reads (a write that returns nothing, which the caller marks with :func:`defer_next`)
makes no trip of its own: it rides with the connection's next trip, run first on the thread, before the next
statement or the COMMIT. An update's step so records its update id in the trip that reads its chat, and writes its
conversation in the trip that commits. A deferred statement that fails fails that trip, before its statement or
its COMMIT runs; a rollback drops what is still waiting.

A writer's connection also takes its file's write turn (``core/db/write_turns.py``) before the trip that begins a
transaction, and gives it back when the transaction ends here: COMMIT or ROLLBACK run (the pool's reset on return is
a rollback), or the connection closed, terminated or dropped.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.engine import URL, Connection

from core.db.write_turns import WriteTurn, turns_for

_Outcome = tuple[Any, int, int | None, list[Any]]


def _execute(connection: OneTripConnection, sql: str, parameters: Any, *, many: bool) -> _Outcome:
    """On the connection's thread: the transaction begun if it is owed, the statement run, its rows read and its
    cursor closed."""
    _begun_with_deferred(connection)
    cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _begun_with_deferred(connection: OneTripConnection) -> None:
    """On the connection's thread: the BEGIN owed, then the statements that waited for this trip, in order."""
    begin, connection.begin_with = connection.begin_with, None
    deferred, connection.deferred = connection.deferred, []
    if begin is not None:
        connection._conn.execute(begin)
    for sql, parameters in deferred:
        connection._conn.execute(sql, parameters)


def _commit(connection: OneTripConnection) -> None:
    _begun_with_deferred(connection)
    connection._conn.commit()


def defer_next(connection: Connection) -> bool:
    """Marks the next statement run on ``connection`` (begun: a session's ``session.connection()``) as one whose
    outcome nobody reads: it waits for the connection's next trip. The caller runs that statement next, on that
    connection, and reads nothing of its result (no rows, no rowcount). False, and nothing marked, on any other
    database or driver (the statement then runs at once, as any other)."""
    driver = getattr(connection.connection.dbapi_connection, "_connection", None)
    if not isinstance(driver, OneTripConnection):
        return False
    driver.defer_one = True
    return True


class OneTripCursor:
    """The cursor SQLAlchemy's aiosqlite adapter drives: the same calls as aiosqlite's, one trip per statement."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._rows = []

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        await self._run(sql, () if parameters is None else parameters, many=False)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> OneTripCursor:
        await self._run(sql, parameters, many=True)
        return self

    async def _run(self, sql: str, parameters: Any, *, many: bool) -> None:
        if self._connection.defer_one and not many:
            self._connection.defer_one = False
            self._connection.deferred.append((sql, parameters))
            self.description, self.rowcount, self.lastrowid, self._rows = None, -1, None, []
            return
        if self._connection.begin_with is not None:
            await self._connection.take_turn()
        self.description, self.rowcount, self.lastrowid, self._rows = await self._connection.on_thread(
            partial(_execute, self._connection, sql, parameters, many=many)
        )

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        count = self.arraysize if size is None else size
        taken, self._rows = self._rows[:count], self._rows[count:]
        return taken

    async def fetchall(self) -> Sequence[Any]:
        taken, self._rows = self._rows, []
        return taken

    async def close(self) -> None:
        self._rows = []

    async def setinputsizes(self, *_: Any) -> None:
        return None


class OneTripConnection(aiosqlite.Connection):
    """``begin_with``: the BEGIN owed by a transaction that has run no statement yet. It goes with the first one,
    in the same trip, so the lock is taken where it was (nothing ran in between); a transaction that runs none
    begins nothing. A commit or rollback with no transaction open (the pool's reset after a commit) makes no trip.

    ``writes_to``: on a writer's connection, the file whose write turn its transactions take before that first
    trip; ``None`` (a reader's connection) takes none. The turn goes back in ``commit``, ``rollback`` and ``stop``
    (which ``close`` and SQLAlchemy's terminate come through: an invalidated connection, and one the pool finds
    dropped by its task, unreturned), whatever the outcome of the trip."""

    begin_with: str | None = None
    deferred: list[tuple[str, Any]]  # statements waiting for the next trip (see the module's docstring)
    defer_one = False  # the next statement waits for the next trip (defer_next)
    writes_to: str | None = None
    busy_timeout: float = 30.0
    _turn: WriteTurn | None = None

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        self.deferred = []

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    async def take_turn(self) -> None:
        if self.writes_to is not None and self._turn is None:
            self._turn = await turns_for(self.writes_to).take(self.busy_timeout)

    def _give_turn_back(self) -> None:
        turn, self._turn = self._turn, None
        if turn is not None:
            turn.give_back()

    # If the caller is cancelled while its COMMIT or ROLLBACK is on the thread, the turn goes back a moment before
    # that trip ends; the next writer's BEGIN IMMEDIATE then waits out that moment in SQLite's busy handler.

    async def commit(self) -> None:
        try:
            if self.deferred:  # a transaction whose last statements waited: they go with the COMMIT
                if self.begin_with is not None:
                    await self.take_turn()
                await self._execute(partial(_commit, self))  # type: ignore[no-untyped-call]
            else:
                self.begin_with = None
                if self._conn.in_transaction:
                    await super().commit()
        finally:
            self.begin_with, self.deferred, self.defer_one = None, [], False
            self._give_turn_back()

    async def rollback(self) -> None:
        try:
            self.begin_with, self.deferred, self.defer_one = None, [], False
            if self._conn.in_transaction:
                await super().rollback()
        finally:
            self._give_turn_back()

    def stop(self) -> asyncio.Future[Any] | None:
        try:
            return super().stop()
        finally:
            self._give_turn_back()

    async def on_thread(self, function: Callable[[], _Outcome]) -> _Outcome:
        outcome: _Outcome = await self._execute(function)  # type: ignore[no-untyped-call]
        return outcome


def _knows_this_aiosqlite() -> bool:
    """Whether aiosqlite has the parts this module builds on (as in 0.22): the private ``_execute`` and ``_conn``,
    and ``stop``, through which every way a connection ends passes (and so gives its write turn back)."""
    return all(hasattr(aiosqlite.Connection, name) for name in ("_execute", "_conn", "stop"))


def one_trip_creator(
    url: URL, timeout: float, *, writers_take_turns: bool = False
) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """``async_creator`` for an engine on the SQLite file at ``url`` (``create_async_engine``); with
    ``writers_take_turns``, its transactions wait for the file's write turn, at most ``timeout`` seconds."""
    args, kwargs = url.get_dialect()().create_connect_args(url)
    connector = partial(sqlite3.connect, *args, **{**kwargs, "timeout": timeout})

    async def connect() -> aiosqlite.Connection:
        if not _knows_this_aiosqlite():
            # The parts of aiosqlite used above are not its public API: with a version that lacks them, connect as
            # aiosqlite does (four trips a statement, writers meeting in SQLite's busy handler, not taking turns)
            # rather than fail every transaction.
            plain = aiosqlite.Connection(connector, 64)
            await plain
            return plain
        connection = OneTripConnection(connector, 64)
        connection.busy_timeout = timeout
        if writers_take_turns:
            connection.writes_to = url.database
        thread = getattr(connection, "_thread", None)
        if thread is not None:
            thread.daemon = True  # a connection left open never keeps the process from exiting
        await connection  # starts its thread and opens the file there
        return connection

    return connect
