"""The chat paths: one conversation step (``/shop``, then a button of its answer) as Telegram webhook updates with
the shop's secret header, beside aiogram's echo bot; and one process holding many shops and conversations (RSS)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.common import JSON, Row, Run, error_notes, fake_bot_api, measure, rate, ratio_of, start_dukabot
from bench.harness import LoadResult, Server, free_port, start_server
from bench.load import Request
from bench.path_callbacks import _with_bench_on_path, checks, figure
from bench.seeding import BenchShop, add_shops, fresh_database, register_bots, sqlite_url
from bench.telegram import TelegramProcess
from sandbox.telegram import SECRET_HEADER

# Enough shops that a bot's own limit (dukabot paces each bot to Telegram's 30 messages a second) is never what
# holds the step back: the path measures the work per update, spread as a busy platform's updates are.
SHOPS = 64
FIRST_USER = 6_000_000
# Updates in flight, on both sides: at 16 the echo bot waits on the fake Bot API's round trips and the ratio
# flatters dukabot; at 64 both servers are busy.
CONCURRENCY = int(os.environ.get("BENCH_CONVERSATION_CONCURRENCY", "64"))
# The memory path's updates in flight: a closed loop, so the server's answers pace them and none is dropped.
MEMORY_CONCURRENCY = 16
REPLY_WAIT = 30.0  # seconds the replies owed may take after the last update before they count as missing


@dataclass
class Steps:
    shop: LoadResult
    press: LoadResult
    calls_per_update: float  # Bot API calls the server made per update
    unpressed: int  # users whose /shop answer had no button to press (or who got no answer at all)


async def wait_for_replies(telegram: TelegramProcess, chats: set[str], seconds: float) -> int:
    """How many of ``chats`` got a message, once all had or ``seconds`` passed."""
    deadline = time.monotonic() + seconds
    while (answered := await telegram.answered(chats)) < len(chats) and time.monotonic() < deadline:  # noqa: ASYNC110 (another process)
        await asyncio.sleep(0.25)
    return answered


async def converse(
    telegram: TelegramProcess, server: Server, shops: Sequence[BenchShop], first_user: int, run: Run
) -> Steps:
    warm, count = run.sizes.warmup, run.sizes.conversations
    users = [(shops[index % len(shops)], first_user + index) for index in range(warm + count)]
    updates = await telegram.commands([(shop.token, user, "/shop") for shop, user in users])
    commands = [_request(server, shop, update) for (shop, _), update in zip(users, updates, strict=True)]
    calls_before = (await telegram.stats())["calls"]
    shop = await measure(run, [server], commands, warm, concurrency=CONCURRENCY, telegram=telegram)
    await wait_for_replies(telegram, {str(user) for _, user in users}, REPLY_WAIT)
    pressed = await telegram.presses([(shop.token, user) for shop, user in users])
    presses = [_request(server, shop, update) for (shop, _), update in zip(users, pressed, strict=True) if update]
    press = await measure(run, [server], presses, warm, concurrency=CONCURRENCY, telegram=telegram)
    calls = ((await telegram.stats())["calls"] - calls_before) / max(1, len(commands) + len(presses))
    return Steps(shop, press, calls, sum(update is None for update in pressed))


def _request(server: Server, shop: BenchShop, update: dict[str, object]) -> Request:
    return (f"{server.url}/tg/{shop.slug}", json.dumps(update), {**JSON, SECRET_HEADER: shop.secret})


async def conversation(run: Run) -> list[Row]:
    async with fake_bot_api(run, "conversation") as telegram:
        database = await fresh_database(sqlite_url(run.folder, "conversation"))
        try:
            shops = await add_shops(database, SHOPS, mpesa=False)
        finally:
            await database.dispose()
        await register_bots(telegram, shops)
        server = await start_dukabot(
            run, "dukabot-conversation", database.url, telegram.base_url, core=run.cores.server
        )
        try:
            ours = await converse(telegram, server, shops, FIRST_USER, run)
        finally:
            await server.stop()
        listed = run.folder / "echo-shops.json"
        listed.write_text(json.dumps([[shop.slug, shop.token, shop.secret] for shop in shops]))
        port = free_port()
        argv = [sys.executable, "-m", "bench.baselines.echo", str(port), telegram.base_url, str(listed)]
        echo = await start_server(
            "echo", run.cores.pin(argv, run.cores.server), port=port, folder=run.folder, env=_with_bench_on_path()
        )
        try:
            theirs = await converse(telegram, echo, shops, FIRST_USER + 1_000_000, run)
        finally:
            await echo.stop()
    calls = f"Bot API calls per update: dukabot {ours.calls_per_update:.2f}, echo {theirs.calls_per_update:.2f}"
    rows = []
    for step, mine, echoed in (("/shop", ours.shop, theirs.shop), ("a button press", ours.press, theirs.press)):
        ratio = ratio_of(mine.rate, echoed.rate)
        notes = [calls, *checks(mine, "dukabot"), *checks(echoed, "echo"), *error_notes(server, echo)]
        # The echo bot answers after its reply: when it sat under half its core while the fake Bot API (in a process
        # of its own) used a whole core, it waited on the fake, and the ratio says nothing about either server.
        fake_bound = any(
            side.server_busy is not None
            and side.server_busy < 0.5
            and side.telegram_busy is not None
            and side.telegram_busy > 0.9
            for side in (mine, echoed)
        )
        if fake_bound:
            notes.append("a server waited on the fake Bot API, which used its whole core share: no verdict")
        elif echoed.server_busy is not None and echoed.server_busy < 0.5:
            notes.append(
                "the echo bot used under half its core while the fake Bot API had room: each update waits for its "
                "Bot API round trip (it answers after its reply), and on a busy machine that round trip waits to be "
                "scheduled, so this ratio is high for a quiet machine: compare runs"
            )
        if step != "/shop" and ours.unpressed:
            notes.append(f"{ours.unpressed} /shop answers had no button to press (or never came)")
        rows.append(
            Row(
                f"conversation step: {step}",
                figure(mine),
                f"aiogram echo {figure(echoed)}",
                ratio,
                "≥ 0.5×",
                None if fake_bound else ratio is not None and ratio >= 0.5 and not mine.failures,
                notes,
                {
                    "rate": mine.rate,
                    "p99_ms": mine.latency(0.99) * 1000,
                    "echo_rate": echoed.rate,
                    "thirds": mine.thirds(),
                    "echo_thirds": echoed.thirds(),
                },
            )
        )
    return rows


async def memory(run: Run) -> list[Row]:
    """RSS of one ``serve`` after 1 shop has started and sat idle, beside one that served many shops, each of whose
    bots answered ``conversations_per_shop`` customers (``/shop``), the updates paced by the server's answers (a
    closed loop of a few in flight, not a thousand at once) and every reply waited for."""
    shop_count, per_shop = run.sizes.shops_many, run.sizes.conversations_per_shop
    async with fake_bot_api(run, "memory") as telegram:
        database = await fresh_database(sqlite_url(run.folder, "memory-one"))
        try:
            one = await add_shops(database, 1, mpesa=False)
        finally:
            await database.dispose()
        await register_bots(telegram, one)
        server = await start_dukabot(run, "dukabot-idle", database.url, telegram.base_url, core=run.cores.server)
        try:
            await asyncio.sleep(2.0)  # the workers start and settle
            idle = server.rss_mb()
        finally:
            await server.stop()
        database = await fresh_database(sqlite_url(run.folder, "memory-many"))
        try:
            many = await add_shops(database, shop_count, mpesa=False, first=1)
        finally:
            await database.dispose()
        await register_bots(telegram, many)
        server = await start_dukabot(run, "dukabot-many", database.url, telegram.base_url, core=run.cores.server)
        try:
            started = server.rss_mb()
            users = [
                (many[index % shop_count], FIRST_USER + 2_000_000 + index) for index in range(shop_count * per_shop)
            ]
            made = await telegram.commands([(shop.token, user, "/shop") for shop, user in users])
            updates = [_request(server, shop, update) for (shop, _), update in zip(users, made, strict=True)]
            result = await measure(run, [server], updates, 0, concurrency=MEMORY_CONCURRENCY, telegram=telegram)
            chats = {str(user) for _, user in users}
            answered = await wait_for_replies(telegram, chats, REPLY_WAIT)
            busy = server.rss_mb()
        finally:
            await server.stop()
    conversations = shop_count * per_shop
    unanswered = conversations - answered
    return [
        Row(
            f"one process, {shop_count:,} shops + {conversations:,} conversations",
            f"{busy:,.0f} MB RSS",
            f"1 shop idle: {idle:,.0f} MB",
            busy / idle if idle else None,
            "< 300 MB (every update answered)",
            busy < 300 and not result.failures and not unanswered,
            [
                f"{shop_count:,} shops just started: {started:,.0f} MB; conversations served at {rate(result.rate)}, "
                f"{MEMORY_CONCURRENCY} in flight",
                f"unanswered updates: {result.failures} refused or lost over HTTP, {unanswered} of {conversations:,} "
                f"users got no reply within {REPLY_WAIT:.0f}s of the last update",
                *checks(result, "dukabot"),
                *error_notes(server),
                *_scale_note(run),
            ],
            {
                "rss_mb": busy,
                "idle_mb": idle,
                "started_mb": started,
                "shops": shop_count,
                "conversations": conversations,
                "failed": result.failures,
                "unanswered": unanswered,
            },
        )
    ]


def _scale_note(run: Run) -> list[str]:
    sizes = run.sizes
    return (
        [
            f"--quick: {sizes.shops_many} shops and {sizes.shops_many * sizes.conversations_per_shop} conversations, "
            "not the 1,000 and 10,000 the target is about"
        ]
        if run.quick
        else []
    )
