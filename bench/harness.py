"""Processes and cores: the server under test (dukabot's ``serve`` or a baseline) in a process pinned to one core,
the load generator in another process on another core, and the fake Bot API in a process of its own
(``bench/telegram.py``), recording every message a bot sends (with Telegram's per-bot limit enforced, as Telegram
answers 429 past it)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import sys
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.load import Request
from sandbox.telegram.errors import ApiError
from sandbox.telegram.flood import MESSAGE_METHODS, FloodControl, Send

ROOT = Path(__file__).resolve().parent.parent  # where `python -m bench.load` is found
READY_WAIT = 90.0  # seconds a server may take to start (imports, migrations check) on a busy machine


@dataclass(frozen=True)
class Cores:
    """Which core the server under test gets, which the load generator (and this process) get, and which the fake
    Bot API's process gets: a third core when there is one, else the load generator's (as a process of its own,
    with its own share of that core)."""

    server: int | None
    load: int | None
    available: tuple[int, ...] = ()
    telegram: int | None = None

    @classmethod
    def choose(cls) -> Cores:
        """The first core for the server, the second for the load (call before this process is pinned)."""
        available = tuple(sorted(os.sched_getaffinity(0)))
        if len(available) < 2 or shutil.which("taskset") is None:
            return cls(None, None, available)
        return cls(available[0], available[1], available, available[2] if len(available) > 2 else available[1])

    def pin_this_process(self) -> None:
        """This process (the parent of the load generator, mostly idle) on the load generator's core."""
        if self.load is not None:
            os.sched_setaffinity(0, {self.load})

    def pin(self, argv: Sequence[str], core: int | None) -> list[str]:
        return ["taskset", "-c", str(core), *argv] if core is not None else list(argv)

    def describe(self) -> str:
        if self.server is None:
            return "not pinned (one core or no taskset)"
        if self.telegram == self.load:
            return f"server on core {self.server}, load generator and fake Bot API (two processes) on core {self.load}"
        return f"server on core {self.server}, load generator on core {self.load}, fake Bot API on {self.telegram}"


class Recorder(FloodControl):
    """Telegram's limit of ``per_bot`` messages a bot may send in any ``window`` seconds (429 past it), and a record
    of every send. Same rule as the sandbox's ``FloodControl``, checked in constant time per send: a run sends
    thousands of messages and this process also generates the load."""

    def __init__(self, per_bot: int = 30, window: float = 1.0) -> None:
        super().__init__(per_bot=per_bot, window=window)
        self.recent: dict[int, deque[float]] = {}

    def check(self, bot_id: int, chat_id: str, method: str) -> None:
        if method not in MESSAGE_METHODS:
            return
        now = self.timer()
        recent = self.recent.setdefault(bot_id, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        if len(recent) >= self.per_bot:
            self.sends.append(Send(bot_id, chat_id, now, method, refused=True))
            retry_after = max(1, int(recent[0] + self.window - now + 0.999))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)
        recent.append(now)
        self.sends.append(Send(bot_id, chat_id, now, method))

    def first_send_to(self, chats: set[str], method: str = "sendMessage") -> dict[str, float]:
        """When each of ``chats`` first got a message by ``method``."""
        first: dict[str, float] = {}
        for send in self.sends:
            if not send.refused and send.method == method and send.chat_id in chats and send.chat_id not in first:
                first[send.chat_id] = send.at
        return first

    def sent_to(self, chats: set[str]) -> int:
        """How many messages (sends and edits) ``chats`` got."""
        return sum(not send.refused and send.chat_id in chats for send in self.sends)

    def busiest_chat(self, span: float = 1.0) -> int:
        """The most messages any one chat got within ``span`` seconds (Telegram: about one a second per chat)."""
        bots = {send.bot_id for send in self.sends}
        return max((self.busiest_chat_window(bot, span) for bot in bots), default=0)


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port: int = listener.getsockname()[1]
        return port


def dukabot_argv() -> list[str]:
    installed = shutil.which("dukabot", path=str(Path(sys.executable).parent))
    return [installed] if installed else [sys.executable, "-c", "from webhooks.cli import main; main()"]


