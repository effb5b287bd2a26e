"""The Paystack simulator as a real aiohttp application, served on this machine only.

``build_app(sim)`` makes the application (API routes and checkout pages); ``serve(sim)`` runs it on 127.0.0.1
and yields its base URL, to pass as ``PaystackClient(base_url=...)``."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from aiohttp import web

from sandbox.paystack.state import SimRequest, response_headers

if TYPE_CHECKING:
    from sandbox.paystack.simulator import PaystackSimulator

SIMULATOR_KEY: web.AppKey[PaystackSimulator] = web.AppKey("paystack_simulator")


def build_app(sim: PaystackSimulator) -> web.Application:
    """An aiohttp application that answers every path with ``sim`` (Paystack API and ``/checkout/…`` pages)."""
    app = web.Application()
    app[SIMULATOR_KEY] = sim

    async def handle(request: web.Request) -> web.StreamResponse:
        answer = await sim.handle(
            SimRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers={name.lower(): value for name, value in request.headers.items()},
                body=await request.read(),
                origin=f"{request.scheme}://{request.host}",
            )
        )
        return web.Response(status=answer.status, body=answer.body, headers=response_headers(answer))

    async def stop(_: web.Application) -> None:
        await sim.close()

    app.router.add_route("*", "/{tail:.*}", handle)
    app.on_cleanup.append(stop)
    return app


@asynccontextmanager
async def serve(sim: PaystackSimulator, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Run the simulator on ``host:port`` (0 picks a free port) and yield ``http://host:port``."""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise ValueError("the Paystack simulator listens on this machine only")
    runner = web.AppRunner(build_app(sim))
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        bound_port = runner.addresses[0][1]
        yield f"http://{host}:{bound_port}"
    finally:
        await runner.cleanup()
