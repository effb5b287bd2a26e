"""The load generator: a process of its own (``python -m bench.load JOB RESULT``), pinned to another core than the
server under test, so that making requests never takes CPU from the server being measured.

A job (JSON) lists the requests to make, each ``[url, body, headers]``, and how: ``concurrency`` requests in flight
at once (a closed loop: each worker sends its next request when the previous one is answered), or, with ``rate``,
one request every ``1 / rate`` seconds whatever the answers (an open loop, for latency at a given load). The
``warmup`` requests run first, the same way, and are not measured.

The result (JSON) has, per measured request, when it was sent and answered (``time.monotonic()``, which on Linux is
one clock for every process of the machine, so the fake Bot API's times compare with these) and its status, plus
the generator's own CPU time: a generator near 100 % of its core is the bottleneck, not the server.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

Request = tuple[str, str, dict[str, str]]


@dataclass
class Outcome:
    sent: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


async def _one(session: aiohttp.ClientSession, request: Request, outcome: Outcome, index: int) -> None:
    url, body, headers = request
    outcome.sent[index] = time.monotonic()
    try:
        async with session.post(url, data=body.encode(), headers=headers) as response:
            await response.read()
            outcome.statuses[index] = response.status
    except (aiohttp.ClientError, TimeoutError):
        outcome.statuses[index] = 0
    outcome.answered[index] = time.monotonic()


async def _closed_loop(session: aiohttp.ClientSession, requests: list[Request], concurrency: int) -> Outcome:
    outcome = Outcome([0.0] * len(requests), [0.0] * len(requests), [0] * len(requests))
    cursor = iter(range(len(requests)))

    async def worker() -> None:
        for index in cursor:
            await _one(session, requests[index], outcome, index)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return outcome


async def _open_loop(session: aiohttp.ClientSession, requests: list[Request], rate: float) -> Outcome:
    outcome = Outcome([0.0] * len(requests), [0.0] * len(requests), [0] * len(requests))
    started = time.monotonic()
    tasks = []
    for index, request in enumerate(requests):
        delay = started + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_one(session, request, outcome, index)))
    await asyncio.gather(*tasks)
    return outcome


async def run(job: dict[str, Any]) -> dict[str, Any]:
    concurrency = int(job.get("concurrency", 16))
    rate = job.get("rate")
    timeout = aiohttp.ClientTimeout(total=float(job.get("timeout", 120)))
    connector = aiohttp.TCPConnector(limit=max(concurrency, 64) if rate else concurrency, force_close=False)
    requests = [(url, body, headers) for url, body, headers in job["requests"]]
    warmup = [(url, body, headers) for url, body, headers in job.get("warmup", [])]
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        if warmup:
            await (_open_loop(session, warmup, rate) if rate else _closed_loop(session, warmup, concurrency))
        cpu_before = time.process_time()
        began = time.monotonic()
        outcome = await (_open_loop(session, requests, rate) if rate else _closed_loop(session, requests, concurrency))
        elapsed = time.monotonic() - began
        cpu = time.process_time() - cpu_before
    return {
        "elapsed": elapsed,
        "cpu": cpu,
        "sent": outcome.sent,
        "answered": outcome.answered,
        "statuses": outcome.statuses,
    }


def main() -> None:
    job_file, result_file = Path(sys.argv[1]), Path(sys.argv[2])
    result = asyncio.run(run(json.loads(job_file.read_text())))
    result_file.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
