"""The network between the server and its payment providers, as the contract suite sees it: every request is
recorded (method, host, path, headers) before it is sent on to the provider's simulator, so a case can say which
hosts a shop talked to; and the answer to a request can be lost after the provider took it (a read timeout)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx


@dataclass(frozen=True, slots=True)
class Seen:
    method: str
    host: str
    path: str
    headers: Mapping[str, str]
    body: bytes = b""


class Network(httpx.AsyncBaseTransport):
    """``routes`` maps a provider's real host (``api.paystack.co``) to the simulator standing in for it; a request
    for any other host fails as an unreachable one would. ``lose_answers_on``: the paths whose answer is lost once
    the simulator has handled the request (one that does something: a GET's answer always comes back)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.routes: dict[str, str] = {}
        self.seen: list[Seen] = []
        self.lose_answers_on: set[str] = set()

    def sent(self, path: str) -> int:
        """How many requests for ``path`` reached a provider to do something: a GET only reads (a provider may list
        what it holds on the path it creates them on, as JSON:API collections do), so it is not counted."""
        return sum(matches(seen.path, path) and seen.method != "GET" for seen in self.seen)

    @property
    def hosts(self) -> set[str]:
        return {seen.host for seen in self.seen}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        content = await request.aread()
        self.seen.append(Seen(request.method, host, request.url.path, dict(request.headers), content))
        target = self.routes.get(host)
        if target is None:
            raise httpx.ConnectError(f"{host} is not reachable from the contract suite", request=request)
        forwarded = httpx.Request(
            request.method,
            httpx.URL(target).join(request.url.raw_path.decode()),
            headers=[(k, v) for k, v in request.headers.items() if k.lower() != "host"],
            content=content,
        )
        response = await self.inner.handle_async_request(forwarded)
        lost = any(matches(request.url.path, path) for path in self.lose_answers_on)
        if lost and request.method != "GET":  # a read is not taken, only seen
            await response.aread()
            raise httpx.ReadTimeout("the provider took the request; its answer was lost", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def matches(path: str, wanted: str) -> bool:
    """``wanted`` is a path, or ``*`` and how a path ends (a Bot API method: the bot's token is in the path)."""
    return path.endswith(wanted[1:]) if wanted.startswith("*") else path == wanted
