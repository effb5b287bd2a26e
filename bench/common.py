"""What every path of ``make bench`` shares: the run's settings and sizes, a row of the results table, and starting
dukabot's real server (``dukabot serve``) pinned to a core, against the fake Bot API."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.harness import Cores, LoadResult, Server, dukabot_argv, free_port, generate_load, start_server
from bench.load import Request
from bench.telegram import TelegramProcess
from tests.support.app import VAULT_KEY

JSON = {"Content-Type": "application/json"}
ROOT = str(Path(__file__).resolve().parent.parent)  # where `python -m bench.telegram` is found


@dataclass(frozen=True)
class Sizes:
    callbacks: int  # STK callbacks measured (and as many duplicates)
    warmup: int  # requests sent first on each side, not measured
    conversations: int  # /shop updates measured (and as many button presses)
    latency_seconds: float  # how long callbacks arrive at 50/s for the latency path
    shops_many: int  # the memory path's shops
    conversations_per_shop: int  # the memory path's customers per shop
    receipt_wait: float  # seconds receipts may take after the last callback before they are counted as missing

    @classmethod
    def of(cls, quick: bool) -> Sizes:
        if quick:
            return cls(150, 30, 150, 3.0, 50, 10, 15.0)
        # Sized for a whole run in about eight minutes on two busy cores: each measured side still takes several
        # seconds after its warm-up, and the table shows the rate of each third of it (its spread).
        return cls(1000, 150, 1500, 10.0, 1000, 10, 30.0)


@dataclass
class Run:
    folder: Path
    cores: Cores
    sizes: Sizes
    quick: bool
    postgres_url: str | None = None
    redis_url: str | None = None
    timeline: bool = False  # the latency path traces each receipt through the server (bench/timeline.py)
    profile: str | None = None  # the latency path's server runs under cProfile, its profile written to this file


@dataclass
class Row:
    """One line of the table: dukabot's figure beside its baseline's, and their ratio (higher is better for dukabot
    unless ``lower_is_better``)."""

    path: str
    dukabot: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None = None
    notes: list[str] = field(default_factory=list)
    figures: dict[str, float | int | str | None] = field(default_factory=dict)


def clean_env() -> dict[str, str]:
    """The environment without any DUKABOT_ setting of the caller's shell (or a .env next to it: servers run in the
    run's own folder)."""
    return {name: value for name, value in os.environ.items() if not name.startswith("DUKABOT_")}


async def start_dukabot(
    run: Run,
    name: str,
    database_url: str,
    telegram_api: str,
    *,
    core: int | None,
    redis_url: str | None = None,
    timeline: Path | None = None,
    library: str = "aiogram",
    profile: str | None = None,
) -> Server:
    """``dukabot serve`` as an operator runs it, Telegram by webhooks (a public URL is set, so nothing polls) through
    ``library`` (DUKABOT_TELEGRAM_LIBRARY); with ``timeline``, through ``bench.timeline``, which writes the server's
    timeline there; with ``profile``, under cProfile (``bench.profiled``), the profile written to that file when it
    stops."""
    port = free_port()
    env = clean_env()
    env.update(
        DUKABOT_DATA_DIR=str(run.folder / f"{name}-data"),
        DUKABOT_DATABASE_URL=database_url,
        DUKABOT_SECRET_KEYS=VAULT_KEY,
        DUKABOT_TELEGRAM_API=telegram_api,
        DUKABOT_PUBLIC_URL=f"http://127.0.0.1:{port}",
        DUKABOT_HOST="127.0.0.1",
        DUKABOT_PORT=str(port),
        DUKABOT_TELEGRAM_LIBRARY=library,
    )
    if redis_url:
        env["DUKABOT_REDIS_URL"] = redis_url
    command = [*dukabot_argv(), "serve"]
    if timeline is not None:
        env["PYTHONPATH"] = ROOT + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        command = [sys.executable, "-m", "bench.timeline", str(timeline), "serve"]
    if profile is not None:
        env["PYTHONPATH"] = ROOT + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        command = [sys.executable, "-m", "bench.profiled", profile, "serve"]
    argv = run.cores.pin(command, core)
    return await start_server(name, argv, port=port, folder=run.folder, env=env)


async def counters(server: Server, metric: str) -> dict[str, float]:
    """The server's ``/metrics`` counter ``metric`` by its ``outcome`` label (a sanity check of what it did with
    the requests; nothing fails when the names change)."""
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{server.url}/metrics") as response:
            body = await response.text()
    except aiohttp.ClientError:
        return {}
    found: dict[str, float] = {}
    for line in body.splitlines():
        if line.startswith(metric + "{"):
            outcome = re.search(r'outcome="([^"]*)"', line)
            if outcome:
                found[outcome.group(1)] = found.get(outcome.group(1), 0) + float(line.rsplit(" ", 1)[1])
    return found


async def wait_until(check: Callable[[], bool], seconds: float) -> float | None:
    """Seconds until ``check`` held, or None when it did not within ``seconds``."""
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > seconds:
            return None
        await asyncio.sleep(0.05)
    return time.monotonic() - began


def requests_to(base: str, paths_and_bodies: Sequence[tuple[str, str]], headers: dict[str, str]) -> list[Request]:
    return [(f"{base}{path}", body, headers) for path, body in paths_and_bodies]


@asynccontextmanager
async def fake_bot_api(run: Run, name: str) -> AsyncIterator[TelegramProcess]:
    """The fake Bot API in a process of its own for one path (a fresh one each time: no chats left from before)."""
    env = clean_env()
    env["PYTHONPATH"] = ROOT + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    telegram = await TelegramProcess.start(f"telegram-{name}", run.folder, run.cores, env)
    try:
        yield telegram
    finally:
        await telegram.stop()


async def measure(
    run: Run,
    servers: Sequence[Server],
    sent: Sequence[Request],
    warm: int,
    *,
    telegram: TelegramProcess | None = None,
    **options: Any,
) -> LoadResult:
    """The load generator over ``sent``, its first ``warm`` requests a warm-up, watching ``servers``' CPU (and the
    fake Bot API's, over the whole run, warm-up included)."""
    cpu_before, began = (telegram.server.cpu_seconds(), time.monotonic()) if telegram else (0.0, 0.0)
    result = await generate_load(
        sent[warm:], warmup=sent[:warm], folder=run.folder, cores=run.cores, servers=servers, **options
    )
    if telegram is not None:
        result.telegram_busy = (telegram.server.cpu_seconds() - cpu_before) / max(1e-9, time.monotonic() - began)
    return result


def error_notes(*servers: Server) -> list[str]:
    return [f"{server.name} logged {count} error(s)" for server in servers if (count := server.logged_errors())]


def rate(value: float) -> str:
    return f"{value:,.0f}/s"


def spread(result: LoadResult) -> str:
    """Answers a second in each third of the measured span: how steady the figure was within the run."""
    thirds = result.thirds()
    return "thirds " + " / ".join(f"{value:,.0f}" for value in thirds) + "/s" if thirds else "no spread"


def ratio_of(ours: float, theirs: float) -> float | None:
    return ours / theirs if theirs else None
