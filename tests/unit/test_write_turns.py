"""The queue of writers itself (core/db/write_turns.py): first come first served, a turn handed to a waiter that is
cancelled at that moment goes on to the next, a turn given back twice counts once, a turn given back from another
thread (a connection dropped by the garbage collector) reaches the waiter on the loop, and a wait past its limit
fails as SQLite's busy timeout does."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from core.db.write_turns import WriteTurn, WriteTurns, file_key, turns_for
from tests.support.app import until


def _queue() -> WriteTurns:
    return WriteTurns(asyncio.get_running_loop())


async def test_turns_go_in_the_order_they_were_asked_for() -> None:
    turns = _queue()
    holder = await turns.take(give_up_after=5)
    order: list[str] = []

    async def writer(name: str) -> None:
        turn = await turns.take(give_up_after=5)
        order.append(name)
        turn.give_back()

    tasks = []
    for count, name in enumerate(["a", "b", "c"], start=1):
        tasks.append(asyncio.create_task(writer(name)))
        await until(lambda count=count: turns.waiting == count, f"{name} waiting")
    holder.give_back()
    again = await turns.take(give_up_after=5)  # asked after a, b and c: it comes last
    order.append("holder again")
    again.give_back()
    await asyncio.gather(*tasks)
    assert order == ["a", "b", "c", "holder again"]
    assert (turns.taken, turns.given_back, turns.holder, turns.waiting) == (5, 5, None, 0)


async def test_a_turn_handed_to_a_waiter_cancelled_at_that_moment_goes_to_the_next() -> None:
    turns = _queue()
    holder = await turns.take(give_up_after=5)
    first = asyncio.create_task(turns.take(give_up_after=5))
    await until(lambda: turns.waiting == 1, "the first waiting")
    second = asyncio.create_task(turns.take(give_up_after=5))
    await until(lambda: turns.waiting == 2, "the second waiting")
    holder.give_back()  # handed to the first, which has not run yet...
    first.cancel()  # ...and is cancelled before it does
    with pytest.raises(asyncio.CancelledError):
        await first
    turn = await second
    assert turns.holder is turn
    turn.give_back()
    assert (turns.taken, turns.given_back, turns.holder, turns.waiting) == (3, 3, None, 0)


async def test_a_turn_given_back_twice_counts_once() -> None:
    turns = _queue()
    turn = await turns.take(give_up_after=5)
    turn.give_back()
    turn.give_back()
    assert (turn.held, turns.taken, turns.given_back) == (False, 1, 1)
    other = await turns.take(give_up_after=5)  # and frees nobody else's turn
    turn.give_back()
    assert turns.holder is other
    other.give_back()


async def test_a_turn_given_back_from_another_thread_reaches_the_waiter() -> None:
    turns = _queue()
    holder = await turns.take(give_up_after=5)
    waiter = asyncio.create_task(turns.take(give_up_after=5))
    await until(lambda: turns.waiting == 1, "a writer waiting")
    thread = threading.Thread(target=holder.give_back)
    thread.start()
    thread.join()
    turn = await waiter
    assert turns.holder is turn
    turn.give_back()
    assert (turns.taken, turns.given_back) == (2, 2)


async def test_a_wait_past_its_limit_fails_as_sqlite_does() -> None:
    turns = _queue()
    holder = await turns.take(give_up_after=5)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        await turns.take(give_up_after=0.01)
    assert (turns.holder, turns.waiting) == (holder, 0)
    holder.give_back()
    assert isinstance(await turns.take(give_up_after=0.01), WriteTurn)  # the queue works on after a timeout


async def test_one_queue_per_file_and_event_loop(tmp_path: Path) -> None:
    path = f"{tmp_path}/shop.sqlite3"
    assert turns_for(path) is turns_for(f"{tmp_path}/./shop.sqlite3")
    assert turns_for(path) is not turns_for(f"{tmp_path}/other.sqlite3")
    assert file_key("file:shop.sqlite3?mode=ro") == "file:shop.sqlite3?mode=ro"
    in_another_loop = await asyncio.to_thread(asyncio.run, _turns_in_this_loop(path))
    assert in_another_loop is not turns_for(path)


async def _turns_in_this_loop(path: str) -> WriteTurns:
    return turns_for(path)
