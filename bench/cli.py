"""How long the ``dukabot`` command takes to answer, beside the plainest Python processes in the same run.

Every command runs as an operator runs it: the console script in a fresh process, in an empty folder (no ``.env``),
with its own data dir, whose SQLite database has one shop for ``tenant list``. The runs take turns, so that a busy
machine slows every one alike, and the median of each is reported as a ratio to the baselines:

- ``python -c pass``: starting Python at all;
- ``python -c "import click"``: the floor of any Click command;
- ``python -c "import sqlalchemy.ext.asyncio, aiosqlite"``: the floor of a command that reads the database.

``--help`` should stay near the Click floor and ``tenant list`` near the database floor: a command imports what it
runs, never aiogram or the payment clients (tests/unit/test_cli_imports.py holds the imports, this the time).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 7
BOT_TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9"  # never sent anywhere: tenant add only stores it


def dukabot() -> list[str]:
    installed = shutil.which("dukabot", path=str(Path(sys.executable).parent))
    return [installed] if installed else [sys.executable, "-c", "from webhooks.cli import main; main()"]


def main() -> None:
    python = [sys.executable, "-c"]
    baselines = {
        "python -c pass": [*python, "pass"],
        "import click": [*python, "import click"],
        "import sqlalchemy": [*python, "import sqlalchemy.ext.asyncio, aiosqlite"],
    }
    commands = {
        "dukabot --help": [*dukabot(), "--help"],
        "dukabot tenant --help": [*dukabot(), "tenant", "--help"],
        "dukabot tenant list": [*dukabot(), "tenant", "list"],
    }
    with tempfile.TemporaryDirectory() as folder:
        env = {name: value for name, value in os.environ.items() if not name.startswith("DUKABOT_")}
        env["DUKABOT_DATA_DIR"] = str(Path(folder) / "var")
        for setup in (["db", "upgrade"], ["tenant", "add", "bench", "--name", "Bench", "--bot-token", BOT_TOKEN]):
            subprocess.run([*dukabot(), *setup], cwd=folder, env=env, capture_output=True, check=True)  # noqa: S603
        times: dict[str, list[float]] = {name: [] for name in [*baselines, *commands]}
        for _ in range(RUNS):
            for name, argv in {**baselines, **commands}.items():
                started = time.perf_counter()
                subprocess.run(argv, cwd=folder, env=env, capture_output=True, check=True)  # noqa: S603
                times[name].append(time.perf_counter() - started)
    median = {name: statistics.median(runs) for name, runs in times.items()}
    shown = ", ".join(f"{name} {median[name] * 1000:.0f} ms" for name in baselines)
    print(f"CLI wall time, median of {RUNS} runs each; baselines: {shown}")
    for name in commands:
        ratios = "  ".join(f"{median[name] / median[base]:5.2f}x {base}" for base in baselines)
        print(f"  {name:<22} {median[name] * 1000:6.0f} ms  {ratios}")


if __name__ == "__main__":
    main()
