"""The payment paths: Daraja's STK callbacks over HTTP, each paid once (and their receipts at the fake Bot API),
then the same callbacks again as duplicates; callback to receipt latency at 50 callbacks a second; and one against
two ``serve`` processes sharing PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from dataclasses import dataclass

from bench.common import (
    JSON,
    Row,
    Run,
    counters,
    error_notes,
    fake_bot_api,
    measure,
    rate,
    ratio_of,
    requests_to,
    spread,
    start_dukabot,
)
from bench.harness import LoadResult, Server, free_port, percentile, start_server
from bench.load import Request
from bench.seeding import (
    BenchShop,
    StkPush,
    add_shops,
    fresh_database,
    open_pushes,
    register_bots,
    sqlite_url,
    stk_body,
)
from bench.telegram import TelegramProcess

SHOPS = 16
CUSTOMERS = 5_000_000  # the first customer's chat id; each push has its own customer
LATENCY_RATE = 50.0
BARE_ROUNDS = 20  # the bare aiohttp floor gets the callbacks this many times over
# In flight at the floor: at 16, neither it nor the generator filled its core (each waited to be woken for the
# other's answer), so more in flight, to measure what aiohttp can do rather than the round trip.
BARE_CONCURRENCY = int(os.environ.get("BENCH_BARE_CONCURRENCY", "128"))
# Two servers, the load generator and PostgreSQL each need a core before two processes can beat one.
MIN_CORES_FOR_TWO = 3
PG_CONCURRENCY = 32  # in flight on both sides of the postgres path: enough to keep two servers busy


@dataclass
class Prepared:
    database_url: str
    shops: list[BenchShop]
    pushes: list[StkPush]


async def prepare(run: Run, telegram: TelegramProcess, url: str, count: int) -> Prepared:
    database = await fresh_database(url)
    try:
        shops = await add_shops(database, SHOPS, mpesa=True)
        pushes = await open_pushes(database, shops, count, first_chat=CUSTOMERS)
    finally:
        await database.dispose()
    await register_bots(telegram, shops)
    tokens = {shop.slug: shop.token for shop in shops}
    await telegram.add_bots([], [(tokens[push.slug], push.chat_id) for push in pushes])
    return Prepared(url, shops, pushes)


async def wait_for_receipts(telegram: TelegramProcess, chats: set[str], seconds: float) -> float | None:
    """Seconds until every one of ``chats`` had its receipt, or None when some had not within ``seconds`` (polled
    a few times a second: each poll costs the fake Bot API a pass over what it recorded)."""
    began = time.monotonic()
    while len(await telegram.first_sends(chats)) < len(chats):
        if time.monotonic() - began > seconds:
            return None
        await asyncio.sleep(0.25)
    return time.monotonic() - began


def callback_requests(base: str, pushes: list[StkPush]) -> list[Request]:
    return requests_to(base, [(f"/pay/stk/{push.token}", json.dumps(stk_body(push))) for push in pushes], JSON)


def figure(result: LoadResult) -> str:
    bound = " (generator-bound)" if result.generator_bound else ""
    return f"{rate(result.rate)}{bound}, p99 {result.latency(0.99) * 1000:,.0f} ms"


def checks(result: LoadResult, side: str) -> list[str]:
    notes = [f"{side}: {result.count} measured, {spread(result)}"]
    if result.failures:
        notes.append(f"{side}: {result.failures} of {result.count} requests failed")
    if result.generator_bound:
        notes.append(
            f"{side}: generator-bound: the load generator used {result.generator_busy:.0%} of its core and the "
            "server had room, so the figure is the generator's limit (a floor for the server)"
        )
    else:
        notes.append(f"{side}: the load generator used {result.generator_busy:.0%} of its core")
    if result.telegram_busy is not None:
        notes.append(f"{side}: the fake Bot API used {result.telegram_busy:.0%} of a core")
    if result.server_busy is not None:
        notes.append(f"{side}: the server used {result.server_busy:.0%} of a core")
        if result.server_busy < 0.5 and not result.generator_bound:
            # Neither saturated its core: the server waited (on the disk, a round trip) or, on a shared machine, did
            # not get its core: the figure is not about its CPU alone.
            notes.append(
                f"{side}: under half a core with the generator not saturated either, so it waited on something else "
                "(disk, round trips, other work on the machine's cores)"
            )
    return notes


async def callbacks(run: Run) -> list[Row]:
    sizes = run.sizes
    warm, count = sizes.warmup, sizes.callbacks
    async with fake_bot_api(run, "callbacks") as telegram:
        prepared = await prepare(run, telegram, sqlite_url(run.folder, "callbacks"), warm + count)
        pushes = prepared.pushes
        chats = {str(push.chat_id) for push in pushes}
        server = await start_dukabot(
            run, "dukabot-callbacks", prepared.database_url, telegram.base_url, core=run.cores.server
        )
        try:
            sent = callback_requests(server.url, pushes)
            paid = await measure(run, [server], sent, warm, telegram=telegram)
            last_callback = time.monotonic()
            took = await wait_for_receipts(telegram, chats, sizes.receipt_wait)
            receipts = len(await telegram.first_sends(chats))
            waited = took if took is not None else time.monotonic() - last_callback
            duplicates = await measure(run, [server], sent, warm, telegram=telegram)
            outcomes = await counters(server, "dukabot_provider_callbacks_total")
        finally:
            await server.stop()
    naive_paid, naive_duplicates = await naive(run, pushes, warm)
    bare_paid = await bare(run, pushes, warm)
    receipt_note = f"receipts: {receipts}/{len(chats)} sent" + (
        f", the last {waited:.1f}s after the last callback" if took is not None else f" within {waited:.0f}s"
    )
    outcome_note = "server outcomes: " + ", ".join(f"{name} {int(value)}" for name, value in sorted(outcomes.items()))
    paid_ratio = ratio_of(paid.rate, naive_paid.rate)
    duplicate_ratio = ratio_of(duplicates.rate, naive_duplicates.rate)
    return [
        Row(
            "STK callbacks, each paid once",
            figure(paid),
            f"naive {figure(naive_paid)}",
            paid_ratio,
            "≥ 1.0× (and receipts sent)",
            paid_ratio is not None and paid_ratio >= 1.0 and receipts == len(chats),
            [receipt_note, outcome_note, *error_notes(server), *checks(paid, "dukabot"), *checks(naive_paid, "naive")],
            {
                "rate": paid.rate,
                "p99_ms": paid.latency(0.99) * 1000,
                "naive_rate": naive_paid.rate,
                "receipts": receipts,
                "expected_receipts": len(chats),
                "receipts_after_s": waited,
            },
        ),
        Row(
            "duplicate STK callbacks",
            figure(duplicates),
            f"naive {figure(naive_duplicates)}",
            duplicate_ratio,
            "≥ 3×",
            duplicate_ratio is not None and duplicate_ratio >= 3.0,
            [*checks(duplicates, "dukabot"), *checks(naive_duplicates, "naive")],
            {"rate": duplicates.rate, "p99_ms": duplicates.latency(0.99) * 1000, "naive_rate": naive_duplicates.rate},
        ),
        Row(
            "STK callbacks vs the HTTP floor",
            figure(paid),
            f"bare aiohttp {figure(bare_paid)}",
            ratio_of(paid.rate, bare_paid.rate),
            "—",
            None,
            checks(bare_paid, "bare"),
            {"rate": paid.rate, "bare_rate": bare_paid.rate},
        ),
    ]


async def naive(run: Run, pushes: list[StkPush], warm: int) -> tuple[LoadResult, LoadResult]:
    seeded = run.folder / "naive-payments.json"
    seeded.write_text(json.dumps([[push.token, push.chat_id, 42000] for push in pushes]))
    port = free_port()
    argv = [sys.executable, "-m", "bench.baselines.naive", str(port), str(run.folder / "naive.sqlite3"), str(seeded)]
    server = await start_server(
        "naive", run.cores.pin(argv, run.cores.server), port=port, folder=run.folder, env=_with_bench_on_path()
    )
    try:
        sent = callback_requests(server.url, pushes)
        paid = await measure(run, [server], sent, warm)
        duplicates = await measure(run, [server], sent, warm)
    finally:
        await server.stop()
    return paid, duplicates


async def bare(run: Run, pushes: list[StkPush], warm: int) -> LoadResult:
    port = free_port()
    argv = [sys.executable, "-m", "bench.baselines.bare", str(port)]
    server = await start_server(
        "bare", run.cores.pin(argv, run.cores.server), port=port, folder=run.folder, env=_with_bench_on_path()
    )
    try:
        # The floor answers ten times as fast: as many rounds of the same requests again keep it measured for
        # seconds, not a fraction of one.
        sent = callback_requests(server.url, pushes) * BARE_ROUNDS
        return await measure(run, [server], sent, warm, concurrency=BARE_CONCURRENCY)
    finally:
        await server.stop()


def _with_bench_on_path() -> dict[str, str]:
    from pathlib import Path

    from bench.common import clean_env

    env = clean_env()
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


async def latency(run: Run) -> list[Row]:
    count = int(LATENCY_RATE * run.sizes.latency_seconds)
    # The first two seconds: a merchant's "paid" alerts, paced at one a second per chat, are first sent and then
    # edited into a running list, so the first edit (and the models it builds on first use) falls in the warm-up.
    warm = int(LATENCY_RATE * 2)
    async with fake_bot_api(run, "latency") as telegram:
        prepared = await prepare(run, telegram, sqlite_url(run.folder, "latency"), warm + count)
        pushes = prepared.pushes
        traced = run.folder / "latency-timeline.log" if run.timeline else None
        server = await start_dukabot(
            run,
            "dukabot-latency",
            prepared.database_url,
            telegram.base_url,
            core=run.cores.server,
            timeline=traced,
            profile=run.profile,
        )
        try:
            sent = callback_requests(server.url, pushes)
            if run.profile:
                server.process.send_signal(signal.SIGUSR1)
            result = await measure(run, [server], sent, warm, rate=LATENCY_RATE, telegram=telegram)
            measured = {str(push.chat_id): at for push, at in zip(pushes[warm:], result.sent, strict=True)}
            everyone = {str(push.chat_id) for push in pushes}
            await wait_for_receipts(telegram, everyone, run.sizes.receipt_wait)
            if run.profile:
                server.process.send_signal(signal.SIGUSR2)
                await asyncio.sleep(0.5)  # the profile is written by the server's signal handler
        finally:
            await server.stop()
        received = await telegram.first_sends(set(measured))
        stats = await telegram.stats({str(shop.admin_id) for shop in prepared.shops})
    spans = [received[chat] - at for chat, at in measured.items() if chat in received]
    missing = len(measured) - len(spans)
    # A receipt that never came counts as slower than any that did.
    everything = spans + [float("inf")] * missing
    p50, p99 = percentile(everything, 0.5), percentile(everything, 0.99)
    refused, busiest = stats["refused"], stats["busiest_chat"]
    merchants = stats["sent_to"]
    breached = refused > 0 or busiest > 1
    notes = [
        f"{len(spans)}/{len(measured)} receipts arrived within {run.sizes.receipt_wait:.0f}s",
        f"limits: {refused} sends refused with 429 (over 30/s per bot); busiest chat: {busiest} message(s) in 1 s",
        f"messages the fake Bot API took meanwhile: {stats['sends']}, of which {merchants} to the "
        f"{SHOPS} merchants' chats",
        *checks(result, "dukabot"),
        *error_notes(server),
    ]
    if traced is not None:
        from bench.timeline import breakdown

        notes += breakdown(measured, received, traced)

    def ms(value: float) -> str:
        return f"> {run.sizes.receipt_wait:.0f} s" if value == float("inf") else f"{value * 1000:,.0f} ms"

    shown = f"p50 {ms(p50)}, p99 {ms(p99)}" if spans else "no receipt arrived"
    if missing:
        shown += f" ({missing} never arrived)"
    return [
        Row(
            f"callback → receipt at {LATENCY_RATE:.0f}/s over {SHOPS} shops",
            shown,
            "Telegram: 30/s per bot, ~1/s per chat",
            None,
            "p99 < 250 ms, no limit breached",
            p99 < 0.25 and not breached and not missing,
            notes,
            {
                # JSON has no infinity: a quantile that fell on a receipt that never came is null
                "p50_ms": p50 * 1000 if p50 != float("inf") else None,
                "p99_ms": p99 * 1000 if p99 != float("inf") else None,
                "missing": missing,
                "refused_429": refused,
                "busiest_chat_per_s": busiest,
            },
        )
    ]


async def two_processes(run: Run) -> list[Row]:
    """One ``serve`` against two sharing PostgreSQL (and Redis when given), on the callback path."""
    if not run.postgres_url:
        return []
    warm, count = run.sizes.warmup, run.sizes.callbacks
    results: list[LoadResult] = []
    for processes in (1, 2):
        async with fake_bot_api(run, f"postgres-{processes}") as telegram:
            prepared = await prepare(run, telegram, run.postgres_url, warm + count)
            await _flush_redis(run.redis_url)
            cores = _server_cores(run, processes)
            servers: list[Server] = []
            try:
                for number, core in enumerate(cores):
                    servers.append(
                        await start_dukabot(
                            run,
                            f"dukabot-pg-{processes}-{number}",
                            prepared.database_url,
                            telegram.base_url,
                            core=core,
                            redis_url=run.redis_url,
                        )
                    )
                sent = [
                    callback_requests(servers[index % len(servers)].url, [push])[0]
                    for index, push in enumerate(prepared.pushes)
                ]
                results.append(await measure(run, servers, sent, warm, concurrency=PG_CONCURRENCY, telegram=telegram))
            finally:
                for server in servers:
                    await server.stop()
    one, two = results
    scaling = ratio_of(two.rate, one.rate)
    cores = len(run.cores.available)
    meaningful = cores >= MIN_CORES_FOR_TWO
    note = f"{PG_CONCURRENCY} requests in flight on both sides; " + (
        "one server per core; PostgreSQL shares the machine"
        if meaningful
        else f"this machine has {cores} core(s): the second server shares a core with the load generator, the fake "
        f"Bot API and PostgreSQL, so two processes cannot beat one here; the path needs >= {MIN_CORES_FOR_TWO} cores "
        "to mean anything, so no ratio is given (the scaling measured, for the record: "
        + (f"{scaling:.2f}x)" if scaling is not None else "none)")
    )
    return [
        Row(
            "two serve processes on PostgreSQL, callbacks",
            f"2 processes {figure(two)}",
            f"1 process {figure(one)}",
            scaling if meaningful else None,
            "≥ 1.6×" if meaningful else f"≥ 1.6× (needs ≥ {MIN_CORES_FOR_TWO} cores: not measurable here)",
            (scaling is not None and scaling >= 1.6) if meaningful else None,
            [note, *checks(one, "one"), *checks(two, "two")],
            {"one_rate": one.rate, "two_rate": two.rate, "scaling": scaling, "cores": cores, "meaningful": meaningful},
        )
    ]


def _server_cores(run: Run, processes: int) -> list[int | None]:
    """A core of its own for each server while there are cores besides the load generator's; on two cores the
    second server shares the load generator's."""
    if run.cores.server is None:
        return [None] * processes
    spare = [core for core in run.cores.available if core != run.cores.load]
    order = [*spare, *[core for core in run.cores.available if core not in spare]]
    return [order[index % len(order)] for index in range(processes)]


async def _flush_redis(url: str | None) -> None:
    """Pacing and token state of an earlier run would hold the new one back (tenant ids start again at 1)."""
    if not url:
        return
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()
