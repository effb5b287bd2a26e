"""The fake Bot API in a process of its own (``python -m bench.telegram PORT``), and the bench's handle on it.

In the bench's own process the fake shared a core and an event loop with the bench (and the load generator's
parent), and a baseline bot that waits on its Bot API calls was measured partly on the fake's speed. In its own
process (pinned beside the load generator on two cores, on a core of its own from three) it gets its own share of
the CPU, and the bench reads its CPU time: a fake near 100 % of a core would be the limit, and the bench says so.

The process serves Telegram's URLs (``sandbox.telegram.create_app``) with Telegram's per-bot limit enforced and
every send recorded (``bench.harness.Recorder``), plus a few ``/bench/...`` routes through which the bench sets it
up and reads it: bots and the chats they may write to, users' commands and button presses (returned as webhook
updates for the load generator to post; the fake itself delivers nothing), and what the bots sent.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.harness import Cores, Recorder, Server, start_server
from sandbox.telegram import FAKE_KEY, FakeTelegram, create_app

PRESS_FOR_ECHO = "bench"  # a message without buttons (the echo bot's) is pressed with this data
FakeUpdate = dict[str, Any]


def _fake(request: web.Request) -> FakeTelegram:
    return request.app[FAKE_KEY]


def _recorder(request: web.Request) -> Recorder:
    flood = _fake(request).flood
    assert isinstance(flood, Recorder)
    return flood


async def _bots(request: web.Request) -> web.Response:
    fake = _fake(request)
    body = await request.json()
    for token, username, first_name in body.get("bots", []):
        fake.add_bot(token, username, first_name)
    for token, chat_id in body.get("meet", []):
        user = fake.user(token, chat_id)
        user.account.meet(user.chat)
    return web.json_response({"ok": True})


def _forget_queued(fake: FakeTelegram, tokens: set[str]) -> None:
    """The updates are posted by the load generator, not delivered by the fake: drop them from its queues."""
    for token in tokens:
        fake.bot(token).pending.clear()


async def _commands(request: web.Request) -> web.Response:
    fake = _fake(request)
    items = (await request.json())["items"]
    updates = [await fake.user(token, user_id).send_command(command) for token, user_id, command in items]
    _forget_queued(fake, {token for token, _, _ in items})
    return web.json_response({"updates": updates})


async def _presses(request: web.Request) -> web.Response:
    """Each user presses the first button of the bot's newest message (a message without one, as the echo bot's
    answer, is pressed with made-up data); null for a user the bot never answered."""
    fake = _fake(request)
    items = (await request.json())["items"]
    updates: list[FakeUpdate | None] = []
    for token, user_id in items:
        user = fake.user(token, user_id)
        pressed = None
        for message in reversed(user.messages):
            button = next((b for b in message.inline_buttons if b.action == "callback_data" and b.callback_data), None)
            if button is not None and button.callback_data:
                pressed = (await user.press(message=message, callback_data=button.callback_data)).update
                break
        if pressed is None and user.messages:
            pressed = (await user.press(message=user.messages[-1], callback_data=PRESS_FOR_ECHO)).update
        updates.append(pressed)
    _forget_queued(fake, {token for token, _ in items})
    return web.json_response({"updates": updates})


async def _first_sends(request: web.Request) -> web.Response:
    chats = set((await request.json())["chats"])
    return web.json_response({"first": _recorder(request).first_send_to(chats)})


async def _answered(request: web.Request) -> web.Response:
    """How many of the chats got any message."""
    chats = set((await request.json())["chats"])
    recorder = _recorder(request)
    return web.json_response({"answered": len({s.chat_id for s in recorder.sends if not s.refused} & chats)})


async def _stats(request: web.Request) -> web.Response:
    recorder = _recorder(request)
    body = await request.json() if request.can_read_body else {}
    chats = set(body.get("chats", []))
    refused = recorder.refused()
    return web.json_response(
        {
            "calls": len(_fake(request).requests),
            "sends": len(recorder.sends) - refused,
            "refused": refused,
            "busiest_chat": recorder.busiest_chat(1.0),
            "sent_to": recorder.sent_to(chats),
        }
    )


async def _healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def app() -> web.Application:
    fake = FakeTelegram()
    fake.flood = Recorder()
    served = create_app(fake)
    served.router.add_get("/healthz", _healthz)
    for name, handler in {
        "bots": _bots,
        "commands": _commands,
        "presses": _presses,
        "first-sends": _first_sends,
        "answered": _answered,
        "stats": _stats,
    }.items():
        served.router.add_post(f"/bench/{name}", handler)
    return served


def main() -> None:
    web.run_app(app(), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


class TelegramProcess:
    """The bench's handle on the fake Bot API process: ``base_url`` for the servers, and its control routes."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.base_url = server.url
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600))

    @classmethod
    async def start(cls, name: str, folder: Path, cores: Cores, env: dict[str, str]) -> TelegramProcess:
        from bench.harness import free_port

        port = free_port()
        argv = cores.pin([sys.executable, "-m", "bench.telegram", str(port)], cores.telegram)
        return cls(await start_server(name, argv, port=port, folder=folder, env=env))

    async def stop(self) -> None:
        await self.http.close()
        await self.server.stop()

    async def _post(self, route: str, body: dict[str, Any]) -> Any:
        async with self.http.post(f"{self.base_url}/bench/{route}", json=body) as response:
            response.raise_for_status()
            return await response.json()

    async def add_bots(self, bots: Sequence[tuple[str, str, str]], meet: Sequence[tuple[str, int]] = ()) -> None:
        for start in range(0, max(len(bots), len(meet)), 5000):
            await self._post(
                "bots", {"bots": list(bots[start : start + 5000]), "meet": list(meet[start : start + 5000])}
            )

    async def commands(self, items: Sequence[tuple[str, int, str]]) -> list[FakeUpdate]:
        updates: list[FakeUpdate] = []
        for start in range(0, len(items), 2000):
            updates += (await self._post("commands", {"items": list(items[start : start + 2000])}))["updates"]
        return updates

    async def presses(self, items: Sequence[tuple[str, int]]) -> list[FakeUpdate | None]:
        updates: list[FakeUpdate | None] = []
        for start in range(0, len(items), 2000):
            updates += (await self._post("presses", {"items": list(items[start : start + 2000])}))["updates"]
        return updates

    async def first_sends(self, chats: set[str]) -> dict[str, float]:
        first: dict[str, float] = (await self._post("first-sends", {"chats": sorted(chats)}))["first"]
        return first

    async def answered(self, chats: set[str]) -> int:
        count: int = (await self._post("answered", {"chats": sorted(chats)}))["answered"]
        return count

    async def stats(self, chats: set[str] = frozenset()) -> dict[str, int]:  # type: ignore[assignment]
        figures: dict[str, int] = await self._post("stats", {"chats": sorted(chats)})
        return figures


if __name__ == "__main__":
    main()
