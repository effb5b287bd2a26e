"""Running ``dukabot playground`` in its own process, as a person does, and reading its terminal as it goes."""

from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

from tests.support.library import LIBRARY

TIMEOUT = 120  # seconds: a generous bound, so a stuck playground fails the test instead of hanging it
# The playground's first lines: the customer's menu, printed once the demo shop answered /start.
READY = "── bot → customer #3 ──\nDemo Duka – choose a category:\n[1] Groceries"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def dukabot() -> list[str]:
    """The installed ``dukabot`` command next to this interpreter, or the same entry point through it."""
    installed = shutil.which("dukabot", path=str(Path(sys.executable).parent))
    return [installed] if installed else [sys.executable, "-c", "from webhooks.cli import main; main()"]


def environment(tmp_path: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("DUKABOT_")}
    env["DUKABOT_DATA_DIR"] = str(tmp_path / "var")
    env["DUKABOT_TELEGRAM_LIBRARY"] = LIBRARY["name"]  # the test's (tests/conftest.py: telegram_library)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run(tmp_path: Path, script: list[str], *options: str) -> subprocess.CompletedProcess[str]:
    """The playground with ``script`` piped to its stdin, to the end of the script."""
    return subprocess.run(  # noqa: S603 (our own command, no shell)
        [*dukabot(), "playground", "--port", str(free_port()), *options],
        input="\n".join(script) + "\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,  # no stray .env file
        env=environment(tmp_path),
        timeout=TIMEOUT,
        check=False,
    )


class Session:
    """The playground with a person at the keyboard: stdin stays open between lines, as in a terminal."""

    def __init__(self, tmp_path: Path) -> None:
        self.process = subprocess.Popen(  # noqa: S603 (our own command, no shell)
            [*dukabot(), "playground", "--port", str(free_port())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            cwd=tmp_path,
            env=environment(tmp_path),
        )
        self.out = ""
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, text: str, timeout: float = TIMEOUT) -> None:
        """Read the terminal until ``text`` is on it; AssertionError if the playground ends or stalls first."""
        while text not in self.out:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"{text!r} not printed within {timeout}s:\n{self.out[-3000:]}") from None
            if line is None:
                raise AssertionError(f"the playground ended before printing {text!r}:\n{self.out[-3000:]}")
            self.out += line

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def finish(self, timeout: float) -> tuple[int, str]:
        """Wait (at most ``timeout`` seconds) for the process to end: its exit code and stderr; ``out`` then holds
        all it printed."""
        returncode = self.process.wait(timeout=timeout)
        while (line := self._lines.get(timeout=timeout)) is not None:
            self.out += line
        assert self.process.stderr is not None
        return returncode, self.process.stderr.read()

    def close(self) -> None:
        """Stops the process if a test left it running (a failed test), without waiting for anything."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
