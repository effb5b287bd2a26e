"""``python -m bench.step_cpu [--rounds N] [--count N] [--profile DIR]``: the server's CPU
time per conversation step, dukabot beside aiogram's webhook echo bot, in alternating rounds.

The conversation path's ratio (``python -m bench conversation``) is a rate, and a rate moves with whatever else runs
on the machine. CPU time the server process spent (``/proc/<pid>/stat``, all its threads) over a known number of
updates does not: it is what the step costs, however long it waited for its core. Each round starts a fresh server
of each kind against the same fake Bot API and shops, sends ``count`` ``/shop`` updates from new users (a first
contact each) and then a press of a button of each answer, and reads the server's CPU before and after each batch
(its replies included: it waits until the fake Bot API saw every chat answered). With ``--profile DIR``, dukabot
runs under cProfile (``bench.profiled``) and each round's profile is written there; its CPU figures are then not
comparable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Run, Sizes, fake_bot_api, measure, start_dukabot
from bench.harness import Cores, Server, free_port, start_server
from bench.path_callbacks import _with_bench_on_path
from bench.path_conversation import CONCURRENCY, SHOPS, _request, wait_for_replies
from bench.seeding import BenchShop, add_shops, fresh_database, register_bots, sqlite_url
from bench.telegram import TelegramProcess

SETTLE = 0.3  # seconds after the last reply before CPU is read again: the follow-ups' last sends finish


def thread_cpu(server: Server) -> tuple[float, float]:
    """CPU seconds of the server's event loop thread, and of all its other threads (SQLite's, the resolver's)."""
    ticks = os.sysconf("SC_CLK_TCK")
    main = others = 0.0
    for task in Path(f"/proc/{server.process.pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        seconds = (int(fields[11]) + int(fields[12])) / ticks
        if task.name == str(server.process.pid):
            main += seconds
        else:
            others += seconds
    return main, others


async def idle_cpu(server: Server, seconds: float = 2.0) -> float:
    """The server's CPU seconds per second with nothing sent (its workers' polling): taken off each batch's figure
    for the batch's wall time, so that a batch slowed by a busy machine is not charged for the server's idling."""
    before, began = server.cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)
    return (server.cpu_seconds() - before) / (time.monotonic() - began)


async def steps_cpu(
    telegram: TelegramProcess,
    server: Server,
    shops: list[BenchShop],
    first_user: int,
    run: Run,
    count: int,
    idle: float = 0.0,
) -> tuple[float, float]:
    """Milliseconds of the server's CPU per ``/shop`` and per press, over ``count`` of each, less ``idle``."""
    users = [(shops[index % len(shops)], first_user + index) for index in range(count)]
    chats = {str(user) for _, user in users}
    updates = await telegram.commands([(shop.token, user, "/shop") for shop, user in users])
    commands = [_request(server, shop, update) for (shop, _), update in zip(users, updates, strict=True)]
    before, began = server.cpu_seconds(), time.monotonic()
    await measure(run, [server], commands, 0, concurrency=CONCURRENCY)
    await wait_for_replies(telegram, chats, 30.0)
    await asyncio.sleep(SETTLE)
    shop_cpu = server.cpu_seconds() - before - idle * (time.monotonic() - began)
    pressed = await telegram.presses([(shop.token, user) for shop, user in users])
    presses = [_request(server, shop, update) for (shop, _), update in zip(users, pressed, strict=True) if update]
    threads = thread_cpu(server)
    before, began = server.cpu_seconds(), time.monotonic()
    await measure(run, [server], presses, 0, concurrency=CONCURRENCY)
    await asyncio.sleep(SETTLE + 0.5)
    press_cpu = server.cpu_seconds() - before - idle * (time.monotonic() - began)
    main, others = (after - then for after, then in zip(thread_cpu(server), threads, strict=True))
    count = max(1, len(presses))
    print(
        f"  {server.name} presses: event loop thread {main * 1000 / count:.2f} ms, other threads "
        f"{others * 1000 / count:.2f} ms per press",
        flush=True,
    )
    return shop_cpu * 1000 / len(commands), press_cpu * 1000 / max(1, len(presses))


async def main(options: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="dukabot-step-cpu-"))
    run = Run(folder, Cores.choose(), Sizes.of(True), quick=True)
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    async with fake_bot_api(run, "step-cpu") as telegram:
        database = await fresh_database(sqlite_url(folder, "step-cpu"))
        try:
            shops = await add_shops(database, SHOPS, mpesa=False)
        finally:
            await database.dispose()
        await register_bots(telegram, shops)
        listed = folder / "echo-shops.json"
        listed.write_text(json.dumps([[shop.slug, shop.token, shop.secret] for shop in shops]))
        profiles = Path(options.profile) if options.profile else None  # made absolute before the loop ran
        for round_ in range(options.rounds):
            first = 7_000_000 + round_ * 100_000
            profile = str(profiles / f"round{round_}.prof") if profiles else None
            server = await start_dukabot(
                run, f"dukabot-{round_}", database.url, telegram.base_url, core=None, profile=profile
            )
            try:
                await steps_cpu(telegram, server, shops, first + 50_000, run, 100)  # warm-up: imports, caches
                idles = [await idle_cpu(server), 0.0]
                if profile:
                    server.process.send_signal(signal.SIGUSR1)
                ours.append(await steps_cpu(telegram, server, shops, first, run, options.count, idles[0]))
                if profile:
                    server.process.send_signal(signal.SIGUSR2)
                    await asyncio.sleep(1.0)
            finally:
                await server.stop()
            port = free_port()
            argv = [sys.executable, "-m", "bench.baselines.echo", str(port), telegram.base_url, str(listed)]
            echo = await start_server(f"echo-{round_}", argv, port=port, folder=folder, env=_with_bench_on_path())
            try:
                await steps_cpu(telegram, echo, shops, first + 1_050_000, run, 100)
                idles[1] = await idle_cpu(echo)
                theirs.append(await steps_cpu(telegram, echo, shops, first + 1_000_000, run, options.count, idles[1]))
            finally:
                await echo.stop()
            print(
                f"round {round_}: dukabot /shop {ours[-1][0]:.2f} ms, press {ours[-1][1]:.2f} ms; "
                f"echo /shop {theirs[-1][0]:.2f} ms, press {theirs[-1][1]:.2f} ms (idle CPU taken off: dukabot "
                f"{idles[0] * 1000:.0f} ms/s, echo {idles[1] * 1000:.0f} ms/s)",
                flush=True,
            )
    for index, step in enumerate(("/shop", "press")):
        mine = statistics.median(side[index] for side in ours)
        echoed = statistics.median(side[index] for side in theirs)
        print(f"{step}: dukabot {mine:.2f} ms CPU, echo {echoed:.2f} ms CPU, echo/dukabot {echoed / mine:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.step_cpu")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--profile", default=None)
    parsed = parser.parse_args()
    if parsed.profile:
        parsed.profile = str(Path(parsed.profile).resolve())  # the server runs in another folder
    asyncio.run(main(parsed))
