"""The channels path: one conversation step (``/shop``, then a button of its answer) through ``dukabot serve`` on
python-telegram-bot beside the same server on aiogram, the same shops, updates and fake Bot API, one after the other.
The ratio is PTB's rate over aiogram's: what an operator gives up (or gains) by choosing
``DUKABOT_TELEGRAM_LIBRARY=ptb``. aiogram sends a menu as one prebuilt JSON body (``bot/aiogram/bot_api.py``); PTB
goes through its own models and httpx."""

from __future__ import annotations

from bench.common import Row, Run, error_notes, fake_bot_api, ratio_of, start_dukabot
from bench.path_callbacks import checks, figure
from bench.path_conversation import FIRST_USER, SHOPS, Steps, converse
from bench.seeding import add_shops, fresh_database, register_bots, sqlite_url

LIBRARIES = ("aiogram", "ptb")


async def channels(run: Run) -> list[Row]:
    steps: dict[str, Steps] = {}
    notes: list[str] = []
    async with fake_bot_api(run, "channels") as telegram:
        database = await fresh_database(sqlite_url(run.folder, "channels"))
        try:
            shops = await add_shops(database, SHOPS, mpesa=False)
        finally:
            await database.dispose()
        await register_bots(telegram, shops)
        for offset, library in enumerate(LIBRARIES):
            server = await start_dukabot(
                run, f"dukabot-{library}", database.url, telegram.base_url, core=run.cores.server, library=library
            )
            try:  # users of their own: each server starts every conversation afresh
                steps[library] = await converse(telegram, server, shops, FIRST_USER + (offset + 3) * 1_000_000, run)
            finally:
                await server.stop()
            notes += error_notes(server)
    ptb, aiogram = steps["ptb"], steps["aiogram"]
    calls = f"Bot API calls per update: ptb {ptb.calls_per_update:.2f}, aiogram {aiogram.calls_per_update:.2f}"
    rows = []
    for step, theirs, ours in (("/shop", ptb.shop, aiogram.shop), ("a button press", ptb.press, aiogram.press)):
        rows.append(
            Row(
                f"channel step on ptb: {step}",
                figure(theirs),
                f"on aiogram {figure(ours)}",
                ratio_of(theirs.rate, ours.rate),
                "report",
                None,
                [calls, *checks(theirs, "ptb"), *checks(ours, "aiogram"), *notes],
                {"rate": theirs.rate, "aiogram_rate": ours.rate, "p99_ms": theirs.latency(0.99) * 1000},
            )
        )
    return rows
