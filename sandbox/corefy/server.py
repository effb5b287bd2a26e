"""The Corefy simulator as a real aiohttp application (API and hosted payment pages), for this machine only."""

from __future__ import annotations

from aiohttp import web

from sandbox.corefy.simulator import CorefySimulator


def build_app(sim: CorefySimulator) -> web.Application:
    app = web.Application()

    async def handle(request: web.Request) -> web.StreamResponse:
        answer = await sim.handle(
            request.method,
            request.path,
            dict(request.query),
            {name.lower(): value for name, value in request.headers.items()},
            await request.read(),
            f"{request.scheme}://{request.host}",
        )
        headers = {"Content-Type": answer.content_type, **answer.headers}
        return web.Response(status=answer.status, body=answer.body, headers=headers)

    async def stop(_: web.Application) -> None:
        await sim.close()

    app.router.add_route("*", "/{tail:.*}", handle)
    app.on_cleanup.append(stop)
    return app
