"""The load generator: a process of its own (``python -m bench.load JOB RESULT``), pinned to another core than the
server under test, so that making requests never takes CPU from the server being measured.

A job (JSON) lists the requests to make, each ``[url, body, headers]``, and how: ``concurrency`` requests in flight
at once (a closed loop: each worker sends its next request when the previous one is answered), or, with ``rate``,
one request every ``1 / rate`` seconds whatever the answers (an open loop, for latency at a given load). The
``warmup`` requests run first, the same way, and are not measured.

Requests go out on keep-alive connections through a small HTTP/1.1 client of its own (each request's bytes made
before the clock starts, answers read by their Content-Length): a general-purpose client (aiohttp's) spends more
CPU per request than a bare aiohttp server does, so with it the bench measured the generator, not the server.

The result (JSON) has, per measured request, when it was sent and answered (``time.monotonic()``, which on Linux is
one clock for every process of the machine, so the fake Bot API's times compare with these) and its status, plus
the generator's own CPU time: a generator near 100 % of its core is the bottleneck, not the server.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

Request = tuple[str, str, dict[str, str]]
Address = tuple[str, int]
Prepared = tuple[Address, bytes]

FAILED = 0  # the status of a request that got no answer (connection refused or lost, timed out)


@dataclass
class Outcome:
    sent: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    @classmethod
    def sized(cls, count: int) -> Outcome:
        return cls([0.0] * count, [0.0] * count, [FAILED] * count)


def prepare(request: Request) -> Prepared:
    url, body, headers = request
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    payload = body.encode()
    lines = [f"POST {target} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(payload)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return (host, port), ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time on it: the answer's status once its body has come."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(FAILED)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        start = head.find(b"content-length:")
        if start >= 0:
            line_end = head.find(b"\r\n", start)
            total = end + 4 + int(head[start + 15 : line_end if line_end >= 0 else len(head)])
        else:  # chunked: the body ends with its empty last chunk
            last = self.buffer.find(b"0\r\n\r\n", end + 4)
            if last < 0:
                return
            total = last + 5
        if len(self.buffer) < total:
            return
        status = int(head[9:12])
        del self.buffer[:total]
        if b"connection: close" in head and self.transport is not None:
            self.transport.close()
        self.waiter.set_result(status)

    async def send(self, payload: bytes, timeout: float) -> int:  # noqa: ASYNC109
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self.waiter = loop.create_future()
        self.transport.write(payload)
        # A timer rather than asyncio.wait_for: it costs less per request, and closing the connection answers FAILED.
        expiry = loop.call_later(timeout, self.transport.close)
        try:
            return await self.waiter
        finally:
            expiry.cancel()


class Client:
    """A worker's connections, one per server it talks to, opened again when a server closed one."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.connections: dict[Address, Connection] = {}

    async def send(self, address: Address, payload: bytes) -> int:
        connection = self.connections.get(address)
        if connection is None or connection.closed:
            try:
                _, connection = await asyncio.get_running_loop().create_connection(Connection, *address)
            except OSError:
                return FAILED
            self.connections[address] = connection
        return await connection.send(payload, self.timeout)

    def close(self) -> None:
        for connection in self.connections.values():
            if connection.transport is not None:
                connection.transport.close()


async def _one(client: Client, request: Prepared, outcome: Outcome, index: int) -> None:
    outcome.sent[index] = time.monotonic()
    outcome.statuses[index] = await client.send(*request)
    outcome.answered[index] = time.monotonic()


async def _closed_loop(requests: list[Prepared], concurrency: int, seconds: float) -> Outcome:
    outcome = Outcome.sized(len(requests))
    cursor = iter(range(len(requests)))

    async def worker() -> None:
        client = Client(seconds)
        try:
            for index in cursor:
                await _one(client, requests[index], outcome, index)
        finally:
            client.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return outcome


async def _open_loop(requests: list[Prepared], rate: float, seconds: float) -> Outcome:
    """A request every ``1 / rate`` seconds, each on an idle connection of a pool (a new one when all are busy)."""
    outcome = Outcome.sized(len(requests))
    idle: dict[Address, list[Client]] = defaultdict(list)
    started = time.monotonic()
    tasks = []

    async def one(index: int) -> None:
        address = requests[index][0]
        client = idle[address].pop() if idle[address] else Client(seconds)
        await _one(client, requests[index], outcome, index)
        idle[address].append(client)

    for index in range(len(requests)):
        delay = started + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)
    for clients in idle.values():
        for client in clients:
            client.close()
    return outcome


async def _run_phase(requests: list[Prepared], job: dict[str, Any]) -> Outcome:
    timeout = float(job.get("timeout", 120))
    if job.get("rate"):
        return await _open_loop(requests, float(job["rate"]), timeout)
    return await _closed_loop(requests, int(job.get("concurrency", 16)), timeout)


async def run(job: dict[str, Any]) -> dict[str, Any]:
    requests = [prepare((url, body, headers)) for url, body, headers in job["requests"]]
    warmup = [prepare((url, body, headers)) for url, body, headers in job.get("warmup", [])]
    if warmup:
        await _run_phase(warmup, job)
    cpu_before = time.process_time()
    began = time.monotonic()
    outcome = await _run_phase(requests, job)
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
