"""What the simulators of hosted-link providers share: an HTTP answer, the hosted checkout page a link opens (pay,
be declined, abandon) and what its buttons do, the webhooks they post to this machine, and how a simulator is
reached in process (an ``httpx.MockTransport``) or as a real aiohttp application.

A simulator answers ``handle(method, path, query, headers, body, origin)`` with an :class:`Answer`; its own page
words and outcomes are passed in."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Protocol

import httpx
from aiohttp import web


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


class Handles(Protocol):
    async def handle(
        self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes, origin: str
    ) -> Answer: ...

    async def close(self) -> None: ...


# --- the hosted checkout page -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PayButton:
    id: str
    action: str  # the path after the page's own: ``pay``, ``pay?channel=card``
    label: str


def checkout_page(
    *,
    title: str,
    path: str,
    amount: str,
    reference: str,
    pay: Sequence[PayButton],
    cancel: str,
    test: bool,
) -> str:
    """The page at ``path``: the amount (``KES 420``) and our reference, the pay buttons, then a decline
    (``path/fail``) and ``cancel`` (``path/abandon``)."""
    base = escape(path)
    buttons = "".join(
        f'<button id="{escape(b.id)}" formaction="{base}/{escape(b.action)}">{escape(b.label)}</button>' for b in pay
    )
    banner = '<p id="test-mode">TEST MODE: no real money moves</p>' if test else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title></head>
<body>{banner}
<h1>Pay {escape(amount)}</h1>
<p id="reference">{escape(reference)}</p>
<form method="post" action="{base}/pay">{buttons}
<button id="fail" formaction="{base}/fail">Decline (card refused)</button>
<button id="abandon" formaction="{base}/abandon">{escape(cancel)}</button>
</form></body></html>"""


def unknown_page(noun: str) -> Answer:
    """A link that names no payment (``noun``: "payment page")."""
    return Answer(404, f"<h1>This {noun} is not valid</h1>".encode(), "text/html")


def page_answer(
    method: str,
    action: str,
    *,
    noun: str,
    page: Callable[[], str],
    outcomes: Mapping[str, str],
    used: Callable[[str], bool],
    settle: Callable[[str], str],
) -> Answer:
    """What the customer's browser is answered at a hosted page: the page itself, or, for a button's POST (its
    ``action``), ``settle`` with its outcome and a redirect to where that sends the browser back; 409 for a page
    ``used`` already for that action (``noun``: "payment page"), 405 for anything else."""
    if method == "GET" and not action:
        return Answer(200, page().encode(), "text/html")
    if method != "POST" or action not in outcomes:
        return Answer(405, b"", "text/plain")
    if used(action):
        return Answer(409, f"<h1>This {noun} has been used</h1>".encode(), "text/html")
    location = settle(outcomes[action])
    return Answer(302, b"", "text/plain", {"Location": location})


# --- webhooks -----------------------------------------------------------------------------------------------------


class Deliveries:
    """Webhooks posted in the background, to this machine only; a lost one is the shop's reconciler's to cover."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> None:
        task = asyncio.get_running_loop().create_task(_post(url, body, headers))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def _post(url: str, body: bytes, headers: Mapping[str, str]) -> None:
    if httpx.URL(url).host not in ("127.0.0.1", "localhost"):
        return  # a simulator posts to this machine only
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        with contextlib.suppress(httpx.HTTPError):
            await http.post(url, content=body, headers=dict(headers))


# --- reaching a simulator -----------------------------------------------------------------------------------------


def mock_transport(sim: Handles) -> httpx.MockTransport:
    async def handler(request: httpx.Request) -> httpx.Response:
        answer = await sim.handle(
            request.method,
            request.url.path,
            dict(request.url.params),
            {k.lower(): v for k, v in request.headers.items()},
            await request.aread(),
            f"{request.url.scheme}://{request.url.netloc.decode()}",
        )
        headers = {"Content-Type": answer.content_type, **answer.headers}
        return httpx.Response(answer.status, content=answer.body, headers=headers)

    return httpx.MockTransport(handler)


def build_app(sim: Handles) -> web.Application:
    """The simulator as a real aiohttp application (API and hosted pages), for this machine only."""
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
