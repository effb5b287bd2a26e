"""Everything the page shows, as one ordered list of events: a browser that connects (or reconnects) is sent the list
from where it stands, then each new event as it comes. Server-sent events, so the browser never asks twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.telegram.account import Signal

HEARTBEAT_SECONDS = 15.0  # a comment line now and then, so a closed tab is noticed and its handler ends


class Hub:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.generation = 0  # bumped by a reset: browsers of the old shop reload the page
        self.closing = False
        self._changed = Signal()

    def publish(self, kind: str, **data: Any) -> None:
        self.events.append({"type": kind, **data})
        self._changed.notify()

    def reset(self) -> None:
        self.events = []
        self.generation += 1
        self._changed.notify()

    def close(self) -> None:
        self.closing = True
        self._changed.notify()

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """``GET events``: the events after ``Last-Event-ID`` (a browser reconnecting) or all, then each new one."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):  # the tab was closed: nobody to write to
            await self._send(response, request.headers.get("Last-Event-ID"))
        return response

    async def _send(self, response: web.StreamResponse, last_event_id: str | None) -> None:
        generation = self.generation
        sent = _resume_from(last_event_id, generation)
        while not self.closing:
            if self.generation != generation:
                await response.write(b"event: reset\ndata: {}\n\n")
                break
            for number in range(sent, len(self.events)):
                data = json.dumps(self.events[number], ensure_ascii=False)
                await response.write(f"id: {generation}.{number + 1}\ndata: {data}\n\n".encode())
            sent = len(self.events)
            try:
                async with asyncio.timeout(HEARTBEAT_SECONDS):
                    await self._changed.wait_until(self._news_after(sent, generation))
            except TimeoutError:
                await response.write(b": still here\n\n")

    def _news_after(self, sent: int, generation: int) -> Callable[[], bool | None]:
        def check() -> bool | None:
            moved = self.closing or self.generation != generation or len(self.events) > sent
            return True if moved else None

        return check


def _resume_from(last_event_id: str | None, generation: int) -> int:
    """How many events a reconnecting browser already has (none when it saw another shop)."""
    seen_generation, _, count = (last_event_id or "").partition(".")
    if seen_generation != str(generation) or not count.isdecimal():
        return 0
    return int(count)
