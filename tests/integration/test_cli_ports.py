"""A busy port, as an operator meets it through the console script: `dukabot serve` names the port and how to choose
another in one line (exit 2, no traceback), and the playground takes a free port by itself unless told which one
(issue 12, item 10)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


def dukabot() -> list[str]:
    """The installed ``dukabot`` command next to this interpreter, or the same entry point through it."""
    installed = shutil.which("dukabot", path=str(Path(sys.executable).parent))
    return [installed] if installed else [sys.executable, "-c", "from webhooks.cli import main; main()"]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.create_server(("127.0.0.1", 0)) as other:
        yield int(other.getsockname()[1])


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("DUKABOT_")}
    clean.update({"DUKABOT_DATA_DIR": str(tmp_path / "var"), "DUKABOT_HOST": "127.0.0.1", **(env or {})})
    return subprocess.run(  # noqa: S603 (our own command, no shell)
        [*dukabot(), *args],
        input="",  # the playground ends at the end of its input
        capture_output=True,
        text=True,
        cwd=tmp_path,  # no stray .env file
        env=clean,
        timeout=120,
        check=False,
    )


def busy_line(port: int) -> str:
    return (
        f"Error: port {port} on 127.0.0.1 is already in use (another dukabot?): "
        "choose another with --port N or DUKABOT_PORT=N"
    )


@pytest.mark.parametrize("how", ["--port", "DUKABOT_PORT"])
def test_serve_on_a_busy_port_says_which_and_how_to_choose_another(tmp_path: Path, busy_port: int, how: str) -> None:
    if how == "--port":
        done = run(tmp_path, "serve", "--port", str(busy_port))
    else:
        done = run(tmp_path, "serve", env={"DUKABOT_PORT": str(busy_port)})
    assert done.returncode == 2, done.stderr
    assert done.stderr == busy_line(busy_port) + "\n"
    assert done.stdout == ""


def test_the_playground_told_a_busy_port_says_so(tmp_path: Path, busy_port: int) -> None:
    done = run(tmp_path, "playground", "--port", str(busy_port))
    assert done.returncode == 2, done.stderr
    assert done.stderr == busy_line(busy_port) + "\n"
    assert done.stdout == ""


def test_the_playground_takes_a_free_port_when_its_usual_one_is_busy(tmp_path: Path, busy_port: int) -> None:
    done = run(tmp_path, "playground", env={"DUKABOT_PORT": str(busy_port)})
    assert done.returncode == 0, done.stderr
    taken = re.search(
        rf"^Port {busy_port} is in use: the playground takes (\d+) \(choose one with --port N\)\.$", done.stdout, re.M
    )
    assert taken is not None, done.stdout
    assert int(taken.group(1)) != busy_port
    assert f"dukabot playground: the demo shop's server runs on http://127.0.0.1:{taken.group(1)}\n" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
