"""The Stripe simulator as a real aiohttp application (API and Checkout pages), served on this machine only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from sandbox.stripe.simulator import StripeSimulator


def build_app(sim: StripeSimulator) -> web.Application:
    from sandbox.stripe.simulator import SimRequest

    app = web.Application()

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
        return web.Response(status=answer.status, body=answer.body, headers=dict(answer.headers))

    async def stop(_: web.Application) -> None:
        await sim.close()

    app.router.add_route("*", "/{tail:.*}", handle)
    app.on_cleanup.append(stop)
    return app
