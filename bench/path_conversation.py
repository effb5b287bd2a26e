"""The chat paths: one conversation step (``/shop``, then a button of its answer) as Telegram webhook updates with
the shop's secret header, beside aiogram's echo bot; and one process holding many shops and conversations (RSS)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from bench.common import JSON, Row, Run, error_notes, measure, rate, ratio_of, start_dukabot
from bench.harness import LoadResult, Server, free_port, generate_load, start_server
from bench.load import Request
from bench.path_callbacks import _with_bench_on_path, checks, figure
from bench.seeding import BenchShop, add_shops, fresh_database, register_bots, sqlite_url
from sandbox.telegram import SECRET_HEADER, FakeTelegram, FakeTelegramServer, FakeUser

# Enough shops that a bot's own limit (dukabot paces each bot to Telegram's 30 messages a second) is never what
# holds the step back: the path measures the work per update, spread as a busy platform's updates are.
SHOPS = 64
FIRST_USER = 6_000_000
# Updates in flight, on both sides: at 16 the echo bot waits on the fake Bot API's round trips (a third of its core
# used) and the ratio flatters dukabot; at 64 both servers are busy.
CONCURRENCY = int(os.environ.get("BENCH_CONVERSATION_CONCURRENCY", "64"))
PRESS_FOR_ECHO = "bench"  # the echo bot's answer has no buttons: its press carries this data


@dataclass
class Steps:
    shop: LoadResult
    press: LoadResult
    calls_per_update: float  # Bot API calls the server made per update
    unpressed: int  # users whose /shop answer had no button to press


async def converse(fake: FakeTelegram, server: Server, shops: Sequence[BenchShop], first_user: int, run: Run) -> Steps:
    warm, count = run.sizes.warmup, run.sizes.conversations
    users: list[tuple[BenchShop, FakeUser]] = [
        (shops[index % len(shops)], fake.user(shops[index % len(shops)].token, first_user + index))
        for index in range(warm + count)
    ]
    commands = [_request(server, shop, await user.send_command("/shop")) for shop, user in users]
    _forget_queued(fake, shops)
    calls_before = len(fake.requests)
    shop = await measure(run, [server], commands, warm, concurrency=CONCURRENCY)
    presses: list[Request] = []
    unpressed = 0
    for bench_shop, user in users:
        pressed = await _press_first_button(user)
        if pressed is None:
            unpressed += 1
        else:
            presses.append(_request(server, bench_shop, pressed))
    _forget_queued(fake, shops)
    press = await measure(run, [server], presses, warm, concurrency=CONCURRENCY)
    calls = (len(fake.requests) - calls_before) / max(1, len(commands) + len(presses))
    return Steps(shop, press, calls, unpressed)


async def _press_first_button(user: FakeUser) -> dict[str, object] | None:
    """The user presses the first button of the bot's newest message (the echo bot's has none: a press of its
    answer with made-up data, which the echo bot answers all the same)."""
    for message in reversed(user.messages):
        for button in message.inline_buttons:
            if button.action == "callback_data" and button.callback_data:
                return (await user.press(message=message, callback_data=button.callback_data)).update
    if user.messages:
        return (await user.press(message=user.messages[-1], callback_data=PRESS_FOR_ECHO)).update
    return None


def _request(server: Server, shop: BenchShop, update: dict[str, object]) -> Request:
    return (f"{server.url}/tg/{shop.slug}", json.dumps(update), {**JSON, SECRET_HEADER: shop.secret})


def _forget_queued(fake: FakeTelegram, shops: Sequence[BenchShop]) -> None:
    """The updates are posted by the load generator, not delivered by the fake: drop them from its queues."""
    for shop in shops:
        fake.bot(shop.token).pending.clear()


async def conversation(run: Run) -> list[Row]:
    async with FakeTelegramServer() as telegram:
        fake = telegram.fake
        database = await fresh_database(sqlite_url(run.folder, "conversation"))
        try:
            shops = await add_shops(database, SHOPS, mpesa=False)
        finally:
            await database.dispose()
        register_bots(fake, shops)
        server = await start_dukabot(
            run, "dukabot-conversation", database.url, telegram.base_url, core=run.cores.server
        )
        try:
            ours = await converse(fake, server, shops, FIRST_USER, run)
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
            theirs = await converse(fake, echo, shops, FIRST_USER + 1_000_000, run)
        finally:
            await echo.stop()
    calls = f"Bot API calls per update: dukabot {ours.calls_per_update:.2f}, echo {theirs.calls_per_update:.2f}"
    rows = []
    for step, mine, echoed in (("/shop", ours.shop, theirs.shop), ("a button press", ours.press, theirs.press)):
        ratio = ratio_of(mine.rate, echoed.rate)
        notes = [calls, *checks(mine, "dukabot"), *checks(echoed, "echo"), *error_notes(server, echo)]
        # The echo bot waiting (on the fake Bot API) rather than working: its figure is a floor, the ratio a ceiling.
        held_back = echoed.server_busy is not None and echoed.server_busy < 0.5
        if held_back:
            notes.append("the echo bot was held back, so this ratio is an upper bound: no verdict")
        if step != "/shop" and ours.unpressed:
            notes.append(f"{ours.unpressed} /shop answers had no button to press")
        rows.append(
            Row(
                f"conversation step: {step}",
                figure(mine),
                f"aiogram echo {figure(echoed)}",
                ratio,
                "≥ 0.5×",
                None if held_back else ratio is not None and ratio >= 0.5 and not mine.failures,
                notes,
                {"rate": mine.rate, "p99_ms": mine.latency(0.99) * 1000, "echo_rate": echoed.rate},
            )
        )
    return rows


async def memory(run: Run) -> list[Row]:
    """RSS of one ``serve`` after 1 shop has started and sat idle, beside one that served many shops, each of whose
    bots answered ``conversations_per_shop`` customers (``/shop``)."""
    shop_count, per_shop = run.sizes.shops_many, run.sizes.conversations_per_shop
    async with FakeTelegramServer() as telegram:
        fake = telegram.fake
        database = await fresh_database(sqlite_url(run.folder, "memory-one"))
        try:
            one = await add_shops(database, 1, mpesa=False)
        finally:
            await database.dispose()
        register_bots(fake, one)
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
        register_bots(fake, many)
        server = await start_dukabot(run, "dukabot-many", database.url, telegram.base_url, core=run.cores.server)
        try:
            started = server.rss_mb()
            updates = []
            for index in range(shop_count * per_shop):
                shop = many[index % shop_count]
                user = fake.user(shop.token, FIRST_USER + 2_000_000 + index)
                updates.append(_request(server, shop, await user.send_command("/shop")))
            _forget_queued(fake, many)
            result = await generate_load(updates, folder=run.folder, cores=run.cores, servers=[server])
            await asyncio.sleep(2.0)  # the relay sends what the updates owed
            busy = server.rss_mb()
        finally:
            await server.stop()
    conversations = shop_count * per_shop
    return [
        Row(
            f"one process, {shop_count:,} shops + {conversations:,} conversations",
            f"{busy:,.0f} MB RSS",
            f"1 shop idle: {idle:,.0f} MB",
            busy / idle if idle else None,
            "< 300 MB",
            busy < 300 and not result.failures,
            [
                f"{shop_count:,} shops just started: {started:,.0f} MB; conversations served at {rate(result.rate)}",
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
            },
        )
    ]


def _scale_note(run: Run) -> list[str]:
    return ["--quick: a tenth of the shops and conversations the target is about"] if run.quick else []
