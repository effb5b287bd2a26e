"""The payment providers' routes, mounted from the registry: this module knows no provider by name.

Each provider declares its routes in its folder (:mod:`payments.inbound`); here every declared route becomes an
aiohttp route whose handler reads the body bounded by the route's limit (413 beyond it, before the provider sees a
byte), hands the provider's handler a framework-free request, wakes the outbox relay when the answer says something
changed, counts the answer's outcome under the provider's name, and writes the answer back as HTTP. The checks every
request passes first (no Content-Encoding, path parameters that are names) are :mod:`webhooks.edge`'s.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from payments.base import ProviderEntry
from payments.inbound import InboundContext, InboundRequest, InboundResponse, InboundRoute
from payments.providers import ENTRIES
from webhooks.keys import RUNTIME

_CHUNK = 16 * 1024


def mount(app: web.Application, entries: Mapping[str, ProviderEntry] = ENTRIES) -> None:
    """Add every registered provider's declared routes to the application, named ``<provider>.<route>``."""
    for provider, entry in entries.items():
        for route in entry.routes() if entry.routes is not None else ():
            handler = _handler(provider, route)
            name = f"{provider}.{route.name}"
            if route.method == "GET":
                app.router.add_get(route.path, handler, name=name)  # HEAD too, as for any page
            else:
                app.router.add_route(route.method, route.path, handler, name=name)


async def read_bounded(request: web.Request, limit: int) -> bytes | None:
    """The body, or None when it is longer than ``limit`` (told by Content-Length, or found while reading)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = bytearray()
    async for chunk in request.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _handler(provider: str, route: InboundRoute) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        runtime = request.app[RUNTIME]
        started = time.perf_counter()
        body = await read_bounded(request, route.max_body_bytes)
        if body is None:
            runtime.metrics.callbacks.labels(provider, "too_large").inc()
            return web.Response(status=413, text="body too large")
        inbound = InboundRequest(
            body=body,
            headers={name.lower(): value for name, value in request.headers.items()},
            path_params=dict(request.match_info),
            query=dict(request.query),
            remote_ip=request.remote,
        )
        record = runtime.ingest.record if runtime.ingest is not None else None
        context = InboundContext(
            runtime.database, runtime.registry, runtime.clock, runtime.vault, runtime.jobs.wake, record, runtime.ingest
        )
        answer = await route.handler(context, inbound)
        if answer.changed:
            runtime.relay.wake()
        if answer.outcome is not None:
            runtime.metrics.callbacks.labels(provider, answer.outcome).inc()
            runtime.metrics.callback_seconds.labels(provider).observe(time.perf_counter() - started)
        return _http(answer)

    return handle


def _http(answer: InboundResponse) -> web.Response:
    headers = dict(answer.headers)
    if answer.json is not None:
        return web.json_response(answer.json, status=answer.status, headers=headers)
    if answer.text is not None:
        return web.Response(status=answer.status, text=answer.text, headers=headers)
    if answer.html is not None:
        return web.Response(status=answer.status, text=answer.html, content_type="text/html", headers=headers)
    return web.Response(status=answer.status, headers=headers)
