"""Provider simulators for tests, found by the provider's name through the sandbox registry (sandbox/registry.py),
exactly as the playground finds them: a test that needs "a Paystack" asks for ``served("paystack")``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from sandbox.registry import simulator


@asynccontextmanager
async def served(provider: str, **options: Any) -> AsyncIterator[tuple[Any, str]]:
    """A fresh simulator of ``provider`` (``options`` are its constructor's) as a real server on 127.0.0.1 for the
    length of a block: ``(simulator, base_url)``. It is closed when the block ends."""
    entry = simulator(provider)
    sim = entry.create(**options)
    async with entry.serve(sim) as url:
        yield sim, url


@asynccontextmanager
async def in_process(provider: str, **options: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """A fresh simulator of ``provider`` reached in process: ``(simulator, client)``, the client's requests
    answered by the simulator whatever their host."""
    entry = simulator(provider)
    sim = entry.create(**options)
    try:
        async with httpx.AsyncClient(transport=entry.transport(sim)) as http:
            yield sim, http
    finally:
        await entry.close(sim)
