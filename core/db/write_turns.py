"""Writers of one SQLite file take turns, first come first served, in this process.

SQLite lets one transaction write at a time. A writer that finds the file locked waits in SQLite's busy handler,
which sleeps and tries again, each sleep longer than the last (up to 100 ms); it does not queue. So a writer that
commits and at once begins again (the payment applier, batch after batch) can take the lock back before a writer
already waiting wakes from its sleep, again and again, and the one waiting can miss it for seconds: callbacks
answered in bursts with stalls between them. Here a writing transaction first waits for its turn in a plain FIFO
queue, then sends its ``BEGIN IMMEDIATE``; it gives the turn back when the transaction has ended. Handing the turn to
the oldest waiter on release means a writer that begins again queues behind everyone already waiting.

The turn covers one transaction, not a unit of work: it is held exactly while SQLite's write lock is (plus the
trips that send BEGIN and COMMIT), so it adds no deadlock that SQLite did not already have. A unit of work that
commits, awaits the network and writes again takes two turns; a task that opens a second writing transaction while
its first is still open waits for itself, as it would on SQLite's lock, and fails the same way after the busy
timeout ("database is locked"), not forever.

What this does not cover: other processes on the same file (they still meet SQLite's busy handler, which is what
keeps them correct), in-memory databases (one connection each, nothing to queue), read-only units of work (deferred
transactions that never take the write lock, so they never queue), and PostgreSQL (its row locks queue writers).
The queue is per event loop (asyncio's futures belong to one) and per file.

``core/db/sqlite_trips.py`` takes the turn before the trip that carries a transaction's BEGIN and gives it back when
COMMIT or ROLLBACK has run, or the connection is closed or dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sqlite3
import threading
import weakref
from collections import deque


class WriteTurn:
    """One transaction's turn. ``give_back`` is idempotent and may be called from any thread."""

    __slots__ = ("_held", "_turns")

    def __init__(self, turns: WriteTurns) -> None:
        self._turns = turns
        self._held = False

    @property
    def held(self) -> bool:
        return self._held

    def give_back(self) -> None:
        if self._held:
            self._held = False
            self._turns._pass_on()


class WriteTurns:
    """The queue of writers for one SQLite file in one event loop. ``taken`` and ``given_back`` count turns, so a
    test can see that every turn taken came back."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = weakref.ref(loop)  # the registry keys on the loop weakly: no strong reference back to it
        self._loop_thread = threading.get_ident()
        self._holder: WriteTurn | None = None
        self._waiting: deque[tuple[WriteTurn, asyncio.Future[None]]] = deque()
        self.taken = 0
        self.given_back = 0

    @property
    def holder(self) -> WriteTurn | None:
        return self._holder

    @property
    def waiting(self) -> int:
        return sum(1 for _, granted in self._waiting if not granted.done())

    async def take(self, give_up_after: float) -> WriteTurn:
        """The turn to write, once every writer that asked before has had its own. Waiting longer than ``give_up_after``
        seconds fails as SQLite's busy timeout does; a cancelled waiter leaves the queue (and passes on a turn handed
        to it as it was cancelled)."""
        turn = WriteTurn(self)
        if self._holder is None:  # a release hands the turn straight to a waiter: with none held, none waits
            self._grant(turn)
            return turn
        loop = asyncio.get_running_loop()
        granted: asyncio.Future[None] = loop.create_future()
        entry = (turn, granted)
        self._waiting.append(entry)
        try:
            async with asyncio.timeout(give_up_after):
                await granted
        except BaseException as error:
            if turn.held:  # handed over just as the wait ended: pass it on
                turn.give_back()
            else:
                with contextlib.suppress(ValueError):  # unless a release already skipped it
                    self._waiting.remove(entry)
            if isinstance(error, TimeoutError):
                raise sqlite3.OperationalError("database is locked") from None
            raise
        return turn

    def _grant(self, turn: WriteTurn) -> None:
        turn._held = True
        self._holder = turn
        self.taken += 1

    def _pass_on(self) -> None:
        """The holder is done: the turn goes to the oldest waiter still waiting. Off the loop's thread (the pool's
        clean-up of a dropped connection runs wherever the garbage collector does) it is scheduled onto the loop,
        where the futures live."""
        if threading.get_ident() != self._loop_thread:
            loop = self._loop()
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._pass_on)
            return
        self.given_back += 1
        self._holder = None
        while self._waiting:
            turn, granted = self._waiting.popleft()
            if not granted.done():  # a waiter cancelled or timed out is skipped (it removes itself as it wakes)
                self._grant(turn)
                granted.set_result(None)
                return


_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, WriteTurns]] = weakref.WeakKeyDictionary()


@functools.lru_cache(maxsize=256)  # asked on every write transaction; realpath is a system call per path part
def file_key(database: str) -> str:
    """The key of the file at ``database`` (a path or a ``file:`` URI): one queue however the path is spelled."""
    return database if database.startswith("file:") else os.path.realpath(database)


def turns_for(database: str) -> WriteTurns:
    """The queue of writers to the SQLite file at ``database`` in the running event loop."""
    loop = asyncio.get_running_loop()
    by_file = _queues.setdefault(loop, {})
    key = file_key(database)
    turns = by_file.get(key)
    if turns is None:
        turns = by_file[key] = WriteTurns(loop)
    return turns
