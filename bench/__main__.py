"""``make bench`` (``python -m bench [PATH ...] [--quick] [--json]``): dukabot's hot paths through the real server
over HTTP, each beside its baseline run in the same process tree a minute apart, as a ratio.

The server under test (``dukabot serve``, or a baseline server) runs alone on one core (``taskset -c``); the load
generator (``bench/load.py``) and the fake Bot API (``bench/telegram.py``) run in processes of their own on another
core (the fake on a third when there is one). Both sides of a ratio get the same requests, the same concurrency and
the same warm-up (not measured). A full run takes about six minutes on two busy cores, ``--quick`` about two and a half.

Paths (all by default; ``postgres`` only with a PostgreSQL URL):

- ``callbacks``: Daraja STK callbacks, each paying its order once, against the naive one-transaction-per-callback
  design (aiohttp + SQLAlchemy + aiosqlite), their receipts counted at the fake Bot API; then the same callbacks
  again (duplicates) on both; and the first figure against a bare aiohttp JSON handler.
- ``conversation``: ``/shop`` and a button press as webhook updates with the secret header, against aiogram's
  webhook echo bot replying over HTTP to the same fake Bot API.
- ``channels``: the conversation step through dukabot on python-telegram-bot beside dukabot on aiogram (the
  default), same shops and fake Bot API: what choosing DUKABOT_TELEGRAM_LIBRARY=ptb costs.
- ``latency``: callback → receipt at the fake Bot API at 50 callbacks a second over 16 shops, p50/p99, with
  Telegram's limits checked (30 messages a second per bot, enforced by the fake with 429; about one a second per
  chat).
- ``memory``: RSS of one process that served 1,000 shops and 10,000 conversations (paced by the server's answers,
  the unanswered counted), beside 1 shop idle.
- ``postgres``: two ``serve`` processes sharing PostgreSQL (and Redis) against one, on the callback path; on fewer
  than three cores both figures are printed without a ratio
  (``--postgres URL``, or TEST_DATABASE_URL; its public schema is dropped and made again; ``--redis URL`` or
  TEST_REDIS_URL is flushed).

``python -m bench micro`` runs the in-process micro benchmarks, ``python -m bench apply`` what ``apply_event`` costs
per event (``--profile`` for where), ``python -m bench cli`` the CLI's answer times.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.common import Row, Run, Sizes
from bench.harness import Cores

PathRun = Callable[[Run], Awaitable[list[Row]]]


def paths() -> dict[str, PathRun]:
    from bench import path_callbacks, path_channels, path_conversation

    return {
        "callbacks": path_callbacks.callbacks,
        "conversation": path_conversation.conversation,
        "channels": path_channels.channels,
        "latency": path_callbacks.latency,
        "memory": path_conversation.memory,
        "postgres": path_callbacks.two_processes,
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "paths", nargs="*", help="callbacks, conversation, channels, latency, memory, postgres (default: all)"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: small counts, seconds per path")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument(
        "--timeline", action="store_true", help="latency: trace each receipt through the server, stage by stage"
    )
    parser.add_argument(
        "--profile", default=None, metavar="FILE", help="latency: the server's cProfile over the measured seconds"
    )
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL"), help="PostgreSQL URL")
    parser.add_argument("--redis", default=os.environ.get("TEST_REDIS_URL"), help="Redis URL for the postgres path")
    options = parser.parse_args(argv)
    if options.profile:
        options.profile = str(Path(options.profile).resolve())  # the server runs in another folder
    return options


async def bench(options: argparse.Namespace) -> int:
    known = paths()
    chosen = options.paths or list(known)
    unknown = [name for name in chosen if name not in known]
    if unknown:
        print(f"unknown path(s): {', '.join(unknown)}; choose from {', '.join(known)}", file=sys.stderr)
        return 2
    cores = Cores.choose()
    cores.pin_this_process()
    with tempfile.TemporaryDirectory(prefix="dukabot-bench-") as folder:
        run = Run(
            Path(folder),
            cores,
            Sizes.of(options.quick),
            options.quick,
            options.postgres,
            options.redis,
            options.timeline,
            options.profile,
        )
        rows: list[Row] = []
        for name in chosen:
            if name == "postgres" and not run.postgres_url:
                print("postgres: skipped (no --postgres URL or TEST_DATABASE_URL)", file=sys.stderr)
                continue
            print(f"{name}...", file=sys.stderr, end="", flush=True)
            began = time.monotonic()
            rows += await known[name](run)
            print(f" {time.monotonic() - began:.0f}s", file=sys.stderr, flush=True)
        from bench import report

        print(report.as_json(run, rows) if options.json else report.table(run, rows))
    return 0


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["micro"]:
        from bench import micro

        micro.run()
        return
    if argv[:1] == ["apply"]:
        from bench import apply

        apply.run(argv[1:])
        return
    if argv[:1] == ["cli"]:
        from bench import cli

        cli.main()
        return
    logging.basicConfig(level=logging.WARNING)
    sys.exit(asyncio.run(bench(parse(argv))))


if __name__ == "__main__":
    main()
