"""The FeexPay simulator as a real aiohttp application, for this machine only."""

from __future__ import annotations

from aiohttp import web

from sandbox.feexpay.simulator import FeexPaySimulator


def build_app(sim: FeexPaySimulator) -> web.Application:
    app = web.Application()

    async def handle(request: web.Request) -> web.StreamResponse:
        headers = {name.lower(): value for name, value in request.headers.items()}
        answer = sim.handle(request.method, request.path, headers, await request.read())
        return web.Response(status=answer.status, body=answer.body, headers={"Content-Type": answer.content_type})

    async def stop(_: web.Application) -> None:
        await sim.close()

    app.router.add_route("*", "/{tail:.*}", handle)
    app.on_cleanup.append(stop)
    return app
