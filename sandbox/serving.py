"""Serving a simulator's aiohttp application on this machine for the length of a block (the playground's demo
simulators, and every provider's through :meth:`sandbox.contract.ProviderSimulator.serve`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web


@asynccontextmanager
async def serving(
    app: web.Application, *, host: str = "127.0.0.1", port: int = 0, path: str = ""
) -> AsyncIterator[str]:
    """Run ``app`` on ``host:port`` (0: a free port), yielding its base URL (``http://host:port`` and ``path``); the
    application is cleaned up (its simulator closed) when the block ends."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        yield f"http://{host}:{runner.addresses[0][1]}{path}"
    finally:
        await runner.cleanup()