@dataclass
class Server:
    """A server process under test, listening on ``port``."""

    name: str
    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def logged_errors(self) -> int:
        """How many errors the server logged (tracebacks included): a fast path that fails is no fast path."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return sum(" ERROR " in line or line.startswith("Traceback") for line in text.splitlines())

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def start_server(
    name: str, argv: Sequence[str], *, port: int, folder: Path, env: Mapping[str, str] | None = None
) -> Server:
    """Starts ``argv`` (already pinned) and waits until ``GET /healthz`` answers 200."""
    log = folder / f"{name}.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=folder, env=dict(env) if env is not None else None, stdout=output, stderr=output
        )
    server = Server(name, process, port, log)
    deadline = time.monotonic() + READY_WAIT
    async with aiohttp.ClientSession() as http:
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail(log)}")
            try:
                async with http.get(f"{server.url}/healthz") as response:
                    if response.status == 200:
                        return server
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                await server.stop()
                raise RuntimeError(f"{name} did not start within {READY_WAIT:.0f}s:\n{tail(log)}")
            await asyncio.sleep(0.1)


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"


@dataclass
class LoadResult:
    elapsed: float
    cpu: float
    sent: list[float]
    answered: list[float]
    statuses: list[int]
    server_busy: float | None = None  # the servers' CPU time over the measured requests' wall time
    telegram_busy: float | None = None  # the fake Bot API process's CPU time over the run's wall time

    @property
    def count(self) -> int:
        return len(self.statuses)

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    @property
    def failures(self) -> int:
        return sum(not 200 <= status < 300 for status in self.statuses)

    @property
    def generator_busy(self) -> float:
        """The load generator's CPU use over the run, 0 to 1: near 1, the generator may be the bottleneck."""
        return self.cpu / self.elapsed if self.elapsed else 0.0

    @property
    def generator_bound(self) -> bool:
        """The load generator, not the server, was the limit: it used its whole core while the server had room."""
        return self.generator_busy > 0.85 and (self.server_busy is None or self.server_busy < 0.8)

    def thirds(self) -> list[float]:
        """Answers a second in each third of the measured span (first sent to last answered): how steady the
        figure was within the run."""
        if len(self.answered) < 30:
            return []
        start, end = min(self.sent), max(self.answered)
        width = (end - start) / 3
        if width <= 0:
            return []
        counts = [0, 0, 0]
        for done in self.answered:
            counts[min(2, int((done - start) / width))] += 1
        return [count / width for count in counts]

    def latency(self, quantile: float) -> float:
        spans = sorted(done - sent for sent, done in zip(self.sent, self.answered, strict=True))
        return percentile(spans, quantile)


def percentile(values: Sequence[float], quantile: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


async def generate_load(
    requests: Sequence[Request],
    *,
    folder: Path,
    cores: Cores,
    concurrency: int = 16,
    rate: float | None = None,
    warmup: Sequence[Request] = (),
    servers: Sequence[Server] = (),
) -> LoadResult:
    """Runs the load generator process over ``requests`` and reads what it measured, with how busy ``servers``
    kept their cores meanwhile (a server well below 100 % waited on something else: the disk, the database)."""
    job = folder / "load-job.json"
    result = folder / "load-result.json"
    job.write_text(json.dumps({"requests": requests, "warmup": warmup, "concurrency": concurrency, "rate": rate}))
    argv = cores.pin([sys.executable, "-m", "bench.load", str(job), str(result)], cores.load)
    samples: list[tuple[float, float]] = []  # (when, the servers' CPU seconds so far)
    sampler = asyncio.create_task(_sample_cpu(servers, samples)) if servers else None
    process = await asyncio.create_subprocess_exec(*argv, cwd=ROOT)
    try:
        if await process.wait() != 0:
            raise RuntimeError("the load generator failed")
    finally:
        if sampler is not None:
            sampler.cancel()
    data: dict[str, Any] = json.loads(result.read_text())
    busy = None
    if servers and data["sent"]:
        samples.append((time.monotonic(), sum(server.cpu_seconds() for server in servers)))
        busy = _busy_between(samples, min(data["sent"]), max(data["answered"]))
    return LoadResult(data["elapsed"], data["cpu"], data["sent"], data["answered"], data["statuses"], busy)


async def _sample_cpu(servers: Sequence[Server], samples: list[tuple[float, float]]) -> None:
    while True:
        try:
            samples.append((time.monotonic(), sum(server.cpu_seconds() for server in servers)))
        except OSError:  # a server died: the load's failures will say so
            return
        await asyncio.sleep(0.05)


def _busy_between(samples: list[tuple[float, float]], start: float, end: float) -> float | None:
    """The servers' CPU use between ``start`` and ``end`` (the measured requests, warm-up and the generator's own
    start left out), from the samples nearest inside that span."""
    inside = [sample for sample in samples if start <= sample[0] <= end]
    if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
        return None
    return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])
